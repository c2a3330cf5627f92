"""Tests for lulcbook.models.mc_dropout: dropout sampling in eval mode, averaged probabilities."""

from __future__ import annotations

import torch

from lulcbook.models import mc_dropout


def test_mc_dropout_keeps_every_dropout_kind_sampling_and_norms_in_eval() -> None:
    net = torch.nn.Sequential(
        torch.nn.Conv2d(2, 4, 1),
        torch.nn.BatchNorm2d(4),
        torch.nn.Dropout2d(0.5),
        torch.nn.Flatten(),
        torch.nn.Dropout(0.5),
        torch.nn.Linear(4 * 3 * 3, 2),
    )
    assert mc_dropout.enable_mc_dropout(net) is net
    assert not net[1].training  # batch norm uses its running statistics
    assert net[2].training and net[4].training  # channel-wise and element-wise dropout sample
    x = torch.ones(1, 2, 3, 3)
    torch.manual_seed(0)
    outs = torch.stack([net(x) for _ in range(8)])
    assert (outs.std(dim=0) > 0).any()  # passes differ: dropout is on


def test_mc_softmax_averages_sampled_passes_and_leaves_eval_mode() -> None:
    torch.manual_seed(1)
    net = torch.nn.Sequential(
        torch.nn.Linear(3, 8), torch.nn.Dropout(0.5), torch.nn.Linear(8, 4)
    ).train()
    x = torch.randn(5, 3)
    det = mc_dropout.mc_softmax(net, lambda: net(x), 0)
    assert not net.training
    torch.testing.assert_close(det, torch.softmax(net(x), dim=1))
    torch.manual_seed(2)
    mc = mc_dropout.mc_softmax(net, lambda: net(x), 6)
    assert not net.training and not net[1].training
    torch.testing.assert_close(mc.sum(dim=1), torch.ones(5))
    assert not torch.allclose(mc, det)  # dropout sampled in every pass
    torch.manual_seed(2)
    mc_dropout.enable_mc_dropout(net)
    passes = torch.stack([torch.softmax(net(x), dim=1) for _ in range(6)])
    torch.testing.assert_close(mc, passes.mean(0))
