"""Evaluation metrics, one concept per module.

* :mod:`~lulcbook.evaluate.classification` — confusion and error matrices, OA, (macro-)F1;
* :mod:`~lulcbook.evaluate.calibration` — reliability diagram, ECE, NLL, Brier score, AUROC;
* :mod:`~lulcbook.evaluate.conformal` — split-conformal prediction sets;
* :mod:`~lulcbook.evaluate.area` — stratified area and accuracy estimates (Olofsson et al. 2014);
* :mod:`~lulcbook.evaluate.landscape` — map fragmentation (FRAGSTATS edge and patch density);
* :mod:`~lulcbook.evaluate.spectral` — image and spectral similarity (RMSE, SAM, PSNR, SSIM).

Bootstrap intervals for model comparisons are in :mod:`lulcbook.bootstrap`.
"""

from lulcbook.evaluate.area import (
    AreaEstimate,
    sample_area_estimate,
    stratified_area_estimate,
    stratified_random_sample,
)
from lulcbook.evaluate.calibration import (
    brier_score,
    expected_calibration_error,
    misclassification_auroc,
    negative_log_likelihood,
    reliability_diagram,
)
from lulcbook.evaluate.classification import (
    classification_metrics,
    confusion,
    error_matrix,
    macro_f1,
    overall_accuracy,
)
from lulcbook.evaluate.conformal import (
    CONFORMAL_METHODS,
    conformal_quantile,
    conformal_sets,
    split_conformal,
)
from lulcbook.evaluate.landscape import fragmentation
from lulcbook.evaluate.probabilities import check_probs
from lulcbook.evaluate.spectral import (
    image_metrics,
    mae,
    psnr,
    rmse,
    sam,
    spectral_angle,
    spectral_metrics,
    ssim,
)

__all__ = [
    "CONFORMAL_METHODS",
    "AreaEstimate",
    "brier_score",
    "check_probs",
    "classification_metrics",
    "conformal_quantile",
    "conformal_sets",
    "confusion",
    "error_matrix",
    "expected_calibration_error",
    "fragmentation",
    "image_metrics",
    "macro_f1",
    "mae",
    "misclassification_auroc",
    "negative_log_likelihood",
    "overall_accuracy",
    "psnr",
    "reliability_diagram",
    "rmse",
    "sam",
    "sample_area_estimate",
    "spectral_angle",
    "spectral_metrics",
    "split_conformal",
    "ssim",
    "stratified_area_estimate",
    "stratified_random_sample",
]
