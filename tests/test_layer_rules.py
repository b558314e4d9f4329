"""Each layer rule against the torch module it describes (torchscan's test_modules.py style).

Per case: the analytic output shape, trainable / non-trainable params and buffers must equal those
of (a) a reference module built directly from torch.nn with the same arguments, and (b) archcalc's
own torch builder. For conv, transposed conv and linear, torch's FlopCounterMode (2 per MAC) must
also equal 2 x the analytic MACs. Everything runs on the meta device.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from archcalc import analyse, load_spec_text
from archcalc.torch_build import build_module


@dataclass
class Case:
    id: str
    layer: dict
    input: tuple[int, ...]
    reference: Callable[[], nn.Module] | None
    expect: dict = field(default_factory=dict)  # extra exact expectations on the LayerResult
    input_dtype: str = "float32"  # int64: the input is token ids (an embedding's)


def _yaml(layer: dict, input_shape: tuple[int, ...], input_dtype: str = "float32") -> str:
    import json

    return json.dumps({"input": list(input_shape), "input_dtype": input_dtype, "layers": [layer]})


def example(shape: tuple[int, ...], batch: int, dtype: str = "float32") -> torch.Tensor:
    """A meta input batch: token ids for int64."""
    return torch.zeros((batch,) + shape, device="meta", dtype=torch.int64 if dtype == "int64" else torch.float32)


CASES = [
    # conv2d
    Case("conv", {"type": "conv2d", "out_channels": 8, "kernel": 3}, (3, 9, 9), lambda: nn.Conv2d(3, 8, 3)),
    Case("conv-nobias-s2-p3", {"type": "conv2d", "out_channels": 8, "kernel": 7, "stride": 2, "padding": 3,
                               "bias": False}, (3, 17, 17), lambda: nn.Conv2d(3, 8, 7, 2, 3, bias=False)),
    Case("conv-grouped", {"type": "conv2d", "out_channels": 12, "kernel": 3, "groups": 3, "padding": 1},
         (6, 8, 8), lambda: nn.Conv2d(6, 12, 3, padding=1, groups=3)),
    Case("conv-depthwise", {"type": "conv2d", "out_channels": 6, "kernel": 3, "groups": 6}, (6, 8, 8),
         lambda: nn.Conv2d(6, 6, 3, groups=6)),
    Case("conv-dilated", {"type": "conv2d", "out_channels": 4, "kernel": 3, "dilation": 2, "padding": 2},
         (2, 10, 11), lambda: nn.Conv2d(2, 4, 3, padding=2, dilation=2), {"receptive_field": [5, 5]}),
    Case("conv-asymmetric-1x7", {"type": "conv2d", "out_channels": 4, "kernel": [1, 7], "padding": [0, 3]},
         (4, 9, 9), lambda: nn.Conv2d(4, 4, (1, 7), padding=(0, 3)), {"receptive_field": [1, 7]}),
    Case("conv-stride-hw", {"type": "conv2d", "out_channels": 4, "kernel": [3, 2], "stride": [2, 1]}, (2, 9, 9),
         lambda: nn.Conv2d(2, 4, (3, 2), (2, 1))),
    Case("conv-same-s1", {"type": "conv2d", "out_channels": 4, "kernel": 4, "padding": "same"}, (2, 9, 9),
         lambda: nn.Conv2d(2, 4, 4, padding="same")),
    Case("conv-valid", {"type": "conv2d", "out_channels": 4, "kernel": 3, "padding": "valid"}, (2, 9, 9),
         lambda: nn.Conv2d(2, 4, 3, padding="valid")),
    Case("conv-same-s2", {"type": "conv2d", "out_channels": 4, "kernel": 3, "stride": 2, "padding": "same"},
         (2, 9, 10), None, {"output_shape": [4, 5, 5]}),
    Case("conv-per-side", {"type": "conv2d", "out_channels": 4, "kernel": 3, "padding": [0, 1, 2, 0]}, (2, 9, 9),
         None, {"output_shape": [4, 8, 9], "effective_padding": [0, 2]}),
    Case("conv-reflect", {"type": "conv2d", "out_channels": 4, "kernel": 3, "padding": 1,
                          "padding_mode": "reflect"}, (2, 6, 6), lambda: nn.Conv2d(2, 4, 3, padding=1,
                                                                                    padding_mode="reflect")),
    # LeNet-5's C3: 6 -> 16 maps, 10x10 output, 1,516 params and 151,600 connections.
    Case("conv-table-lenet-c3", {"type": "conv2d", "kernel": 5, "table": [
        [0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5], [0, 4, 5], [0, 1, 5],
        [0, 1, 2, 3], [1, 2, 3, 4], [2, 3, 4, 5], [0, 3, 4, 5], [0, 1, 4, 5], [0, 1, 2, 5],
        [0, 1, 3, 4], [1, 2, 4, 5], [0, 2, 3, 5], [0, 1, 2, 3, 4, 5]]}, (6, 14, 14), None,
        {"params": 1516, "connections": 151_600, "output_shape": [16, 10, 10], "macs": 1500 * 100}),
    # conv_transpose2d
    Case("deconv", {"type": "conv_transpose2d", "out_channels": 4, "kernel": 3}, (2, 5, 5),
         lambda: nn.ConvTranspose2d(2, 4, 3)),
    Case("deconv-s2-outpad", {"type": "conv_transpose2d", "out_channels": 4, "kernel": 3, "stride": 2,
                              "padding": 1, "output_padding": 1}, (4, 5, 6),
         lambda: nn.ConvTranspose2d(4, 4, 3, 2, 1, 1)),
    Case("deconv-grouped-dilated", {"type": "conv_transpose2d", "out_channels": 6, "kernel": 2, "stride": 3,
                                    "groups": 2, "dilation": 2, "bias": False}, (4, 3, 3),
         lambda: nn.ConvTranspose2d(4, 6, 2, 3, groups=2, dilation=2, bias=False)),
    # linear
    Case("linear", {"type": "linear", "out_features": 10}, (20,), lambda: nn.Linear(20, 10)),
    Case("linear-nobias", {"type": "linear", "out_features": 10, "bias": False}, (20,),
         lambda: nn.Linear(20, 10, bias=False)),
    Case("linear-last-axis", {"type": "linear", "out_features": 5}, (3, 4, 6), lambda: nn.Linear(6, 5)),
    Case("rbf", {"type": "rbf", "out_features": 10}, (84,), None,
         {"params": 840, "trainable_params": 0, "non_trainable_params": 840, "connections": 840}),
    # pooling
    Case("maxpool", {"type": "max_pool2d", "kernel": 3, "stride": 2}, (2, 13, 13), lambda: nn.MaxPool2d(3, 2)),
    Case("maxpool-ceil", {"type": "max_pool2d", "kernel": 3, "stride": 2, "ceil_mode": True}, (2, 14, 14),
         lambda: nn.MaxPool2d(3, 2, ceil_mode=True)),
    Case("maxpool-ceil-pad", {"type": "max_pool2d", "kernel": 3, "stride": 2, "padding": 1, "ceil_mode": True},
         (2, 8, 8), lambda: nn.MaxPool2d(3, 2, 1, ceil_mode=True)),
    Case("maxpool-dilated", {"type": "max_pool2d", "kernel": 2, "dilation": 2, "stride": 1}, (2, 7, 7),
         lambda: nn.MaxPool2d(2, 1, dilation=2)),
    Case("maxpool-same", {"type": "max_pool2d", "kernel": 3, "stride": 2, "padding": "same"}, (2, 8, 8), None,
         {"output_shape": [2, 4, 4]}),
    Case("avgpool", {"type": "avg_pool2d", "kernel": 2}, (2, 9, 9), lambda: nn.AvgPool2d(2)),
    Case("avgpool-ceil-pad", {"type": "avg_pool2d", "kernel": 3, "stride": 2, "padding": 1, "ceil_mode": True,
                              "count_include_pad": False}, (2, 10, 10),
         lambda: nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False)),
    Case("global-avg", {"type": "global_avg_pool"}, (5, 7, 6), lambda: nn.AdaptiveAvgPool2d(1),
         {"receptive_field": [7, 6], "flops": 5 * 42}),
    Case("global-max", {"type": "global_max_pool"}, (5, 7, 6), lambda: nn.AdaptiveMaxPool2d(1),
         {"flops": 5 * 41}),
    Case("adaptive-avg-uneven", {"type": "adaptive_avg_pool2d", "output_size": [3, 2]}, (2, 7, 5),
         lambda: nn.AdaptiveAvgPool2d((3, 2)), {"receptive_field": None, "flops": 2 * (3 + 3 + 3) * (3 + 3)}),
    Case("adaptive-avg-even", {"type": "adaptive_avg_pool2d", "output_size": 2}, (2, 8, 8),
         lambda: nn.AdaptiveAvgPool2d(2), {"receptive_field": [4, 4], "effective_stride": [4, 4]}),
    Case("adaptive-max", {"type": "adaptive_max_pool2d", "output_size": 3}, (2, 7, 7),
         lambda: nn.AdaptiveMaxPool2d(3)),
    # SPP on 13x13 with levels 4, 2, 1: 21 bins per channel.
    Case("spp", {"type": "spp", "levels": [4, 2, 1]}, (8, 13, 13), None, {"output_shape": [8 * 21]}),
    # Fast R-CNN's RoI pool: 3 regions of 13x13 cells to 7x7 bins; bins sum to 13 + 7 - gcd = 19 cells a side.
    Case("roi-pool", {"type": "roi_pool", "rois": 3, "output_size": 7}, (8, 13, 13), None,
         {"output_shape": [3, 8, 7, 7], "connections": 3 * 8 * 19 * 19, "flops": 3 * 8 * (19 * 19 - 49)}),
    # LeNet-5's S2: 6 maps 28 -> 14, 12 params, 5,880 connections.
    Case("subsampling-lenet-s2", {"type": "subsampling"}, (6, 28, 28), None,
         {"output_shape": [6, 14, 14], "params": 12, "connections": 5_880}),
    # normalisation
    Case("batchnorm2d", {"type": "batchnorm"}, (8, 4, 4), lambda: nn.BatchNorm2d(8),
         {"params": 16, "buffers": 17}),
    Case("batchnorm1d", {"type": "batchnorm"}, (8,), lambda: nn.BatchNorm1d(8)),
    Case("batchnorm-plain", {"type": "batchnorm", "affine": False, "track_running_stats": False}, (8, 4, 4),
         lambda: nn.BatchNorm2d(8, affine=False, track_running_stats=False)),
    Case("layernorm", {"type": "layernorm"}, (4, 5, 6), lambda: nn.LayerNorm(6)),
    Case("layernorm-3d", {"type": "layernorm", "dims": 3}, (4, 5, 6), lambda: nn.LayerNorm([4, 5, 6])),
    Case("layernorm-nobias", {"type": "layernorm", "bias": False}, (10,), lambda: nn.LayerNorm(10, bias=False)),
    Case("instancenorm", {"type": "instancenorm", "affine": True, "track_running_stats": True}, (4, 5, 5),
         lambda: nn.InstanceNorm2d(4, affine=True, track_running_stats=True)),
    Case("groupnorm", {"type": "groupnorm", "groups": 2}, (4, 5, 5), lambda: nn.GroupNorm(2, 4)),
    Case("lrn", {"type": "lrn", "size": 5, "k": 2.0}, (7, 3, 3), lambda: nn.LocalResponseNorm(5, k=2.0),
         {"connections": 9 * (3 + 4 + 5 + 5 + 5 + 4 + 3)}),
    # activations
    *[Case(name, {"type": name}, (3, 4, 4), ref) for name, ref in [
        ("relu", nn.ReLU), ("relu6", nn.ReLU6), ("sigmoid", nn.Sigmoid), ("tanh", nn.Tanh),
        ("hardswish", nn.Hardswish), ("hardsigmoid", nn.Hardsigmoid), ("silu", nn.SiLU), ("gelu", nn.GELU),
        ("elu", nn.ELU), ("leaky_relu", nn.LeakyReLU), ("prelu", nn.PReLU), ("mish", nn.Mish)]],
    Case("prelu-per-channel", {"type": "prelu", "per_channel": True}, (3, 4, 4), lambda: nn.PReLU(3)),
    Case("softmax", {"type": "softmax"}, (10,), lambda: nn.Softmax(dim=1), {"flops": 29}),
    # structure
    Case("dropout", {"type": "dropout", "p": 0.3}, (3, 4, 4), lambda: nn.Dropout(0.3)),
    Case("flatten", {"type": "flatten"}, (3, 4, 5), nn.Flatten, {"receptive_field": None}),
    Case("flatten-partial", {"type": "flatten", "start": 1}, (3, 4, 5), lambda: nn.Flatten(2)),
    Case("reshape", {"type": "reshape", "shape": [4, -1]}, (3, 4, 5), lambda: nn.Sequential(nn.Flatten(), nn.Unflatten(1, (4, 15))),
         {"output_shape": [4, 15]}),
    Case("channel-shuffle", {"type": "channel_shuffle", "groups": 2}, (4, 3, 3), lambda: nn.ChannelShuffle(2)),
    Case("pixel-shuffle", {"type": "pixel_shuffle", "upscale": 2}, (8, 3, 3), lambda: nn.PixelShuffle(2)),
    Case("upsample-nearest", {"type": "upsample", "scale": 2}, (2, 3, 4), lambda: nn.Upsample(scale_factor=2)),
    Case("upsample-bilinear-size", {"type": "upsample", "size": [7, 5], "mode": "bilinear",
                                    "align_corners": False}, (2, 3, 4),
         lambda: nn.Upsample(size=(7, 5), mode="bilinear", align_corners=False), {"flops": 7 * 2 * 35}),
    Case("upsample-bicubic-size", {"type": "upsample", "size": [7, 5], "mode": "bicubic", "align_corners": False},
         (2, 3, 4), lambda: nn.Upsample(size=(7, 5), mode="bicubic", align_corners=False),
         {"flops": 31 * 2 * 35, "connections": 16 * 2 * 35}),
    Case("pad-zero", {"type": "pad", "padding": [1, 2, 3, 4]}, (2, 3, 4), lambda: nn.ZeroPad2d((3, 4, 1, 2)),
         {"effective_padding": [1, 3]}),
    Case("pad-reflect", {"type": "pad", "padding": 2, "mode": "reflect"}, (2, 3, 4), lambda: nn.ReflectionPad2d(2)),
    Case("pad-replicate", {"type": "pad", "padding": [1, 1], "mode": "replicate"}, (2, 3, 4),
         lambda: nn.ReplicationPad2d(1)),
    Case("identity", {"type": "identity"}, (2, 3, 4), nn.Identity),
    # An imported operation archcalc cannot count: traced shape and own params, costs flagged unknown.
    Case("unsupported", {"type": "unsupported", "shape": [2, 12], "op": "torch.roll", "params": 5, "buffers": 2},
         (2, 3, 4), None, {"params": 5, "buffers": 2, "macs": 0, "receptive_field": None}),
    # A constant operand (layers/scalar.py): one operation and one link per element; no torch.nn module does it.
    *(Case(f"scalar-{op}-{side}", {"type": "scalar", "op": op, "value": 0.5, "side": side}, (2, 3, 4), None,
           {"flops": 24, "connections": 24, "macs": 0, "params": 0, "receptive_field": [1, 1]})
      for op in ("add", "sub", "mul", "div", "pow") for side in ("right", "left")),
    Case("scalar-inplace", {"type": "scalar", "op": "div", "value": 2, "inplace": True}, (5,), None,
         {"flops": 5, "connections": 5}),
    # Pointwise math (layers/pointwise_math.py): FLOPs per element, no links.
    *(Case(name, {"type": name}, (2, 3, 4), None, {"flops": per * 24, "connections": 0, "receptive_field": [1, 1]})
      for name, per in (("sqrt", 1), ("rsqrt", 2), ("exp", 1), ("log", 1), ("erf", 1), ("abs", 1), ("neg", 1),
                        ("reciprocal", 1), ("square", 1))),
    Case("clamp-both", {"type": "clamp", "min": 0, "max": 6}, (2, 3, 4), None,
         {"flops": 48, "connections": 0}),
    Case("clamp-min", {"type": "clamp", "min": 1e-6}, (2, 3), None, {"flops": 6}),
    Case("clamp_buffers", {"type": "clamp_buffers"}, (2, 3, 4), None,
         {"flops": 48, "connections": 0, "buffers": 2, "params": 0, "receptive_field": [1, 1]}),
    # Tensor operations of timm's models (layers/elementwise_binary.py, param_operand.py, reduce.py, stack.py).
    *(Case(op, {"type": op, "inputs": ["input", "input"]}, (2, 3, 4), None, {"flops": 24, "connections": 48})
      for op in ("sub", "div")),
    Case("vector_norm-spatial", {"type": "vector_norm", "axis": [0, 1], "keepdim": True}, (3, 4, 5), None,
         {"output_shape": [1, 1, 5], "flops": 120, "connections": 60, "params": 0}),
    Case("vector_norm-last", {"type": "vector_norm", "axis": -1}, (3, 4), None, {"output_shape": [3], "flops": 24}),
    Case("one_hot_position_embedding", {"type": "one_hot_position_embedding", "positions": 7}, (6, 4), None,
         {"params": 2 * 7 * 4, "macs": 2 * 6 * 7 * 4, "flops": 2 * (2 * 6 * 7 * 4) + 2 * 24,
          "connections": 2 * 6 * 7 * 4 + 24, "receptive_field": [1]}),
    Case("axial_rope_table-cos", {"type": "axial_rope_table", "head_dim": 8, "fn": "cos", "angles": True}, (6, 5),
         None, {"output_shape": [6, 8], "buffers": 2, "macs": 2 * 2 * 6, "flops": 2 * 24 + 48, "connections": 0}),
    Case("axial_rope_table-sin", {"type": "axial_rope_table", "head_dim": 8, "fn": "sin"}, (6, 5), None,
         {"output_shape": [6, 8], "buffers": 0, "macs": 0, "flops": 48}),
    Case("constant_op-mul", {"type": "constant_op", "op": "mul", "shape": [2, 1, 4]}, (2, 3, 4), None,
         {"params": 0, "buffers": 0, "flops": 24, "connections": 24, "receptive_field": [1, 1]}),
    Case("constant_op-add", {"type": "constant_op", "op": "add", "shape": [4]}, (2, 3, 4), None, {"flops": 24}),
    Case("parameter_op-scalar", {"type": "parameter_op", "op": "mul", "shape": [1]}, (2, 3, 4), None,
         {"params": 1, "flops": 24, "connections": 24, "receptive_field": [1, 1]}),
    Case("parameter_op-channel-bias", {"type": "parameter_op", "op": "add", "shape": [2, 1, 1]}, (2, 3, 4), None,
         {"params": 2, "flops": 24}),
    Case("parameter_op-buffer-mask", {"type": "parameter_op", "op": "add", "shape": [2, 1, 4], "buffer": True},
         (2, 3, 4), None, {"params": 0, "buffers": 8, "flops": 24}),  # Swin's shifted-window mask
    # ConViT's rel_indices table expanded over the batch: its shape, whatever the input; no cost
    Case("constant_table", {"type": "constant_table", "shape": [4, 4, 3]}, (2, 3, 4), None,
         {"output_shape": [4, 4, 3], "params": 0, "flops": 0, "connections": 0}),
    # Swin V2's exp(clamp(logit_scale)): clamp 1 + exp 1 FLOPs on each of the 2 elements, once per call
    Case("parameter_op-logit-scale", {"type": "parameter_op", "op": "mul", "shape": [2, 1, 1],
                                      "fn": ["clamp_max", "exp"]}, (2, 3, 4), None, {"params": 2, "flops": 24 + 4}),
    # EfficientViM's softmax(weights)[i] of a [3] parameter: 3·3 − 1 FLOPs once, one row read
    Case("parameter_op-softmax-row", {"type": "parameter_op", "op": "mul", "shape": [1], "fn": ["softmax"],
                                      "rows": 3}, (2, 3, 4), None, {"params": 3, "flops": 24 + 8}),
    Case("linear-bias-buffer", {"type": "linear", "out_features": 6, "bias_buffer": 2}, (3, 4), None,
         {"trainable_params": 28, "buffers": 2, "macs": 72, "flops": 3 * 6 * 8}),  # BEiT's zero key bias
    Case("affine", {"type": "affine", "shape": [4]}, (2, 3, 4), None, {"params": 8, "flops": 48, "connections": 24}),
    Case("sum", {"type": "sum"}, (2, 3, 4), None, {"output_shape": [3, 4], "flops": 12, "connections": 24}),
    Case("sum-spatial-keepdim", {"type": "sum", "axis": [1, 2], "keepdim": True}, (2, 3, 4), None,
         {"output_shape": [2, 1, 1], "flops": 22}),
    Case("amax", {"type": "amax", "axis": 0}, (2, 3, 4), None, {"output_shape": [3, 4], "flops": 12, "connections": 24}),
    Case("amax-last-keepdim", {"type": "amax", "axis": -1, "keepdim": True}, (2, 3, 4), None,
         {"output_shape": [2, 3, 1], "flops": 18}),
    Case("var", {"type": "var", "axis": [1, 2], "keepdim": True, "correction": 0}, (2, 3, 4), None,
         {"output_shape": [2, 1, 1], "flops": 96, "connections": 24}),
    Case("mean-two-axes", {"type": "mean", "axis": [0, 1]}, (2, 3, 4), None, {"output_shape": [4], "flops": 24}),
    Case("stack", {"type": "stack", "axis": 1, "inputs": ["input", "input"]}, (2, 3, 4), None,
         {"output_shape": [2, 2, 3, 4], "flops": 0, "connections": 0}),
    Case("expand", {"type": "expand", "shape": [2, 3, 4]}, (2, 1, 4), None, {"output_shape": [2, 3, 4], "flops": 0}),
    Case("expand_as", {"type": "expand_as", "inputs": ["input", "input"]}, (2, 3, 4), None,
         {"output_shape": [2, 3, 4], "flops": 0}),
    Case("layernorm2d-nobias", {"type": "layernorm2d", "bias": False}, (2, 3, 4), None, {"params": 2, "flops": 144}),
    Case("groupnorm-nobias", {"type": "groupnorm", "groups": 1, "bias": False}, (2, 3, 4), None,
         {"params": 2, "flops": 144}),
]


def counts(module: nn.Module) -> tuple[int, int, int]:
    trainable = sum(p.numel() for p in module.parameters() if p.requires_grad)
    frozen = sum(p.numel() for p in module.parameters() if not p.requires_grad)
    return trainable, frozen, sum(b.numel() for b in module.buffers())


def run(module: nn.Module, shape: tuple[int, ...], dtype: str = "float32") -> torch.Tensor:
    with torch.no_grad():
        return module.to("meta").eval()(example(shape, 2, dtype))


def check_case(case: Case) -> None:
    """The analytic layer against archcalc's builder and the torch.nn reference (shapes, params, FLOPs)."""
    graph = load_spec_text(_yaml(case.layer, case.input, case.input_dtype), case.id)
    layer = analyse(graph).layers[-1]
    analytic = (layer.trainable_params, layer.non_trainable_params, layer.buffers)
    modules = [("archcalc builder", build_module(graph))]
    if case.reference is not None:
        with torch.device("meta"):
            modules.append(("torch.nn reference", case.reference()))
    for label, module in modules:
        out = run(module, case.input, case.input_dtype)
        assert list(out.shape[1:]) == layer.output_shape, label
        assert counts(module) == analytic, label
        if layer.category in ("conv", "linear") and case.layer["type"] != "rbf":
            with FlopCounterMode(display=False) as counter, torch.no_grad():
                module(example(case.input, 1, case.input_dtype))
            assert counter.get_total_flops() == 2 * layer.macs, label
    for key, value in case.expect.items():
        assert getattr(layer, key) == value, key


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_rule_matches_torch(case: Case):
    check_case(case)


