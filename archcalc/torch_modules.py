"""Small torch modules the layer builders need where torch has no ready-made one.

Imported only by torch builders (never on the analytic path). Each computes exactly what its layer
type's rules describe, so hooks on it can witness the analytic numbers.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _torch_pad(pads: tuple[int, ...]) -> tuple[int, ...]:
    """(before, after) per spatial axis, first axis first -> F.pad's order (last axis first)."""
    pairs = [(pads[i], pads[i + 1]) for i in range(0, len(pads), 2)]
    return tuple(side for before, after in reversed(pairs) for side in (before, after))


class Padded(nn.Module):
    """Pads explicitly (per side, any number of spatial axes) before an inner module that pads nothing itself."""

    def __init__(self, pads: tuple[int, ...], mode: str, inner: nn.Module) -> None:
        super().__init__()
        self.pad = _torch_pad(pads)
        self.mode = {"zeros": "constant", "max": "constant"}.get(mode, mode)
        self.value = float("-inf") if mode == "max" else 0.0
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "constant":
            return self.inner(F.pad(x, self.pad, "constant", self.value))
        return self.inner(F.pad(x, self.pad, self.mode))


class TableConv(nn.Module):
    """A convolution (1, 2 or 3 spatial axes) whose output map j reads only the input maps in row j of a table."""

    def __init__(self, table, c_in: int, kernel, stride, pads, dilation, bias: bool) -> None:
        super().__init__()
        self.pad = _torch_pad(pads)
        self.rows = [list(row) for row in table]
        conv = getattr(nn, f"Conv{len(kernel)}d")
        self.maps = nn.ModuleList(conv(len(row), 1, kernel, stride, 0, dilation, bias=bias) for row in self.rows)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if any(self.pad):
            x = F.pad(x, self.pad)
        return torch.cat([conv(x[:, row]) for row, conv in zip(self.rows, self.maps)], dim=1)


TableConv2d = TableConv  # the name before convolutions took any rank


def weight_normed(conv: nn.Module, dim: int = 0) -> nn.Module:
    """torch.nn.utils.weight_norm (weight_g and weight_v, the conv stays a leaf module), as the TCN's
    reference code applies it; torch marks it deprecated in favour of the parametrization, which would
    give the conv a child module and change what module-hook tools see. `dim`: the weight axis that keeps
    one g per index."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return torch.nn.utils.weight_norm(conv, dim=dim)


def weight_norm_dim(module: nn.Module) -> int | None:
    """The `dim` of a weight-normed module's normalisation (either kind), -1 for one g over the whole weight."""
    from torch.nn.utils.weight_norm import WeightNorm

    for hook in module._forward_pre_hooks.values():
        if isinstance(hook, WeightNorm) and hook.name == "weight":
            return hook.dim
    parametrizations = getattr(module, "parametrizations", None)
    for p in getattr(parametrizations, "weight", None) or ():
        if type(p).__name__ == "_WeightNorm":
            return p.dim
    return None


def is_weight_normed(module: nn.Module) -> bool:
    """Weight normalisation of either kind: torch.nn.utils.weight_norm or the parametrization."""
    if hasattr(module, "weight_g") and hasattr(module, "weight_v"):
        return True
    parametrizations = getattr(module, "parametrizations", None)
    weight = getattr(parametrizations, "weight", None) if parametrizations is not None else None
    return weight is not None and any(type(p).__name__ == "_WeightNorm" for p in weight)


class Subsampling(nn.Module):
    """LeNet-5's S layers: the sum of each window times a trainable coefficient, plus a bias, per map."""

    def __init__(self, channels: int, kernel, stride) -> None:
        super().__init__()
        self.kernel, self.stride = tuple(kernel), tuple(stride)
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        area = self.kernel[0] * self.kernel[1]
        summed = F.avg_pool2d(x, self.kernel, self.stride) * area
        return summed * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)


