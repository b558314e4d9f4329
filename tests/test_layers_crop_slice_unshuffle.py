"""Per-rule tests of the layer types added for the zoo (crop, slice, pixel_unshuffle) and of
conv_transpose2d's `trainable` attribute: shape, params, cost and receptive field against torch.

Each row is one layer on one input; the layer is analysed as a one-layer spec and built with its
registry torch builder, then run on a real tensor. The receptive field is witnessed by autograd: the
input pixels whose gradient is non-zero for one output position.
"""

from __future__ import annotations

import pytest
import torch

from archcalc.analysis import analyse
from archcalc.errors import ArchcalcError
from archcalc.spec import load_spec_text
from archcalc.torch_build import build_module

# (layer line, input shape, expected output shape)
CASES = [
    ("{type: crop, size: [4, 6]}", [3, 8, 9], [3, 4, 6]),                  # centred: offset (2, 1)
    ("{type: crop, size: [5, 5], offset: [0, 3]}", [2, 7, 8], [2, 5, 5]),
    ("{type: crop, size: 7, offset: 0}", [1, 7, 7], [1, 7, 7]),             # the whole map
    ("{type: slice, end: 3}", [8, 5, 5], [3, 5, 5]),                       # ShuffleNet's first half
    ("{type: slice, start: 4}", [8, 5, 5], [4, 5, 5]),                     # ... and second half
    ("{type: slice, axis: 1, start: 2, end: 5}", [2, 9, 6], [2, 3, 6]),    # rows 2..4
    ("{type: slice, axis: 2, start: 1}", [2, 4, 6], [2, 4, 5]),
    ("{type: slice, start: 2, end: 5}", [10], [3]),                         # a feature vector
    ("{type: pixel_unshuffle, downscale: 2}", [3, 8, 6], [12, 4, 3]),      # YOLOv2's reorg
    ("{type: pixel_unshuffle, stride: 3}", [2, 6, 9], [18, 2, 3]),
]


def one_layer(line: str, shape: list[int]):
    return load_spec_text(f"input: {shape}\nlayers:\n  - {line}\n", "layer")


@pytest.mark.parametrize("line, shape, expected", CASES, ids=[c[0] for c in CASES])
def test_rule_matches_torch(line, shape, expected):
    graph = one_layer(line, shape)
    layer = analyse(graph).layers[0]
    module = build_module(graph, device="cpu")
    x = torch.randn([1] + shape, requires_grad=True)
    out = module(x)
    assert layer.output_shape == expected == list(out.shape[1:])
    assert layer.params == sum(p.numel() for p in module.parameters()) == 0
    assert (layer.macs, layer.flops, layer.connections) == (0, 0, 0)  # they only select data
    if len(shape) == 3 and layer.receptive_field is not None:
        y, x_pos = out.shape[2] // 2, out.shape[3] // 2
        out[:, :, y, x_pos].sum().backward()
        rows, cols = torch.nonzero(x.grad[0].abs().sum(0), as_tuple=True)
        stride, padding = layer.effective_stride, layer.effective_padding
        assert rows.min().item() == y * stride[0] - padding[0]
        assert cols.min().item() == x_pos * stride[1] - padding[1]
        assert [rows.max().item() - rows.min().item() + 1, cols.max().item() - cols.min().item() + 1] == \
            layer.receptive_field  # fmt: skip


def test_crop_keeps_the_centre_and_the_offset_window():
    x = torch.arange(2 * 8 * 9, dtype=torch.float32).view(1, 2, 8, 9)
    centred = build_module(one_layer("{type: crop, size: [4, 6]}", [2, 8, 9]), device="cpu")(x)
    assert torch.equal(centred, x[:, :, 2:6, 1:7])
    shifted = build_module(one_layer("{type: crop, size: [4, 6], offset: [3, 0]}", [2, 8, 9]), device="cpu")(x)
    assert torch.equal(shifted, x[:, :, 3:7, 0:6])


@pytest.mark.parametrize("line, shape, message", [
    ("{type: crop, size: [9, 4]}", [1, 8, 8], "height window of 9"),
    ("{type: crop, size: 4, offset: [0, 5]}", [1, 8, 8], "width window of 4 at offset 5"),
    ("{type: slice, start: 4, end: 4}", [8, 2, 2], "do not fit axis 0"),
    ("{type: slice, end: 9}", [8, 2, 2], "do not fit axis 0 of size 8"),
    ("{type: slice, axis: 3}", [8, 2, 2], "axis 3 is out of range"),
    ("{type: pixel_unshuffle, downscale: 2}", [1, 5, 4], "not divisible by 2"),
])  # fmt: skip
def test_bad_geometry_is_a_clear_error(line, shape, message):
    with pytest.raises(ArchcalcError, match=message):
        analyse(one_layer(line, shape))


@pytest.mark.parametrize("trainable", [True, False])
def test_conv_transpose2d_trainable_flag_moves_its_params(trainable):
    line = f"{{type: conv_transpose2d, out_channels: 4, kernel: 4, stride: 2, trainable: {str(trainable).lower()}}}"
    graph = one_layer(line, [3, 5, 5])
    layer = analyse(graph).layers[0]
    module = build_module(graph, device="cpu")
    total = 3 * 4 * 4 * 4 + 4
    assert layer.params == total == sum(p.numel() for p in module.parameters())
    grad = sum(p.numel() for p in module.parameters() if p.requires_grad)
    assert (layer.trainable_params, layer.non_trainable_params) == (grad, total - grad)
    assert layer.trainable_params == (total if trainable else 0)
