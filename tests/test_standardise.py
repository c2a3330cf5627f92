import numpy as np
import pytest

from lulcbook.standardise import Standardiser


class _Half(Standardiser):
    dtype = np.float32


def test_statistics_are_stored_as_the_subclass_dtype_and_round_trip() -> None:
    s = _Half([1.0, 2.0], [0.5, 4.0])
    mean, std = s.fitted()
    assert mean.dtype == np.float32 and std.tolist() == [0.5, 4.0]
    restored = _Half.from_dict(s.to_dict())
    assert isinstance(restored, _Half)
    np.testing.assert_array_equal(restored.fitted()[0], mean)
    assert Standardiser([1], [2]).fitted()[0].dtype == np.float64


def test_unfitted_statistics_name_the_scaler() -> None:
    assert _Half().to_dict() == {"mean": None, "std": None}
    with pytest.raises(RuntimeError, match="_Half is not fitted"):
        _Half.from_dict({"mean": None, "std": None}).fitted()