MERGE_SPEC = """
input: [4, 6, 6]
layers:
  - {name: a, type: conv2d, out_channels: 4, kernel: 3, padding: 1}
  - {name: b, type: conv2d, out_channels: 2, kernel: 1, inputs: input}
  - {name: g, type: global_avg_pool, inputs: a}
  - {name: add, type: add, inputs: [a, input]}
  - {name: mul, type: mul, inputs: [add, g]}
  - {name: cat, type: concat, inputs: [mul, b]}
"""


def test_merges_match_torch():
    graph = load_spec_text(MERGE_SPEC)
    report = analyse(graph)
    x = torch.randn(2, 4, 6, 6)
    a = nn.Conv2d(4, 4, 3, padding=1)(x)
    b = nn.Conv2d(4, 2, 1)(x)
    reference = {"add": a + x, "mul": (a + x) * a.mean((2, 3), keepdim=True)}
    reference["cat"] = torch.cat([reference["mul"], b], 1)
    for name, tensor in reference.items():
        assert report.layer(name).output_shape == list(tensor.shape[1:]), name
    assert list(run(build_module(graph), (4, 6, 6)).shape[1:]) == [6, 6, 6]
    assert report.layer("add").flops == 4 * 36 and report.layer("add").connections == 2 * 4 * 36
    assert report.layer("cat").flops == 0
    # The SE-style scale broadcasts a 1x1 map that saw the whole input: every output position of the
    # product sees the whole input too (as autograd does), and the merge is not a misalignment.
    mul = report.layer("mul")
    r, j, p = mul.receptive_field[0], mul.effective_stride[0], mul.effective_padding[0]
    assert all(x * j - p <= 0 and x * j - p + r - 1 >= 5 for x in range(6))
    assert mul.rf_aligned is True


