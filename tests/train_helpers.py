"""Two-class toy patches and their graphs, shared by the training and fold-experiment tests."""

from __future__ import annotations

import numpy as np
import torch
from torch_geometric.data import Data

from lulcbook import graphs


def toy_image(label: int, seed: int, size: int = 32) -> np.ndarray:
    """Two-class toy patches: the labelled half is bright in band ``label``."""
    rng = np.random.default_rng(seed)
    img = rng.uniform(0.05, 0.15, (4, 1, 1)) * np.ones((4, size, size))
    img[label, :, size // 2 :] += 0.4
    return (img + rng.normal(0, 0.01, img.shape)).astype(np.float32)


def toy_graphs(n: int = 8, seed: int = 0) -> list[Data]:
    """``n`` graphs of alternating class with a climate vector each (the first one missing)."""
    gs = []
    for i in range(n):
        g = graphs.patch_graph(toy_image(i % 2, seed + i), (16, 20), segment_size=32)
        g.y = torch.tensor([i % 2])
        clim = np.full((1, 19), float(i))
        if i == 0:
            clim[:] = np.nan
        g.cond = torch.as_tensor(clim, dtype=torch.float32)
        gs.append(g)
    return gs
