from python_jobs.cli import run

run()