def test_misaligned_merge_is_flagged():
    graph = load_spec_text("""
input: [1, 9, 9]
layers:
  - {name: a, type: conv2d, out_channels: 1, kernel: 3}
  - {name: b, type: conv2d, out_channels: 1, kernel: 5, padding: [2, 0, 2, 0], inputs: input}
  - {name: c, type: add, inputs: [a, b]}
""")
    report = analyse(graph)
    # a sees [x, x + 2], b sees [x - 2, x + 2]: different centres; the union spans 5.
    assert report.layer("c").rf_aligned is False
    assert report.layer("c").receptive_field == [5, 5]
    assert report.layer("c").effective_padding == [2, 2]


POOL_WINDOWS = [  # (kernel, stride, padding, ceil_mode, size)
    (3, 2, 0, False, 13), (3, 2, 1, False, 8), (3, 2, 1, True, 8), (3, 2, 0, True, 14), (2, 2, 0, True, 7),
    (3, 3, 1, True, 10), (5, 2, 2, False, 9), (3, 2, 0, True, 2), (4, 3, 2, True, 11),
]


@pytest.mark.parametrize(("kernel", "stride", "padding", "ceil_mode", "size"), POOL_WINDOWS)
def test_pool_counts_only_real_elements(kernel, stride, padding, ceil_mode, size):
    """torch's pools clip windows to the input: summing ones per window counts the real elements."""
    import torch.nn.functional as F

    channels = 3
    spec = {"type": "avg_pool2d", "kernel": kernel, "stride": stride, "padding": padding, "ceil_mode": ceil_mode}
    avg = analyse(load_spec_text(_yaml(spec, (channels, size, size)))).layers[-1]
    spec["type"] = "max_pool2d"
    mx = analyse(load_spec_text(_yaml(spec, (channels, size, size)))).layers[-1]
    ones = torch.ones(1, channels, size, size)
    sums = F.avg_pool2d(ones, kernel, stride, padding, ceil_mode, count_include_pad=False, divisor_override=1)
    real = int(sums.sum().item())
    assert list(sums.shape[1:]) == avg.output_shape == mx.output_shape
    assert avg.connections == mx.connections == real
    assert avg.flops == real  # n - 1 adds and 1 divide per window
    assert mx.flops == real - sums.numel()  # n - 1 comparisons per window
