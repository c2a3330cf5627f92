"""Models: superpixel GNNs, pixel baselines, climate-conditional normalization and more.

One module per model family: :mod:`.gnn`, :mod:`.pixel`, :mod:`.condnorm`, ...
"""
