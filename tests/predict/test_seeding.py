"""Tests for lulcbook.predict.seeding: per-tile seeds and seeded generators."""

from __future__ import annotations

import torch

from lulcbook import predict


def test_tile_seed_depends_on_seed_and_position_only() -> None:
    tiles = predict.tile_windows(200, 100, 64, 8)
    seeds = [predict.tile_seed(0, t) for t in tiles]
    assert len(set(seeds)) == len(seeds)
    assert seeds == [predict.tile_seed(0, t) for t in predict.tile_windows(200, 100, 64, 8)]
    assert predict.tile_seed(1, tiles[0]) != seeds[0]
    state = torch.random.get_rng_state()
    with predict.seeded(5):
        a = torch.rand(3)
    with predict.seeded(5):
        b = torch.rand(3)
    assert torch.equal(a, b) and torch.equal(torch.random.get_rng_state(), state)
