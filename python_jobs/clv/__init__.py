"""Customer lifetime value: BG/NBD for how many purchases a customer will make, Gamma-Gamma for what each one
is worth, both fitted by maximum likelihood on the warehouse's RFM columns (day grain, BG/NBD convention).

- `models`: the two models' log-likelihoods, their fits and the per-customer predictions (pure numerics).
"""
