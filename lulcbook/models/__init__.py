"""Models: superpixel GNNs (:mod:`.gnn`), pixel baselines (:mod:`.pixel`) and
climate-conditional normalization (:mod:`.condnorm`)."""
