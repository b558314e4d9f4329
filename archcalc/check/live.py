"""Make every path of a module live, so the support of an input gradient is its receptive field.

A gradient can be zero where a path exists: max pooling sends it to one element per window, ReLU-like
ops stop it where they are flat, normalisation statistics and signed weights can cancel it. For the
receptive-field probe, while `LivePaths()` is active (a TorchFunctionMode, so torch's own builders
and modules run unchanged; only these functional calls are swapped):

- max pooling (1, 2 or 3 spatial axes) becomes an average over exactly the same windows (kernel, stride, padding, dilation and
  ceil mode, the output size taken from torch's own max pool); adaptive max pooling becomes adaptive
  average pooling (torch uses the same windows for both);
- ReLU-like activations with flat regions become the identity;
- batch, instance, layer, group, RMS and local-response norms become the identity (archcalc treats
  normalisation as position-wise, as Araujo et al. do);
- padding keeps its geometry but its content becomes zero (-inf for max pooling, reflected or
  replicated pixels): the receptive field counts input positions the windows reach, not pixels
  reused to fill the border.

`fill_positive` sets every weight to a positive constant (1 / fan-in) so nothing cancels, and the probe
runs in float64 with an input of ones, so values stay near 1 and the gradient never underflows.
"""

from __future__ import annotations

import itertools
import math
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode


def _per_axis(value: Any, rank: int) -> tuple[int, ...]:
    if isinstance(value, (list, tuple)):
        return tuple(int(item) for item in value) if len(value) == rank else (int(value[0]),) * rank
    return (int(value),) * rank


def _input(args: tuple, kwargs: dict) -> torch.Tensor:
    return args[0] if args else kwargs["input"]


def _identity(*args: Any, **kwargs: Any) -> torch.Tensor:
    return _input(args, kwargs)


def _average_like_max_pool(rank: int) -> Callable:
    """F.max_poolNd swapped for the mean over exactly the windows it would use, summed tap by tap over
    strided views (any number of spatial axes)."""

    def pool(input: torch.Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
             ceil_mode: bool = False, return_indices: bool = False) -> Any:  # fmt: skip
        if input.dim() != rank + 2 or return_indices:
            raise NotImplementedError(f"the receptive-field probe swaps only batched max_pool{rank}d without indices")
        kernel = _per_axis(kernel_size, rank)
        step = _per_axis(stride, rank) if stride not in (None, [], ()) else kernel
        pad, dil = _per_axis(padding, rank), _per_axis(dilation, rank)
        original = getattr(F, f"max_pool{rank}d")
        reference = original(torch.empty(input.shape, device="meta"), kernel, step, pad, dil, ceil_mode)
        out = tuple(reference.shape[2:])
        # Window i starts at i * stride - pad: pad before by `pad`, after by whatever the last window needs.
        need = [(size - 1) * s + d * (k - 1) + 1 for size, s, d, k in zip(out, step, dil, kernel)]
        after = [max(0, n - length - p) for n, length, p in zip(need, input.shape[2:], pad)]
        sides = [side for axis in reversed(range(rank)) for side in (pad[axis], after[axis])]
        padded = F.pad(input, sides)
        total = torch.zeros(input.shape[:2] + out, dtype=input.dtype, device=input.device)
        for taps in itertools.product(*(range(k) for k in kernel)):
            window = tuple(slice(t * d, t * d + n - d * (k - 1), s)
                           for t, d, n, k, s in zip(taps, dil, need, kernel, step))  # fmt: skip
            total = total + padded[(slice(None), slice(None)) + window]
        return total / math.prod(kernel)

    return pool


def _average_like_adaptive_max(rank: int) -> Callable:
    def pool(input: torch.Tensor, output_size: Any, return_indices: bool = False) -> Any:
        return getattr(F, f"adaptive_avg_pool{rank}d")(input, output_size)

    return pool


def _zero_padding(input: torch.Tensor, pad: Any, mode: str = "constant", value: float | None = None) -> torch.Tensor:
    return F.pad(input, pad, "constant", 0.0)


_SWAPS: dict[Callable, Callable] = {F.pad: _zero_padding}
for _rank in (1, 2, 3):
    _SWAPS[getattr(F, f"max_pool{_rank}d")] = _average_like_max_pool(_rank)
    _SWAPS[getattr(F, f"adaptive_max_pool{_rank}d")] = _average_like_adaptive_max(_rank)
for _flat in ("relu", "relu_", "relu6", "hardtanh", "hardtanh_", "threshold", "threshold_", "hardsigmoid",
              "hardswish", "hardshrink", "softshrink", "rrelu", "rrelu_", "batch_norm", "instance_norm",
              "layer_norm", "group_norm", "rms_norm", "local_response_norm"):  # fmt: skip
    if hasattr(F, _flat):
        _SWAPS[getattr(F, _flat)] = _identity


class LivePaths(TorchFunctionMode):
    """Swap the functional calls above while active; count how many were swapped."""

    def __init__(self) -> None:
        super().__init__()
        self.swapped = 0

    def __torch_function__(self, func: Callable, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        swap = _SWAPS.get(func)
        if swap is None:
            return func(*args, **(kwargs or {}))
        self.swapped += 1
        return swap(*args, **(kwargs or {}))


@torch.no_grad()
def fill_positive(module: torch.nn.Module) -> None:
    """Every floating parameter 1 / fan-in (1 for vectors), every floating buffer 1; nothing learns."""
    for parameter in module.parameters():
        fan_in = parameter.numel() // parameter.shape[0] if parameter.dim() >= 2 else 1
        parameter.fill_(1.0 / max(fan_in, 1))
        parameter.requires_grad_(False)
    for buffer in module.buffers():
        buffer.fill_(1)
