"""Small models doing what everyday PyTorch code does (issue 17): a module called several times, tied
weights, frozen and pruned layers, scalar operands, in-place ops, tensor factories inside forward, an
index buffer, wrappers and forwards that return odd things. Each reproduces one construct in a few lines."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class SharedConv(nn.Module):
    """One conv applied three times (weight sharing across depth): torch counts its weights once."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1)
        self.head = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for _ in range(3):
            x = F.relu(self.conv(x))
        return self.head(x.mean((2, 3)))


class TiedLinear(nn.Module):
    """Two Linear modules holding the same weight Parameter (tied encoder and decoder)."""

    def __init__(self) -> None:
        super().__init__()
        self.encode = nn.Linear(8, 8, bias=False)
        self.decode = nn.Linear(8, 8)
        self.decode.weight = self.encode.weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(torch.tanh(self.encode(x)))


def frozen_backbone() -> nn.Module:
    """Fine-tuning: the backbone's conv and batch norm have requires_grad=False, the head trains."""
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 5))  # fmt: skip
    for layer in model[:2]:
        layer.requires_grad_(False)
    return model


def pruned() -> nn.Module:
    """torch.nn.utils.prune: the conv's `weight` becomes `weight_orig` (a parameter) times `weight_mask`
    (a buffer), recomputed by a forward pre-hook."""
    from torch.nn.utils import prune

    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 4 * 4, 5))
    prune.l1_unstructured(model[0], "weight", amount=0.5)
    prune.random_unstructured(model[3], "bias", amount=0.2)
    return model


class Scalars(nn.Module):
    """Scalar operands: x * 0.5, x + 1, x ** 2, torch.pow, 1 - x, x / 4."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x * 0.5 + 1
        y = y**2 + torch.pow(x, 3)
        return (1 - y) / 4


class InPlace(nn.Module):
    """In-place operations and tensor methods: x.add_, relu_(), +=, x.mul_, Tensor.sigmoid."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        y.add_(x)
        y.relu_()
        y += x
        y.mul_(x.sigmoid())
        return y


class Factories(nn.Module):
    """Tensors made inside forward: noise, a ones mask, zeros, positions from arange."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        noise = torch.randn(x.shape, device=x.device)
        mask = torch.ones(x.shape[1:], device=x.device)
        positions = torch.arange(x.shape[-1], device=x.device, dtype=x.dtype)
        return (x + noise) * mask + positions + torch.zeros_like(x)


class RelativeBias(nn.Module):
    """A relative-position bias: a parameter table gathered by an index buffer, added to scores."""

    def __init__(self, tokens: int = 4, heads: int = 2) -> None:
        super().__init__()
        self.table = nn.Parameter(torch.zeros(2 * tokens - 1, heads))
        coords = torch.arange(tokens)
        self.register_buffer("index", (coords[:, None] - coords[None, :] + tokens - 1).flatten())
        self.tokens, self.heads = tokens, heads

    def forward(self, scores: torch.Tensor) -> torch.Tensor:  # scores: [batch, heads, tokens, tokens]
        bias = self.table[self.index].view(self.tokens, self.tokens, self.heads).permute(2, 0, 1)
        return (scores + bias.unsqueeze(0)).softmax(-1)


class EmptyOutput(nn.Module):
    """An operation without a rule returning a tensor with nothing in it beside a full one."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        full, empty = torch.tensor_split(x, [x.shape[1]], dim=1)
        return full + 1 if empty.numel() else F.relu(full)


class ReturnsNone(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 1)

    def forward(self, x: torch.Tensor) -> None:
        self.conv(x)


class ReturnsDistribution(nn.Module):
    """A policy head returning torch.distributions.Normal."""

    def __init__(self) -> None:
        super().__init__()
        self.mean = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.distributions.Normal:
        return torch.distributions.Normal(self.mean(x), torch.ones(2), validate_args=False)


def scripted() -> nn.Module:
    return torch.jit.script(nn.Sequential(nn.Conv2d(3, 4, 1), nn.ReLU()))


def data_parallel() -> nn.Module:
    return nn.DataParallel(nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 2)))


def in_training_mode() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Dropout(0.5)).train()


class _Stage(nn.Module):
    """A stage with a child named `0` that also reads a tensor from the stage before (a skip)."""

    def __init__(self) -> None:
        super().__init__()
        self.add_module("0", nn.Conv2d(3, 4, 1))

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self._modules["0"](x) + skip


class SkipAcrossStages(nn.Module):
    """features.1.add reads features.0.2: written as `0.2` from inside features.1, its own `0` would
    shadow it (export-spec said 'features.0.2 is shadowed by features.1.0' for Swin and MaxViT)."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.ModuleList([nn.Sequential(nn.Conv2d(3, 4, 1), nn.ReLU(), nn.Conv2d(4, 4, 1)), _Stage()])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = self.features[0](x)
        return self.features[1](torch.relu(x), skip)


class _Fuse(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 1)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.conv(x) + skip


class _Branches(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.blocks = nn.ModuleList([_Fuse()])

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.blocks[0](x, skip)


class SkipHiddenEverywhere(nn.Module):
    """blocks.1.blocks.0.add reads blocks.0.1: from inside blocks.1.blocks.0, `0.1` is hidden by blocks.1.blocks.0
    and `blocks.0.1` by blocks.1.blocks, so only a name from the top level reaches it (timm's CrossViT: export-spec
    said 'blocks.0.cat_3 is shadowed by blocks.1.blocks')."""

    def __init__(self) -> None:
        super().__init__()
        self.blocks = nn.ModuleList([nn.Sequential(nn.Conv2d(3, 4, 1), nn.ReLU()), _Branches()])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks[1](x, self.blocks[0](x))
