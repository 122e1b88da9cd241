# Thin wrapper: dev.py does the work and needs nothing but python3.
.PHONY: demo test bench
demo:
	python3 dev.py demo
test:
	python3 dev.py test
bench:
	python3 dev.py bench
