"""`archcalc.check` on every built-in spec, on receptive-field corner cases, and its sampling rule."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from archcalc import load_spec, load_spec_text
from archcalc.check import AGREE, DIFFER, NOT_CHECKED, RECEPTIVE_FIELD, CheckOptions, check
from archcalc.check.live import LivePaths
from archcalc.check.receptive import choose_probes
from archcalc.check.results import FLOP_COUNTER, FVCORE, SHAPE
from archcalc.spec import builtin_specs

# Keeps each spec to a few seconds on a shared 2-core machine: small specs are probed layer by layer,
# big ones through the documented sample; fvcore (one real cpu inference) runs on specs up to 2 GMACs,
# FlopCounterMode (on meta) witnesses every spec's MACs whatever its size.
CI = CheckOptions(rf_budget=10**9, fvcore_max_macs=2 * 10**9)


def describe(report) -> str:
    return "; ".join(f"{layer.name}: {v.quantity} archcalc {v.archcalc} torch {v.torch} {v.note}"
                     for layer in report.differing for v in layer.verdicts if v.differs)  # fmt: skip


# Inputs too large for an autograd probe within the CI budget: the receptive fields are also probed at
# a smaller input (the rules do not depend on the size; shapes and counts run at full size on meta).
SMALLER_FOR_PROBES = {"fcn32s": {"size": 224}, "fcn16s": {"size": 224}, "fcn8s": {"size": 224},
                      "vgg16_rpn": {"height": 224, "width": 224},
                      "fast_rcnn_vgg16": {"height": 224, "width": 224, "rois": 4},
                      "r3d_18": (3, 4, 32, 32), "mc3_18": (3, 4, 32, 32), "r2plus1d_18": (3, 4, 32, 32),
                      "c3d": (3, 16, 56, 56), "unet3d": {"depth": 92, "size": 92, "width": 4}}  # fmt: skip
# Probing needs real float64 weights: 5 TB for the giant spec, so its fields stay unprobed (and say so).
UNPROBEABLE = {"stress/giant_vgg"}


def statuses_of(report, quantity) -> set[str]:
    return {v.status for layer in report.layers if (v := layer.verdict(quantity))}


@pytest.mark.parametrize("name", sorted(builtin_specs()))
def test_every_builtin_spec_agrees_with_torch(name):
    report = check(load_spec(name), CI)
    assert report.agrees, describe(report)
    assert statuses_of(report, SHAPE) == {AGREE}  # torch ran every layer
    assert AGREE in statuses_of(report, FLOP_COUNTER)  # every built-in spec has a convolution or a linear layer
    if name in SMALLER_FOR_PROBES:  # variables to --set, or an input shape
        smaller = SMALLER_FOR_PROBES[name]
        graph = load_spec(name, input_shape=smaller) if isinstance(smaller, tuple) else load_spec(name, smaller)
        report = check(graph, CI)
        assert report.agrees, describe(report)
    fields = statuses_of(report, RECEPTIVE_FIELD)
    if name in UNPROBEABLE:
        assert AGREE not in fields and fields <= {"not checked", "skip"}
    elif fields:
        assert AGREE in fields  # at least one field was really probed


RF_CORNERS = """
name: rf_corners
input: [4, 23, 19]
layers:
  - {name: asym, type: conv2d, out_channels: 4, kernel: [3, 2], padding: [2, 0, 1, 0], padding_mode: reflect}
  - {name: dilated, type: conv2d, out_channels: 6, kernel: 3, dilation: [2, 3], padding: 1, groups: 2}
  - {name: pool, type: max_pool2d, kernel: 3, stride: 2, padding: 1, dilation: 2, ceil_mode: true}
  - {name: bn, type: batchnorm}
  - {name: act, type: hardswish}
  - {name: branch_a, type: conv2d, out_channels: 4, kernel: 1, inputs: [act]}
  - {name: branch_b, type: conv2d, out_channels: 4, kernel: 5, padding: 2, inputs: [act]}
  - {name: branch_c, type: avg_pool2d, kernel: 3, stride: 1, padding: 1, inputs: [act]}
  - {name: cat, type: concat, inputs: [branch_a, branch_b, branch_c]}
  - {name: shifted, type: pad, padding: [0, 2, 3, 0], mode: replicate}
  - {name: deconv, type: conv_transpose2d, out_channels: 3, kernel: 3, padding: 1}
  - {name: same, type: conv2d, out_channels: 3, kernel: 4, stride: 2, padding: same}
  - {name: skip, type: conv2d, out_channels: 3, kernel: 1, inputs: [same]}
  - {name: sum, type: add, inputs: [same, skip]}
  - {name: relu, type: relu}
  - {name: gn, type: groupnorm, groups: 3}
  - {name: adaptive, type: adaptive_max_pool2d, output_size: [2, 5]}
  - {name: global, type: global_avg_pool}
