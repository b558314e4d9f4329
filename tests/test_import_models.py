"""Importing hand-written torch models: functional ops, residuals, concat, unsupported operations, the
hook fallback, user rules, and torchvision's ResNet against its published numbers."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from archcalc import ArchcalcError, analyse, load_spec_text
from archcalc.importer import CannotMap, ImportRule, import_model, register_import, unregister_import
from archcalc.spec.export import export_spec, graph_difference
from tests.models import assorted, handmade, resnet
from tests.test_import_roundtrip import assert_same_analysis


def torch_counts(factory, shape) -> tuple[int, int]:
    """(parameters, MACs) as torch sees them: numel, and FlopCounterMode's conv/matmul FLOPs / 2."""
    with torch.device("meta"):
        model = factory().eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.empty((1,) + shape, device="meta"))
    return sum(p.numel() for p in model.parameters()), counter.get_total_flops() // 2


class Lambda(nn.Module):
    def __init__(self, fn) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


# (id, forward, input shape, the spec layers it must equal)
FUNCTIONAL = [
    ("torch.add", lambda x: torch.add(x, x), (2, 4, 4), "{type: add, inputs: [input, input]}"),
    ("plus", lambda x: x + F.relu(x), (2, 4, 4), "{type: relu}, {type: add, inputs: [input, '0']}"),
    ("times", lambda x: x * torch.sigmoid(x), (2, 4, 4), "{type: sigmoid}, {type: mul, inputs: [input, '0']}"),
    ("cat", lambda x: torch.cat([x, x], dim=1), (2, 4, 4), "{type: concat, inputs: [input, input]}"),
    ("cat-last", lambda x: torch.cat((x, x), -1), (2, 4, 4), "{type: concat, axis: -1, inputs: [input, input]}"),
    ("F.relu", lambda x: F.relu(x, inplace=True), (2, 4, 4), "{type: relu}"),
    ("relu-method", lambda x: x.relu(), (2, 4, 4), "{type: relu}"),
    ("gelu-tanh", lambda x: F.gelu(x, approximate="tanh"), (5,), "{type: gelu, approximate: tanh}"),
    ("leaky", lambda x: F.leaky_relu(x, 0.2), (2, 4, 4), "{type: leaky_relu, negative_slope: 0.2}"),
    ("softmax", lambda x: x.softmax(dim=-1), (3, 5), "{type: softmax, axis: -1}"),
    ("flatten", lambda x: torch.flatten(x, 1), (2, 4, 4), "{type: flatten}"),
    ("view", lambda x: x.view(x.size(0), -1), (2, 4, 4), "{type: reshape, shape: [32]}"),
    ("reshape", lambda x: x.reshape(-1, 8, 4), (2, 4, 4), "{type: reshape, shape: [8, 4]}"),
    ("mean", lambda x: x.mean((2, 3)), (2, 4, 5), "{type: global_avg_pool, keep_dims: false}"),
    ("mean-keepdim", lambda x: x.mean([-1, -2], keepdim=True), (2, 4, 5), "{type: global_avg_pool}"),
    ("amax", lambda x: torch.amax(x, dim=(2, 3)), (2, 4, 5), "{type: global_max_pool, keep_dims: false}"),
    ("adaptive-1", lambda x: F.adaptive_avg_pool2d(x, 1), (2, 4, 5), "{type: global_avg_pool}"),
    ("adaptive-2", lambda x: F.adaptive_max_pool2d(x, (2, 1)), (2, 4, 5),
     "{type: adaptive_max_pool2d, output_size: [2, 1]}"),
    ("interpolate-nearest", lambda x: F.interpolate(x, scale_factor=2), (2, 3, 4), "{type: upsample, scale: 2}"),
    ("interpolate-bilinear", lambda x: F.interpolate(x, size=(5, 7), mode="bilinear", align_corners=True),
     (2, 3, 4), "{type: upsample, size: [5, 7], mode: bilinear, align_corners: true}"),
    ("max_pool2d", lambda x: F.max_pool2d(x, 3, 2, 1), (2, 7, 7),
     "{type: max_pool2d, kernel: 3, stride: 2, padding: 1}"),
    ("avg_pool2d", lambda x: F.avg_pool2d(x, 2), (2, 6, 6), "{type: avg_pool2d, kernel: 2}"),
    ("pad", lambda x: F.pad(x, (1, 2, 3, 4)), (2, 4, 4), "{type: pad, padding: [3, 4, 1, 2]}"),
    ("pad-reflect", lambda x: F.pad(x, (1, 1, 1, 1), mode="reflect"), (2, 4, 4),
     "{type: pad, padding: 1, mode: reflect}"),
    ("dropout", lambda x: F.dropout(x, 0.2, training=False), (2, 4, 4), "{type: dropout, p: 0.2}"),
    ("pixel_shuffle", lambda x: F.pixel_shuffle(x, 2), (8, 3, 3), "{type: pixel_shuffle, upscale: 2}"),
    ("contiguous", lambda x: x.contiguous(), (2, 4, 4), "{type: identity}"),
    ("scalar-add", lambda x: x + 1, (2, 4, 4), "{type: scalar, op: add, value: 1}"),
    ("scalar-rsub", lambda x: 1 - x, (2, 4, 4), "{type: scalar, op: sub, value: 1, side: left}"),
    ("rsqrt", lambda x: torch.rsqrt(x), (2, 4, 4), "{type: rsqrt}"),
    # one of the four sub-grids Swin's patch merging interleaves (transformers' SwinPatchMerging)
    ("strided-slice-offset", lambda x: x[:, :, 1::2, 0::2], (2, 5, 4),
     "{type: strided_slice, axis: 1, steps: [2, 2], starts: [1, 0]}"),
]


