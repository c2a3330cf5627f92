"""Stratified estimation of class area and accuracy (Olofsson et al. 2014).

Olofsson et al. (2014) "Good practices for estimating area and assessing accuracy of land
change", Remote Sensing of Environment 148, 42-57, doi:10.1016/j.rse.2014.02.015: the map
classes are the strata of a stratified random sample of reference labels.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from lulcbook.evaluate.classification import error_matrix


class AreaEstimate:
    """Result of :func:`stratified_area_estimate` (Olofsson et al. 2014).

    Per-class arrays (length C, class order of the error matrix) and overall
    scalars; every field is reachable as an attribute and by name
    (``est.area`` or ``est["area"]``). Areas are in the unit of ``mapped_area``.

    Attributes:
        area, area_se: estimated area of each reference class and its standard error.
        users_accuracy, users_accuracy_se: user's accuracy of each map class and its SE.
        producers_accuracy, producers_accuracy_se: producer's accuracy and its SE.
        overall_accuracy, overall_accuracy_se: overall accuracy and its SE.
        proportions: estimated area proportions ``p_ij`` (C, C), rows map, columns reference.
        mapped_area: the mapped area of each class (input).
    """

    area: np.ndarray
    area_se: np.ndarray
    users_accuracy: np.ndarray
    users_accuracy_se: np.ndarray
    producers_accuracy: np.ndarray
    producers_accuracy_se: np.ndarray
    overall_accuracy: float
    overall_accuracy_se: float
    proportions: np.ndarray
    mapped_area: np.ndarray

    FIELDS: tuple[str, ...] = (
        "area",
        "area_se",
        "users_accuracy",
        "users_accuracy_se",
        "producers_accuracy",
        "producers_accuracy_se",
        "overall_accuracy",
        "overall_accuracy_se",
        "proportions",
        "mapped_area",
    )

    def __init__(self, **values: Any) -> None:
        """Set every field of :attr:`FIELDS` from ``values``.

        Args:
            **values: one value per name in :attr:`FIELDS`.

        Raises:
            TypeError: if a field is missing or an unknown one is given.
        """
        if set(values) != set(self.FIELDS):
            raise TypeError(f"AreaEstimate needs exactly {self.FIELDS}, got {sorted(values)}")
        for name in self.FIELDS:
            setattr(self, name, values[name])

    def __repr__(self) -> str:
        """Areas, their SEs and the overall accuracy."""
        return (
            f"AreaEstimate(area={self.area}, area_se={self.area_se}, "
            f"overall_accuracy={self.overall_accuracy:.4f})"
        )

    def keys(self) -> tuple[str, ...]:
        """Names of the fields (so ``dict(est)``-style access works)."""
        return self.FIELDS

    def __getitem__(self, name: str) -> Any:
        """The field ``name``.

        Raises:
            KeyError: if ``name`` is not a field.
        """
        if name not in self.FIELDS:
            raise KeyError(f"{name!r} is not a field of AreaEstimate")
        return getattr(self, name)

    def ci95(self, name: str = "area") -> tuple[np.ndarray, np.ndarray]:
        """Normal-approximation 95% interval ``value ± 1.96 SE`` of ``name``."""
        value, se = np.asarray(self[name]), np.asarray(self[f"{name}_se"])
        return value - 1.96 * se, value + 1.96 * se

    def to_dict(self, class_names: Iterable[object] | None = None) -> dict[str, Any]:
        """JSON-ready summary; per-class values keyed by ``class_names`` when given."""
        names = list(class_names) if class_names is not None else list(range(len(self.area)))
        if len(names) != len(self.area):
            raise ValueError(f"{len(names)} class names for {len(self.area)} classes")
        per_class = {}
        for k, name in enumerate(names):
            lo, hi = (v[k] for v in self.ci95("area"))
            per_class[str(name)] = {
                "mapped_area": float(self.mapped_area[k]),
                "area": float(self.area[k]),
                "area_se": float(self.area_se[k]),
                "area_ci95": [float(lo), float(hi)],
                "users_accuracy": float(self.users_accuracy[k]),
                "users_accuracy_se": float(self.users_accuracy_se[k]),
                "producers_accuracy": float(self.producers_accuracy[k]),
                "producers_accuracy_se": float(self.producers_accuracy_se[k]),
            }
        oa_lo, oa_hi = self.ci95("overall_accuracy")
        return {
            "overall_accuracy": float(self.overall_accuracy),
            "overall_accuracy_se": float(self.overall_accuracy_se),
            "overall_accuracy_ci95": [float(oa_lo), float(oa_hi)],
            "classes": per_class,
        }


def stratified_area_estimate(counts: ArrayLike, mapped_area: ArrayLike) -> AreaEstimate:
    """Good-practice stratified estimator of class area and accuracy (Olofsson et al. 2014).

    The map classes are the strata of a stratified random sample. With
    ``n_ij = counts[i][j]`` (samples mapped as class i with reference class j),
    ``n_i. = sum_j n_ij``, ``A_i = mapped_area[i]``, ``A = sum_i A_i`` and the
    stratum weight ``W_i = A_i / A``:

    * area proportion ``p_ij = W_i n_ij / n_i.``; ``p_.j = sum_i p_ij``
    * area ``A_j = A p_.j`` with ``SE(p_.j)^2 = sum_i W_i^2 f_ij (1 - f_ij) / (n_i. - 1)``,
      ``f_ij = n_ij / n_i.``, ``SE(A_j) = A SE(p_.j)``
    * overall accuracy ``O = sum_j p_jj``, ``V(O) = sum_i W_i^2 U_i (1 - U_i) / (n_i. - 1)``
    * user's accuracy ``U_i = n_ii / n_i.``, ``V(U_i) = U_i (1 - U_i) / (n_i. - 1)``
    * producer's accuracy ``P_j = p_jj / p_.j`` with
      ``V(P_j) = [A_j^2 (1-P_j)^2 U_j (1-U_j)/(n_j.-1)
      + P_j^2 sum_{i != j} A_i^2 f_ij (1-f_ij)/(n_i.-1)] / Â_.j^2``,
      ``Â_.j = sum_i A_i f_ij`` (areas in place of pixel counts; the ratio is the same).

    Rules for degenerate classes (never crash; NaN means "not estimable"):

    * A stratum with ``mapped_area == 0`` has weight 0 and contributes nothing to
      the areas, OA or PA (samples in it still give its user's accuracy).
    * A stratum with ``mapped_area > 0`` but no samples (``n_i. = 0``): its
      composition is unknown, so the areas, PA and OA (and their SEs) that depend
      on it are NaN for every class (a ``RuntimeWarning`` names the stratum); its UA is NaN.
    * A class never observed in the reference sample has estimated area 0 with SE 0
      and NaN producer's accuracy (0/0).
    * A stratum with a single sample has no variance estimate (``n_i. - 1 = 0``):
      every SE that uses it is NaN; the point estimates are still given.

    Args:
        counts: (C, C) sample counts, rows = map class, columns = reference class.
        mapped_area: (C,) mapped area of each class (any unit; areas come back in it).

    Returns:
        An :class:`AreaEstimate`; 95% intervals via ``est.ci95("area")``.

    Raises:
        ValueError: for a non-square or negative matrix, a mismatched or negative
            ``mapped_area``, or a total mapped area of 0.
    """
    n = np.asarray(counts, dtype=np.float64)
    a_map = np.asarray(mapped_area, dtype=np.float64).ravel()
    if n.ndim != 2 or n.shape[0] != n.shape[1]:
        raise ValueError(f"counts must be a square (C, C) matrix, got shape {n.shape}")
    if a_map.shape != (n.shape[0],):
        raise ValueError(f"mapped_area has {a_map.size} values for a {n.shape[0]}-class matrix")
    if np.any(n < 0) or not np.all(np.isfinite(n)):
        raise ValueError("counts must be finite and non-negative")
    if np.any(a_map < 0) or not np.all(np.isfinite(a_map)):
        raise ValueError(f"mapped_area must be finite and non-negative, got {a_map}")
    total = a_map.sum()
    if total <= 0:
        raise ValueError("total mapped area is 0; nothing to estimate")
    c = n.shape[0]
    w = a_map / total
    n_i = n.sum(axis=1)
    missing = (a_map > 0) & (n_i == 0)
    if missing.any():
        import warnings

        warnings.warn(
            f"strata {np.flatnonzero(missing).tolist()} have mapped area but no "
            "reference samples: areas, OA and PA are not estimable (NaN)",
            RuntimeWarning,
            stacklevel=2,
        )
    with np.errstate(invalid="ignore", divide="ignore"):
        f = n / n_i[:, None]  # row fractions; NaN rows for unsampled strata
        f = np.where((a_map == 0)[:, None] & (n_i == 0)[:, None], 0.0, f)
        p = w[:, None] * f
        # strata with W = 0 contribute nothing, even when sampled
        p = np.where((w == 0)[:, None], 0.0, p)
        p_col = p.sum(axis=0)
        dof = n_i - 1.0
        # per-stratum variance term of a fraction; 0 where the stratum has no weight
        frac_var = np.where(dof[:, None] > 0, f * (1 - f) / dof[:, None], np.nan)
        frac_var = np.where((w == 0)[:, None], 0.0, frac_var)
        area = total * p_col
        area_se = total * np.sqrt(np.sum(w[:, None] ** 2 * frac_var, axis=0))

        diag_f = np.diag(f) if c else np.zeros(0)
        ua = np.where(n_i > 0, np.diag(n) / n_i, np.nan)
        ua_var = np.where(dof > 0, ua * (1 - ua) / dof, np.nan)
        ua_se = np.sqrt(ua_var)

        oa = float(np.trace(p))
        oa_terms = np.where(
            w == 0, 0.0, w**2 * np.where(dof > 0, diag_f * (1 - diag_f) / dof, np.nan)
        )
        oa_se = float(np.sqrt(np.sum(oa_terms)))

        pa = np.where(p_col > 0, np.diag(p) / p_col, np.nan)
        n_hat_col = np.sum(a_map[:, None] * f, axis=0)  # estimated reference area Â_.j
        pa_var = np.full(c, np.nan)
        for j in range(c):
            if not (n_hat_col[j] > 0):
                continue
            first = 0.0 if a_map[j] == 0 else (a_map[j] ** 2 * (1 - pa[j]) ** 2 * frac_var[j, j])
            others = np.delete(a_map**2 * frac_var[:, j], j)
            pa_var[j] = (first + pa[j] ** 2 * np.sum(others)) / n_hat_col[j] ** 2
        pa_se = np.sqrt(pa_var)
    return AreaEstimate(
        area=area,
        area_se=area_se,
        users_accuracy=ua,
        users_accuracy_se=ua_se,
        producers_accuracy=pa,
        producers_accuracy_se=pa_se,
        overall_accuracy=oa,
        overall_accuracy_se=oa_se,
        proportions=p,
        mapped_area=a_map,
    )


def stratified_random_sample(strata: ArrayLike, n_per_stratum: int, seed: int = 0) -> np.ndarray:
    """Indices of a stratified random sample without replacement: ``n_per_stratum`` per stratum.

    Strata smaller than ``n_per_stratum`` are taken whole (a census of that stratum).

    Args:
        strata: ``(n,)`` stratum (map class) of every population unit (e.g. pixel).
        n_per_stratum: sample size per stratum (equal allocation).
        seed: random seed.

    Returns:
        Sorted indices into ``strata``.
    """
    if n_per_stratum < 1:
        raise ValueError(f"n_per_stratum must be >= 1, got {n_per_stratum}")
    s = np.asarray(strata).ravel()
    rng = np.random.default_rng(seed)
    picks = []
    for value in np.unique(s):
        idx = np.flatnonzero(s == value)
        picks.append(rng.choice(idx, min(n_per_stratum, idx.size), replace=False))
    return np.sort(np.concatenate(picks)) if picks else np.zeros(0, dtype=np.int64)


def sample_area_estimate(
    map_labels: ArrayLike,
    ref_labels: ArrayLike,
    n_classes: int,
    n_per_stratum: int,
    unit_area: float = 1.0,
    seed: int = 0,
) -> tuple[AreaEstimate, np.ndarray]:
    """Draw a stratified random sample from a fully referenced population and estimate areas.

    The strata are the map classes of the population units (pixels); ``n_per_stratum`` units
    are drawn per stratum (:func:`stratified_random_sample`), their reference labels are read
    from ``ref_labels`` and :func:`stratified_area_estimate` is applied with the mapped areas
    of the whole population. Because the reference is known for every unit, the estimate can
    be checked against the census truth ``bincount(ref_labels) * unit_area``; the sampling is
    simulated, the labels are not.

    Args:
        map_labels: ``(n,)`` map class of every unit of the population.
        ref_labels: ``(n,)`` reference class of every unit.
        n_classes: number of classes ``C``.
        n_per_stratum: sample size per map class.
        unit_area: area of one unit (e.g. 0.01 ha for a 10 m pixel).
        seed: random seed of the sample.

    Returns:
        The estimate and the sample error matrix ``counts`` (rows map, columns reference).
    """
    m = np.asarray(map_labels, dtype=np.int64).ravel()
    r = np.asarray(ref_labels, dtype=np.int64).ravel()
    idx = stratified_random_sample(m, n_per_stratum, seed)
    counts = error_matrix(m[idx], r[idx], n_classes)
    mapped = np.bincount(m, minlength=n_classes).astype(np.float64) * unit_area
    return stratified_area_estimate(counts, mapped), counts
