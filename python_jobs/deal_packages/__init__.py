"""Deal packages: programmatic deals grouped into packages a buyer can take whole.

Deals become texts (`text.py`), texts become embeddings (`python_jobs.embeddings`), embeddings become clusters
(`clustering.py`: GMM with BIC or k-means, big clusters split, small ones dropped), and each cluster becomes
packages through one LLM call (`proposals.py` for the prompt, the output contract and its validation;
`offline.py` for the deterministic stand-in). `job.py` runs it all and writes `ml` (`tables.py`) in one
transaction.
"""