@pytest.mark.parametrize("fn, shape, layers", [c[1:] for c in FUNCTIONAL], ids=[c[0] for c in FUNCTIONAL])
def test_functional_op_maps_to_its_layer_type(fn, shape, layers):
    imported = import_model(Lambda(fn), shape).graph
    expected = load_spec_text(f"{{input: {list(shape)}, layers: [{layers}]}}")
    assert_same_analysis(expected, imported, ignore=("line", "attributes", "name", "inputs"))
    assert analyse(imported).complete


UNSUPPORTED = [
    ("floor-div", lambda x: x // 2, "operator.floordiv", "no import rule"),
    ("strided-slice-stop", lambda x: x[:, 1:3:2], "operator.getitem", "other than one integer"),
    ("alpha", lambda x: torch.add(x, x, alpha=2), "torch.add", "scales the second operand"),
    ("batch-swap", lambda x: x.transpose(0, 1), "torch.Tensor.transpose", "batch axis"),
    ("cumsum", lambda x: torch.cumsum(x, 1), "torch.cumsum", "no import rule"),
    ("area", lambda x: F.interpolate(x, scale_factor=2, mode="area"), "torch.nn.functional.interpolate",
     "mode 'area'"),
]


@pytest.mark.parametrize("fn, op, reason", [c[1:] for c in UNSUPPORTED], ids=[c[0] for c in UNSUPPORTED])
def test_unmappable_call_is_listed_never_dropped(fn, op, reason):
    report = analyse(import_model(Lambda(fn), (2, 4, 4)).graph)
    assert not report.complete
    [gap] = report.unsupported
    assert gap.op == op and reason in gap.reason and "test_import_models.py:" in gap.where
    assert report.layer(gap.name).type == "unsupported"


def test_handmade_model_counts_everything_it_can_and_lists_the_rest():
    result = import_model(handmade.build, (3, 16, 16))
    report = analyse(result.graph)
    expected = analyse(load_spec_text(handmade.HANDNET_SPEC))
    counted = [layer for layer in report.layers if layer.type != "unsupported"]
    assert [layer.name for layer in counted] == [layer.name for layer in expected.layers]
    for mine, theirs in zip(counted, expected.layers):
        for key in ("type", "output_shape", "params", "buffers", "macs", "flops", "connections", "activations"):
            assert getattr(mine, key) == getattr(theirs, key), (mine.name, key)
    assert [(g.name, g.op) for g in report.unsupported] == [("flip", "torch.flip")]
    assert all("handmade.py:" in gap.where for gap in report.unsupported)
    assert report.layer("mul").params == 24  # the learned [1, C, 1, 1] scale: a layer_scale
    params, macs = torch_counts(handmade.build, (3, 16, 16))
    assert (report.totals.params, report.totals.macs) == (params, macs) == (expected.totals.params,
                                                                            expected.totals.macs)  # fmt: skip
    assert not report.complete and report.totals.flops == expected.totals.flops


@pytest.mark.parametrize("factory, params, macs", [(resnet.resnet18, 11_689_512, 1_814_073_344),
                                                   (resnet.resnet50, 25_557_032, 4_089_184_256)])  # fmt: skip
def test_torchvision_resnet_matches_torch_and_its_model_card(factory, params, macs):
    result = import_model(factory, (3, 224, 224))
    report = analyse(result.graph)
    assert report.complete and result.method == "torch.fx"
    assert (report.totals.params, report.totals.macs) == torch_counts(factory, (3, 224, 224)) == (params, macs)
    assert report.depth == (18 if factory is resnet.resnet18 else 50)
    text = export_spec(result.graph, result.labels)
    assert graph_difference(result.graph, load_spec_text(text)) is None
    # One block for every residual block, its downsample branch kept under `when`, one repeat per stage.
    block = "BasicBlock" if factory is resnet.resnet18 else "Bottleneck"
    assert text.count("params:") == 2 and f"  {block}:" in text and "when: has_downsample" in text
    stages = [line for line in text.splitlines() if line.startswith("  - {name: layer")]
    assert len(stages) == 4 and all(f"block: {block}, repeat: " in line for line in stages)
    assert "has_downsample: '[True, False, False, False][i]'" in text or factory is resnet.resnet18


ASSORTED = [(assorted.MobileNetLike, (3, 32, 32)), (assorted.DenseNetLike, (3, 16, 16)),
            (assorted.UNetLike, (3, 16, 16)), (assorted.InceptionLike, (3, 8, 8))]  # fmt: skip


@pytest.mark.parametrize("factory, shape", ASSORTED, ids=[factory.__name__ for factory, _ in ASSORTED])
def test_assorted_architectures_match_torch(factory, shape):
    result = import_model(factory, shape)
    report = analyse(result.graph)
    assert report.complete and result.method == "torch.fx" and not result.notes
    assert (report.totals.params, report.totals.macs) == torch_counts(factory, shape)
    assert graph_difference(result.graph, load_spec_text(export_spec(result.graph, result.labels))) is None


def test_transformer_block_maps_its_attention_ops():
    """chunk (three slices), transpose and the two matmuls of a hand-written attention all map (issue 16)."""
    result = import_model(assorted.TransformerBlock, (10, 16))
    report = analyse(result.graph)
    assert report.complete
    types = [layer.type for layer in report.layers]
    assert types.count("slice") == 3 and types.count("matmul") == 2 and "transpose" in types
    params, macs = torch_counts(assorted.TransformerBlock, (10, 16))
    attention = 2 * 10 * 10 * 16  # q @ k^T and a @ v
    assert report.totals.params == params and report.totals.macs == macs
    assert sum(layer.macs for layer in report.layers if layer.type == "matmul") == attention


def test_export_repeats_numbered_instances_of_one_block():
    result = import_model(handmade.build, (3, 16, 16))
    text = export_spec(result.graph, result.labels)
    assert "{name: blocks, block: Residual, repeat: 2}" in text
    assert "type: unsupported" in text  # the loaded spec stays incomplete
    loaded = load_spec_text(text)
    assert graph_difference(result.graph, loaded) is None and not analyse(loaded).complete


def test_value_dependent_model_falls_back_to_hooks_on_the_cpu():
    result = import_model(handmade.BranchesOnValues, (3, 8, 8))
    assert result.method == "forward hooks"
    assert any("torch.fx could not trace" in note for note in result.notes)
    assert any("built it on the CPU" in note for note in result.notes)
    assert any("20 parameter and buffer elements" in note for note in result.notes)  # self.unused
    report = analyse(result.graph)
    assert [layer.type for layer in report.layers if layer.type != "unsupported"] == ["conv2d", "relu", "conv2d"]
    assert report.layer("extra").macs == 8 * 9 * 8 * 64
    assert {gap.op for gap in report.unsupported} == {"torch.Tensor.sum", "torch.Tensor.ge"}  # the branch test


def test_value_dependent_model_is_refused_when_too_large_for_the_cpu():
    with pytest.raises(ArchcalcError, match=r"too large to run on the CPU instead \(2,400,000,000 elements\)"):
        import_model(handmade.BranchesOnValues, (3, 20_000, 20_000))
    with torch.device("meta"):
        built = handmade.BranchesOnValues()
    with pytest.raises(ArchcalcError, match="give a factory instead of a built module"):
        import_model(built, (3, 8, 8))


def test_shape_dependent_model_falls_back_to_hooks_on_the_meta_device():
    result = import_model(handmade.ShapeBranch, (3, 16, 16))
    assert result.method == "forward hooks" and not any("CPU" in note for note in result.notes)
    report = analyse(result.graph)
    assert [(layer.name, layer.output_shape) for layer in report.layers] == [
        ("conv", [8, 16, 16]), ("pool", [8, 8, 8]), ("pool_1", [8, 4, 4]), ("add", [8, 4, 4])]  # fmt: skip
    assert report.layer("add").inputs == ["pool_1", "pool_1"] and report.complete


def test_hooks_list_what_they_cannot_place():
    result = import_model(handmade.HiddenTensor, (3, 8, 8))
    report = analyse(result.graph)
    assert result.method == "forward hooks" and result.graph.source.endswith("with forward hooks")
    gaps = [(gap.name, gap.op) for gap in report.unsupported]
    assert gaps == [("add", "torch.Tensor.add"), ("relu", "torch.ops.aten.relu")]
    assert report.unsupported[0].reason.startswith("cannot place it in the graph")
    assert report.layer("relu").inputs == ["add"] and report.layer("conv").macs == 4 * 3 * 64


def test_a_user_rule_maps_a_custom_module():
    before = analyse(import_model(handmade.UsesScaledConv, (3, 8, 8)).graph)
    assert "conv.conv2d" in {gap.name for gap in before.unsupported}

    def read(call):
        if call.module.k % 2 == 0:
            raise CannotMap("even kernels pad unevenly")
        return {"out_channels": call.module.weight.shape[0], "kernel": call.module.k, "padding": call.module.k // 2,
                "bias": False}  # fmt: skip

    rule = register_import(ImportRule("conv2d", modules=(handmade.ScaledConv,), read=read))
    try:
        report = analyse(import_model(handmade.UsesScaledConv, (3, 8, 8)).graph)
    finally:
        unregister_import(rule)
    assert report.complete and [layer.type for layer in report.layers] == ["conv2d", "relu", "conv2d"]
    assert report.layer("conv").params == 8 * 3 * 9 and report.layer("conv").macs == 8 * 3 * 9 * 64
    assert analyse(import_model(handmade.UsesScaledConv, (3, 8, 8)).graph).unsupported  # unregistered again


def test_a_user_rule_that_disagrees_with_torch_is_refused():
    rule = register_import(ImportRule("linear", modules=(handmade.ScaledConv,),
                                      read=lambda call: {"out_features": 8}))  # fmt: skip
    try:
        report = analyse(import_model(handmade.UsesScaledConv, (3, 8, 8)).graph)
    finally:
        unregister_import(rule)
    [gap] = report.unsupported
    assert gap.name == "conv" and "shape" in gap.reason


def test_a_broken_user_rule_lists_the_call_instead_of_crashing():
    rule = register_import(ImportRule("conv2d", modules=(handmade.ScaledConv,), read=lambda call: call.module.nope))
    try:
        report = analyse(import_model(handmade.UsesScaledConv, (3, 8, 8)).graph)
    finally:
        unregister_import(rule)
    [gap] = report.unsupported
    assert gap.name == "conv" and gap.reason.startswith("its import rule failed (AttributeError")
    assert report.layer("conv").params == 8 * 3 * 9  # still the parameters the module owns


def test_subclass_that_changes_forward_is_not_its_base():
    class DoubledConv(nn.Conv2d):
        def forward(self, x):
            return super().forward(x) * 2

    report = analyse(import_model(lambda: nn.Sequential(DoubledConv(3, 4, 3)), (3, 8, 8)).graph)
    assert "conv2d" not in {layer.type for layer in report.layers}  # traced into: F.conv2d with its weight
    gaps = [(gap.name, gap.op) for gap in report.unsupported]
    assert gaps == [("0.conv2d", "torch.conv2d")]  # `* 2` is a scalar layer (layers/scalar.py)
    assert report.layer("0.mul").type == "scalar"
    assert report.totals.params == 4 * 27 + 4


def test_shared_module_counts_once():
    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(4, 4, 3, padding=1)

        def forward(self, x):
            return self.conv(self.conv(x))

    result = import_model(Twice, (4, 8, 8))
    assert [node.name for node in result.graph.nodes] == ["conv", "conv_1"]
    report = analyse(result.graph)
    assert [layer.shared_params for layer in report.layers] == [0, 148]
    assert report.totals.params == 148  # as sum(p.numel()); each row shows the conv's 148
