"""Monte-Carlo dropout (Gal & Ghahramani 2016): dropout kept sampling at prediction time.

:func:`enable_mc_dropout` puts a network in eval mode but keeps its dropout layers drawing new
masks; :func:`mc_softmax` averages the class probabilities of several such passes. The graph
models (:mod:`lulcbook.models.gnn`), the spectral map model (:mod:`lulcbook.models.spectral`)
and the uncertainty estimates (:mod:`lulcbook.uncertainty`) all sample this way.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

DROPOUT_LAYERS: tuple[type[nn.Module], ...] = (
    nn.Dropout,
    nn.Dropout1d,
    nn.Dropout2d,
    nn.Dropout3d,
    nn.AlphaDropout,
    nn.FeatureAlphaDropout,
)
"""The dropout layer types that MC dropout keeps sampling."""


def enable_mc_dropout(model: nn.Module) -> nn.Module:
    """Put the model in eval mode but keep every dropout layer sampling (MC dropout).

    Batch norm then uses its running statistics while each dropout layer of
    :data:`DROPOUT_LAYERS` (element-wise or channel-wise) draws a new mask per pass.

    Args:
        model: any network; changed in place.

    Returns:
        ``model``.
    """
    model.eval()
    for m in model.modules():
        if isinstance(m, DROPOUT_LAYERS):
            m.train()
    return model


@torch.no_grad()
def mc_softmax(model: nn.Module, forward: Callable[[], Tensor], mc_samples: int = 0) -> Tensor:
    """Class probabilities: the softmax over axis 1 of ``forward()``, averaged over MC passes.

    Args:
        model: the network ``forward`` runs (its mode is set here; eval mode afterwards).
        forward: one pass of ``model`` on the input, returning logits ``(n, n_classes, ...)``.
        mc_samples: stochastic passes with dropout sampling (:func:`enable_mc_dropout`) whose
            probabilities are averaged; ``0`` is one deterministic pass in eval mode.

    Returns:
        The probabilities, shaped like the logits.
    """
    if mc_samples > 0:
        enable_mc_dropout(model)
        try:
            return torch.stack([F.softmax(forward(), dim=1) for _ in range(mc_samples)]).mean(0)
        finally:
            model.eval()
    model.eval()
    return F.softmax(forward(), dim=1)


__all__ = ["DROPOUT_LAYERS", "enable_mc_dropout", "mc_softmax"]
