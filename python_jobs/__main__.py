"""`python -m python_jobs`: the `segments` command line."""

from python_jobs.cli import run

run()