"""


def test_receptive_fields_of_corner_cases_match_autograd():
    graph = load_spec_text(RF_CORNERS)
    report = check(graph, CheckOptions(rf_budget=None, fvcore=False))
    assert report.agrees, describe(report)
    probed = [l.name for l in report.layers if (v := l.verdict(RECEPTIVE_FIELD)) and v.status == AGREE]
    assert probed == [node.name for node in graph.nodes]  # every layer here has a field, and each was probed


def test_a_field_that_ends_in_padding_is_empty_on_both_sides():
    # A 1x1 input padded only below and right: the centre output (2, 2) reads padding and nothing else.
    text = """
    input: [1, 1, 1]
    layers:
      - {name: corner, type: conv2d, out_channels: 1, kernel: 1, padding: [0, 4, 0, 4]}
      - {name: after, type: conv2d, out_channels: 1, kernel: 1}
    """
    report = check(load_spec_text(text), CheckOptions(rf_budget=None, fvcore=False))
    for name in ("corner", "after"):
        verdict = report.layer(name).verdict(RECEPTIVE_FIELD)
        assert verdict.status == AGREE and verdict.archcalc == [] and verdict.torch == []


@pytest.mark.parametrize("kernel, stride, padding, dilation, ceil",
                         [(3, 2, 1, 1, True), (2, 2, 0, 1, False), (3, 3, 1, 1, True), (4, 1, 2, 1, False),
                          (3, 2, 1, 2, False), (2, 3, 1, 3, True), ((3, 2), (1, 2), (1, 0), (2, 1), True)])  # fmt: skip
def test_live_max_pool_averages_the_same_windows(kernel, stride, padding, dilation, ceil):
    x = torch.rand(2, 3, 11, 10, dtype=torch.float64)
    with LivePaths() as live:
        averaged = F.max_pool2d(x, kernel, stride, padding, dilation, ceil)
    assert live.swapped == 1
    assert averaged.shape == F.max_pool2d(x, kernel, stride, padding, dilation, ceil).shape
    k = kernel if isinstance(kernel, tuple) else (kernel, kernel)
    weights = torch.full((3, 1) + k, 1.0 / (k[0] * k[1]), dtype=torch.float64)
    pad = padding if isinstance(padding, tuple) else (padding, padding)
    # Brute force: zero-pad generously, convolve with equal weights, keep torch's output size.
    padded = F.pad(x, (pad[1], 3 * max(k), pad[0], 3 * max(k)))
    expected = F.conv2d(padded, weights, None, stride, 0, dilation, 3)[..., : averaged.shape[2], : averaged.shape[3]]
    assert torch.allclose(averaged, expected)


def test_probe_sample_covers_each_geometry_then_the_deepest_that_fit():
    candidates = ["a", "b", "c", "d", "e"]
    cost = {"a": 1, "b": 2, "c": 3, "d": 10, "e": 11}
    geometry = {"a": "conv", "b": "relu", "c": "conv", "d": "pool", "e": "relu"}
    assert choose_probes(candidates, cost, geometry, None) == candidates
    assert choose_probes(candidates, cost, geometry, 1000) == candidates
    # a, b, d cover the three geometries: forward 10 + backward 13 = 23. Then, deepest first: e would
    # make it 11 + 24 = 35, c 10 + 16 = 26.
    assert choose_probes(candidates, cost, geometry, 25) == ["a", "b", "d"]
    assert choose_probes(candidates, cost, geometry, 30) == ["a", "b", "c", "d"]
    assert choose_probes(candidates, cost, geometry, 36) == ["a", "b", "d", "e"]
    assert choose_probes(candidates, cost, geometry, 4) == ["a"]


def test_a_spec_far_larger_than_ram_checks_on_meta():
    # 10^12 parameters (4 TB in float32): meta allocates nothing; fvcore, which needs real tensors, is skipped.
    text = """
    input: [1000000]
    layers:
      - {name: huge, type: linear, out_features: 1000000}
      - {name: act, type: gelu}
    """
    report = check(load_spec_text(text))
    assert report.agrees, describe(report)
    huge = report.layer("huge")
    assert huge.verdict(FLOP_COUNTER).status == AGREE and huge.verdict(FLOP_COUNTER).torch == 4 * 10**12
    assert huge.verdict(FVCORE).status == NOT_CHECKED and any("fvcore not run" in n for n in report.notes)


def test_real_tensors_on_cpu_agree_too():
    report = check(load_spec("examples/depthwise_separable"), CheckOptions(device="cpu"))
    assert report.agrees and report.device == "cpu", describe(report)


def test_a_layer_torch_rejects_is_a_disagreement(monkeypatch):
    from archcalc.layers import REGISTRY

    conv = REGISTRY["conv2d"]
    monkeypatch.setattr(conv, "build_torch", lambda a, ins, out: torch.nn.Conv2d(ins[0][0], a["out_channels"], 999))
    report = check(load_spec("examples/stacked_3x3"))
    assert not report.agrees
    first = report.differing[0]
    assert first.verdict("torch_runs").status == DIFFER and "torch rejects" in first.verdict("torch_runs").note


def test_a_layer_torch_cannot_build_stops_the_check_there(monkeypatch):
    from archcalc.layers import REGISTRY

    def refuse(a, ins, out):
        raise ValueError("in_channels must be divisible by groups")

    monkeypatch.setattr(REGISTRY["relu"], "build_torch", refuse)
    report = check(load_spec("examples/stem_7x7"))
    assert [layer.name for layer in report.differing] == ["relu"]
    assert "torch rejects this layer (build): in_channels must be divisible" in report.layer("relu").verdict(
        "torch_runs").note  # fmt: skip
    assert report.layer("conv").verdict(SHAPE).status == NOT_CHECKED
