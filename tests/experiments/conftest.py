"""Fixtures shared by the tests of the map study (07-maps): tiny map models on real LUCAS rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from lulcbook import climate_field
from lulcbook.experiments import map_climate as MC
from lulcbook.experiments import maps as X
from lulcbook.sources import elc10

SP = {"copies": 1, "hidden": 16, "dropout": 0.1, "epochs": 1, "seed": 0, "segment_size": 0,
      "compactness": 0.05, "segmentation": "grid", "iterations": 3}  # fmt: skip


@pytest.fixture
def spectral_params() -> dict:
    """The ``spectral`` parameters of the tiny map models (a copy)."""
    return dict(SP)


@pytest.fixture(scope="module")
def trained(sample_dir: Path) -> tuple[dict, dict]:
    """The map models of every band set (and the nine-band climate model), one epoch on 400 rows."""
    torch.set_num_threads(1)
    lucas = elc10.read_elc10(sample_dir / elc10.SAMPLE_SUBDIR, s1=False, nrows=400)
    field = climate_field.ClimateField.read(sample_dir / climate_field.WORLDCLIM_SUBDIR)
    climate = MC.points_climate(field.bio, lucas["lon"], lucas["lat"])
    return X.train_map_models(lucas, SP, climate, field)


@pytest.fixture(scope="module")
def lucas(sample_dir: Path) -> pd.DataFrame:
    """1,200 real LUCAS rows drawn across Europe."""
    table = elc10.read_elc10(sample_dir / elc10.SAMPLE_SUBDIR, s1=False)
    return table.sample(1200, random_state=1).reset_index(drop=True)


@pytest.fixture(scope="module")
def climate(sample_dir: Path, lucas: pd.DataFrame) -> np.ndarray:
    """Real WorldClim 2.1 BIO1-19 at those points."""
    return MC.points_climate(MC.read_climate(sample_dir), lucas["lon"], lucas["lat"])
