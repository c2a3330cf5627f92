"""The Sentinel-2 Toolbox LAI network against its published test cases, and the domain rules."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from lulcbook import lai


def _published() -> tuple[np.ndarray, np.ndarray]:
    cases = lai.load_network().test_cases
    return cases[:, :11], cases[:, 11]


def test_coefficients_have_provenance() -> None:
    net = lai.load_network()
    prov = net.provenance
    assert prov["repository"] == "github.com/senbox-org/s2tbx"
    assert all(len(f["commit"]) == 40 for f in prov["files"].values())
    assert net.test_cases.shape == (30, 12)


def test_network_reproduces_published_test_cases() -> None:
    x, expected = _published()
    got = lai.network_output(x)
    # inputs are published to 5 significant digits, LAI to 7: agreement to 5e-4 LAI units
    np.testing.assert_allclose(got, expected, atol=5e-4, rtol=0)


def test_compute_lai_on_published_cases_as_an_image() -> None:
    x, expected = _published()
    rho = x[:, :8].T.reshape(8, 5, 6)
    angles = tuple(x[:, 8 + i].reshape(5, 6) for i in range(3))
    res = lai.compute_lai(rho, angles)
    np.testing.assert_allclose(res.lai.ravel(), expected, atol=5e-4, rtol=0)
    assert not np.any(res.flags & lai.FLAG_INVALID_INPUT)
    assert not np.any(res.flags & lai.FLAG_DEFAULT_ANGLES)
    assert np.all(res.sigma > 0) and np.all(np.isfinite(res.sigma))


def test_gradient_matches_finite_differences() -> None:
    x, _ = _published()
    g = lai.network_gradient(x[:3])
    h = 1e-6
    for j in range(11):
        step = np.zeros(11)
        step[j] = h
        fd = (lai.network_output(x[:3] + step) - lai.network_output(x[:3] - step)) / (2 * h)
        np.testing.assert_allclose(g[:, j], fd, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("bad", [np.nan, -0.01, 1.2])
def test_impossible_reflectance_gives_nan_and_flag(bad: float) -> None:
    x, _ = _published()
    rho = np.repeat(x[:1, :8].T, 2, axis=1)  # (8, 2): two copies of a valid pixel
    rho[3, 1] = bad
    res = lai.compute_lai(rho, tuple(x[0, 8:]))
    assert np.isfinite(res.lai[0]) and np.isnan(res.lai[1]) and np.isnan(res.sigma[1])
    assert res.flags[1] & lai.FLAG_INVALID_INPUT and not res.flags[0] & lai.FLAG_INVALID_INPUT


def test_out_of_domain_input_flagged_but_computed() -> None:
    x, _ = _published()
    rho = x[0, :8].copy()
    rho[0] = 0.5  # B03 above the training range (max ~0.24)
    res = lai.compute_lai(rho[:, None], tuple(x[0, 8:]))
    assert res.flags[0] & lai.FLAG_INPUT_OUT_OF_DOMAIN
    assert res.flag_counts()["input_out_of_domain"] == 1


def test_output_rules_clamp_or_reject() -> None:
    net = lai.load_network()
    rng = np.random.default_rng(0)
    x = rng.uniform(net.in_min, net.in_max, size=(20000, 11))
    res = lai.compute_lai(x[:, :8].T, tuple(x[:, 8 + i] for i in range(3)))
    raw = lai.network_output(x)
    clamped = (res.flags & lai.FLAG_OUTPUT_CLAMPED) != 0
    rejected = (res.flags & lai.FLAG_OUTPUT_INVALID) != 0
    ok = np.isfinite(res.lai)
    assert np.all(res.lai[ok] >= net.out_min) and np.all(res.lai[ok] <= net.out_max)
    assert np.all(np.isnan(res.lai[rejected]))
    assert clamped.any(), "random inputs should produce some slightly negative outputs"
    assert np.all(np.abs(raw[clamped] - res.lai[clamped]) <= lai.OUTPUT_TOLERANCE)


def test_toa_refused_unless_allowed() -> None:
    x, _ = _published()
    with pytest.raises(lai.ToaInputError, match="allow_toa"):
        lai.compute_lai(x[:2, :8].T, tuple(x[0, 8:]), level="L1C")
    res = lai.compute_lai(x[:2, :8].T, tuple(x[0, 8:]), level="L1C", allow_toa=True)
    assert np.all(res.flags & lai.FLAG_TOA_INPUT)
    with pytest.raises(lai.LaiInputError, match="L3"):
        lai.compute_lai(x[:2, :8].T, tuple(x[0, 8:]), level="L3")


def test_wrong_bands_named() -> None:
    x, _ = _published()
    with pytest.raises(lai.LaiInputError, match="B8A"):
        lai.compute_lai(
            x[:2, :8].T, band_names=("B03", "B04", "B05", "B06", "B07", "B08", "B11", "B12")
        )
    with pytest.raises(lai.LaiInputError, match="7 bands"):
        lai.compute_lai(x[:2, :7].T)


def test_default_angles_flagged_and_follow_season() -> None:
    x, _ = _published()
    res = lai.compute_lai(x[:4, :8].T, day=date(2018, 6, 21), latitude=50.0)
    assert np.all(res.flags & lai.FLAG_DEFAULT_ANGLES)
    summer = lai.solar_zenith_noon(date(2018, 6, 21), 50.0)
    winter = lai.solar_zenith_noon(date(2018, 12, 21), 50.0)
    assert 25 < summer < 28 and 72 < winter < 75
    assert lai.default_angles(None, None)[1] == pytest.approx(np.cos(np.radians(40.0)))
