"""`archcalc check` on 1-D and 3-D specs: shapes, params, MACs against FlopCounterMode and fvcore, and the
receptive field of every layer by autograd along the one or three spatial axes."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from archcalc import load_spec_text
from archcalc.check import AGREE, RECEPTIVE_FIELD, CheckOptions, check
from archcalc.check.live import LivePaths
from archcalc.check.results import FLOP_COUNTER, FVCORE

AUDIO_CORNERS = """
name: audio_corners
input: [2, 61]
layers:
  - {name: asym, type: conv1d, out_channels: 4, kernel: 4, padding: [3, 0], padding_mode: reflect}
  - {name: dilated, type: conv1d, out_channels: 6, kernel: 3, dilation: 4, padding: 2, groups: 2, stride: 2}
  - {name: pool, type: max_pool1d, kernel: 3, stride: 2, padding: 1, dilation: 2, ceil_mode: true}
  - {name: bn, type: batchnorm1d}
  - {name: act, type: relu}
  - {name: branch_a, type: conv1d, out_channels: 4, kernel: 1, inputs: [act]}
  - {name: branch_b, type: avg_pool1d, kernel: 3, stride: 1, padding: 1, inputs: [act]}
  - {name: cat, type: concat, inputs: [branch_a, branch_b]}
  - {name: shifted, type: pad1d, padding: [2, 0], mode: replicate}
  - {name: deconv, type: conv_transpose1d, out_channels: 3, kernel: 3, padding: 1}
  - {name: same, type: conv1d, out_channels: 3, kernel: 4, stride: 2, padding: same}
  - {name: skip, type: conv1d, out_channels: 3, kernel: 1, inputs: [same]}
  - {name: sum, type: add, inputs: [same, skip]}
  - {name: crop, type: crop, size: 5}
  - {name: adaptive, type: adaptive_max_pool1d, output_size: 1}
  - {name: global, type: global_avg_pool}
"""

VIDEO_CORNERS = """
name: video_corners
input: [2, 7, 11, 10]
layers:
  - {name: spatial, type: conv3d, out_channels: 4, kernel: [1, 3, 3], stride: [1, 2, 2], padding: [0, 1, 1]}
  - {name: temporal, type: conv3d, out_channels: 4, kernel: [3, 1, 1], padding: [2, 0, 0, 0, 0, 0]}
  - {name: dilated, type: conv3d, out_channels: 4, kernel: 2, dilation: [1, 2, 1], padding_mode: circular,
     padding: 1, groups: 4}
  - {name: pool, type: max_pool3d, kernel: [1, 3, 2], stride: [1, 2, 1], padding: [0, 1, 1], ceil_mode: true}
  - {name: bn, type: batchnorm3d}
  - {name: act, type: relu}
  - {name: padded, type: pad3d, padding: [1, 0, 0, 2, 1, 1], mode: replicate}
  - {name: avg, type: avg_pool3d, kernel: 2, stride: 1}
  - {name: inorm, type: instancenorm3d, affine: true}
  - {name: branch, type: conv3d, out_channels: 4, kernel: 1, inputs: [inorm]}
  - {name: sum, type: add, inputs: [inorm, branch]}
  - {name: deconv, type: conv_transpose3d, out_channels: 2, kernel: 3, padding: 1}
  - {name: crop, type: crop, size: [3, 4, 5]}
  - {name: slice, type: slice, axis: 2, start: 1}
  - {name: adaptive, type: adaptive_avg_pool3d, output_size: [1, 3, 1]}
  - {name: global, type: global_max_pool}
"""


@pytest.mark.parametrize("text", [AUDIO_CORNERS, VIDEO_CORNERS], ids=["1-D", "3-D"])
def test_every_receptive_field_matches_autograd(text):
    graph = load_spec_text(text)
    report = check(graph, CheckOptions(rf_budget=None))
    assert report.agrees, [(layer.name, v) for layer in report.differing for v in layer.verdicts if v.differs]
    probed = [l.name for l in report.layers if (v := l.verdict(RECEPTIVE_FIELD)) and v.status == AGREE]
    assert probed == [node.name for node in graph.nodes]  # every layer here has a field, and each was probed
    rank = len(graph.input_shape) - 1
    assert all(len(report.layer(name).verdict(RECEPTIVE_FIELD).archcalc) in (0, rank) for name in probed)
    for name in ("asym", "deconv") if rank == 1 else ("spatial", "deconv"):
        assert report.layer(name).verdict(FLOP_COUNTER).status == AGREE
        assert report.layer(name).verdict(FVCORE).status == AGREE


@pytest.mark.parametrize("rank, kernel, stride, padding, dilation, ceil",
                         [(1, 3, 2, 1, 2, True), (1, 4, 3, 2, 1, False),
                          (3, 2, 2, 1, 1, True), (3, (1, 3, 2), (1, 2, 1), (0, 1, 1), (1, 1, 2), False)])  # fmt: skip
def test_live_max_pool_of_any_rank_averages_the_same_windows(rank, kernel, stride, padding, dilation, ceil):
    x = torch.rand((2, 3) + (9,) * rank, dtype=torch.float64)
    pool = getattr(F, f"max_pool{rank}d")
    with LivePaths() as live:
        averaged = pool(x, kernel, stride, padding, dilation, ceil)
    assert live.swapped == 1
    assert averaged.shape == pool(x, kernel, stride, padding, dilation, ceil).shape
    k = kernel if isinstance(kernel, tuple) else (kernel,) * rank
    pad = padding if isinstance(padding, tuple) else (padding,) * rank
    weights = torch.full((3, 1) + k, 1.0 / torch.tensor(k).prod().item(), dtype=torch.float64)
    extra = [side for p in reversed(pad) for side in (p, 3 * max(k))]
    conv = getattr(F, f"conv{rank}d")
    expected = conv(F.pad(x, extra), weights, None, stride, 0, dilation, 3)
    expected = expected[(slice(None), slice(None)) + tuple(slice(0, size) for size in averaged.shape[2:])]
    assert torch.allclose(averaged, expected)
