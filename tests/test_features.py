import numpy as np
import pandas as pd
import pytest

from lulcbook import features
from lulcbook.sources import elc10


def test_index_columns_are_normalised_differences_of_the_band_medians() -> None:
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {c: rng.uniform(100, 3000, 5) * 1e4 for c in elc10.S2_FEATURES}, columns=elc10.S2_FEATURES
    )
    out = features.point_features(df, "s2+idx")
    assert list(out.columns) == features.feature_names("s2+idx")
    assert features.index_columns()[:3] == ["ndwi", "mndwi", "ndbi"]
    g, n, r = (df[c].to_numpy(np.float64) for c in ("green_median", "nir_median", "red_median"))
    np.testing.assert_allclose(out["ndwi"], (g - n) / (g + n), rtol=1e-6)
    np.testing.assert_allclose(out["ndvi_median"], (n - r) / (n + r), rtol=1e-6)
    with pytest.raises(ValueError, match="Unknown feature set"):
        features.feature_names("s3")
