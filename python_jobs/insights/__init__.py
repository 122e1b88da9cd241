"""Segment insights: for every segment of the latest clustering run, an actionability verdict on four dimensions
(WHAT, WHEN, HOW, WHO) and an explanation with campaign recommendations, through the LLM layer (`python_jobs.llm`)
or its offline rules. `job.py` runs it (`segments run explain-segments`, a step of `segments build`); `inputs.py`
reads the aggregates the model sees; `prompts.py` the prompt, answer schema and verdict rule; `offline.py` the
rules used without an API key; `tables.py` the `ml` tables.
"""
