"""Pooling output sizes against torch on every small case, ceil mode included.

The edge that matters for the zoo: with ceil_mode a window may hang over the end of an input shorter
than itself (GoogLeNet at its 15 px minimum pools a 2x2 map with a 3x3/2 window). archcalc must give
torch's size wherever torch gives one, and refuse (ArchcalcError) exactly where torch refuses.
"""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

from archcalc.analysis import infer_shapes
from archcalc.errors import ArchcalcError
from archcalc.spec import load_spec, load_spec_text

POOLS = {"max_pool2d": nn.MaxPool2d, "avg_pool2d": nn.AvgPool2d}


def _torch_size(pool: str, size: int, kernel: int, stride: int, padding: int, ceil: bool) -> int | None:
    try:
        out = POOLS[pool](kernel, stride, padding, ceil_mode=ceil)(torch.zeros(1, 1, size, size))
    except RuntimeError:
        return None
    return out.shape[-1]


def _archcalc_size(pool: str, size: int, kernel: int, stride: int, padding: int, ceil: bool) -> int | None:
    spec = (f"input: [1, {size}, {size}]\nlayers:\n  - {{name: pool, type: {pool}, kernel: {kernel}, "
            f"stride: {stride}, padding: {padding}, ceil_mode: {str(ceil).lower()}}}\n")  # fmt: skip
    try:
        graph = load_spec_text(spec)
        return infer_shapes(graph)["pool"][-1]
    except ArchcalcError:
        return None


@pytest.mark.parametrize("pool", sorted(POOLS))
def test_pool_sizes_match_torch_on_small_inputs(pool):
    mismatches = []
    for size, kernel, stride, ceil in itertools.product(range(1, 10), range(1, 5), range(1, 4), (False, True)):
        for padding in range(kernel // 2 + 1):
            want = _torch_size(pool, size, kernel, stride, padding, ceil)
            got = _archcalc_size(pool, size, kernel, stride, padding, ceil)
            if want != got:
                mismatches.append((size, kernel, stride, padding, ceil, want, got))
    assert not mismatches, f"(size, kernel, stride, padding, ceil, torch, archcalc): {mismatches[:10]}"


def test_ceil_mode_window_over_a_short_input():
    assert _archcalc_size("max_pool2d", 2, 3, 2, 0, True) == 1 == _torch_size("max_pool2d", 2, 3, 2, 0, True)
    assert _archcalc_size("max_pool2d", 2, 3, 2, 0, False) is None


def test_collapse_error_names_the_window():
    spec = "input: [1, 1, 1]\nlayers: [{type: max_pool2d, kernel: 3, stride: 2, ceil_mode: true}]"
    message = r"window 3 is larger than the padded input 1 \(1 \+ padding 0\+0, ceil mode\)"
    with pytest.raises(ArchcalcError, match=message):
        infer_shapes(load_spec_text(spec))


def test_googlenet_at_torchvision_minimum_size():
    """torchvision's GoogLeNet weights declare min_size 15: maxpool3 then sees a 2x2 map."""
    shapes = infer_shapes(load_spec("googlenet", input_shape=(3, 15, 15)))
    assert shapes["maxpool2"][1:] == (2, 2) and shapes["maxpool3"][1:] == (1, 1)