class RBF(nn.Module):
    """Euclidean RBF units with fixed (non-trainable) centres: y_j = sum_i (x_i - w_ij)^2."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(out_features, in_features), requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return ((x.unsqueeze(-2) - self.weight) ** 2).sum(-1)


class PartlyFixedBiasLinear(nn.Module):
    """A linear layer whose bias ends in `fixed` elements held in a buffer of zeros (BEiT's qkv, whose bias is
    torch.cat((q_bias, k_bias, v_bias)) with k_bias a zero buffer): F.linear with the joined bias, as timm calls it."""

    def __init__(self, in_features: int, out_features: int, fixed: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        self.bias = nn.Parameter(torch.zeros(out_features - fixed))
        self.register_buffer("fixed_bias", torch.zeros(fixed))
        nn.init.kaiming_uniform_(self.weight, a=5**0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.linear(x, self.weight, torch.cat((self.bias, self.fixed_bias)))


class SpatialPyramidPool(nn.Module):
    """One pool per level, each flattened, all concatenated (He et al., SPP-net)."""

    def __init__(self, windows, mode: str) -> None:
        super().__init__()
        self.windows = [(tuple(kernel), tuple(stride)) for kernel, stride in windows]
        self.pool = F.max_pool2d if mode == "max" else F.avg_pool2d

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.pool(x, k, s).flatten(1) for k, s in self.windows], dim=1)


class RegionPool(nn.Module):
    """RoI max pooling of `rois` regions of `region` cells (at the map's top left) to `output_size` bins:
    the bins of Caffe's and torchvision's RoIPool, which torch's adaptive max pooling uses too. The
    pooling function is bound here, as SpatialPyramidPool does (the profiling tools' patches do not see it)."""

    def __init__(self, rois: int, region, output_size) -> None:
        super().__init__()
        self.rois, self.region, self.output_size = rois, tuple(region), tuple(output_size)
        self.pool = F.adaptive_max_pool2d

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = self.pool(x[:, :, : self.region[0], : self.region[1]], self.output_size)
        return pooled.unsqueeze(1).expand(-1, self.rois, -1, -1, -1)


class Add(nn.Module):
    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out


class Mul(nn.Module):
    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        out = xs[0]
        for x in xs[1:]:
            out = out * x
        return out


class Concat(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return torch.cat(xs, dim=self.dim)


class ChannelShuffle(nn.Module):
    """torchvision's channel_shuffle: view as (groups, C/groups), transpose, flatten."""

    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, *spatial = x.shape
        x = x.view(n, self.groups, c // self.groups, *spatial).transpose(1, 2).contiguous()
        return x.view(n, c, *spatial)


class Pad(nn.Module):
    """F.pad as a module; `pad` in F.pad's order (last axis first)."""

    def __init__(self, pad: tuple[int, ...], mode: str, value: float) -> None:
        super().__init__()
        self.pad, self.mode, self.value = pad, mode, value

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "constant":
            return F.pad(x, self.pad, "constant", self.value)
        return F.pad(x, self.pad, self.mode)


class Crop(nn.Module):
    """A fixed spatial window: `size[i]` positions from `origin[i]` along each spatial axis i."""

    def __init__(self, origin: tuple[int, ...], size: tuple[int, ...]) -> None:
        super().__init__()
        self.origin, self.size = tuple(origin), tuple(size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        window = tuple(slice(start, start + length) for start, length in zip(self.origin, self.size))
        return x[(slice(None), slice(None)) + window]


class Narrow(nn.Module):
    """torch.narrow as a module: `length` elements from `start` along `dim`."""

    def __init__(self, dim: int, start: int, length: int) -> None:
        super().__init__()
        self.dim, self.start, self.length = dim, start, length

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.narrow(self.dim, self.start, self.length)


class Reshape(nn.Module):
    """Reshapes each sample to `shape` (the batch axis stays)."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape((x.shape[0],) + self.shape)


class GlobalPool(nn.Module):
    """Mean or max over every spatial axis, keeping them as 1 x 1 or dropping them (`x.mean((2, 3))`)."""

    def __init__(self, mode: str, keep_dims: bool) -> None:
        super().__init__()
        self.mode, self.keep_dims = mode, keep_dims

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dims = tuple(range(2, x.dim()))
        if self.mode == "max":
            return x.amax(dims, keepdim=self.keep_dims)
        return x.mean(dims, keepdim=self.keep_dims)


class Invoked(nn.Module):
    """A layer its reference implementation computes with a function, a Tensor method or an operator (a spec's
    `call:`), not a module: runs `inner.forward` directly. `inner` (parameter-free) is kept out of the
    module tree, so no module hook (ptflops, thop, torchinfo) sees it, even a child of it; functional
    patches (ptflops' F.relu) and traced or dispatched aten ops (fvcore, FlopCounterMode) see the call."""

    def __init__(self, inner: nn.Module, call: str) -> None:
        super().__init__()
        object.__setattr__(self, "inner", inner)
        self.call = call

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return self.inner.forward(*xs)

    def extra_repr(self) -> str:
        return f"{self.call}: {type(self.inner).__name__}"


class Placeholder(nn.Module):
    """Stands in for an operation archcalc cannot count: the right output shape and parameter counts,
    zeros for values. Built from an `unsupported` layer of an exported spec."""

    def __init__(self, shape: tuple[int, ...], trainable: int, non_trainable: int, buffers: int,
                 op: str = "", where: str = "", reason: str = "") -> None:  # fmt: skip
        super().__init__()
        self.shape = tuple(shape)
        self.op, self.where, self.reason = op, where, reason
        self.trainable = nn.Parameter(torch.zeros(trainable)) if trainable else None
        self.frozen = nn.Parameter(torch.zeros(non_trainable), requires_grad=False) if non_trainable else None
        self.register_buffer("state", torch.zeros(buffers) if buffers else None)

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        batch = xs[0].shape[0] if xs else 1
        device = xs[0].device if xs else None
        return torch.zeros((batch,) + self.shape, device=device)


class SequenceOutput(nn.Module):
    """An nn.LSTM, nn.GRU or nn.RNN (batch first) that returns only its output sequence, as a model writes
    `out, _ = self.lstm(x)`: the final states are dropped. The recurrent module stays a child of its own
    class, so the tools that hook nn.LSTM (thop, ptflops, torchinfo) see it as in any model."""

    def __init__(self, rnn: nn.Module) -> None:
        super().__init__()
        self.rnn = rnn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.rnn(x)[0]


class CellStep(nn.Module):
    """One step of an nn.LSTMCell, nn.GRUCell or nn.RNNCell returning the new hidden state h'. The state
    inputs (h, and c for an LSTM) are optional: without them the cell starts from zeros, as torch does."""

    def __init__(self, cell: nn.Module) -> None:
        super().__init__()
        self.cell = cell

    def forward(self, x: torch.Tensor, *state: torch.Tensor) -> torch.Tensor:
        if not state:
            result = self.cell(x)
        elif isinstance(self.cell, nn.LSTMCell):
            result = self.cell(x, (state[0], state[1]))
        else:
            result = self.cell(x, state[0])
        return result[0] if isinstance(result, tuple) else result
