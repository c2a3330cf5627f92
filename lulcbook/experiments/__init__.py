"""Experiment runners of the notebooks (one module per notebook).

The reusable library (``lulcbook.*``) never imports from here; these modules compose it
into the experiments a notebook reports.
"""
