"""The layer families of other ranks than two (1-D audio and sequences, 3-D video and volumes, token
sequences) against the torch modules they describe, as tests/test_layer_rules.py does for 2-D.

Per case: archcalc's output shape, trainable / non-trainable params and buffers equal those of a
torch.nn reference built directly, and of archcalc's own builder; for conv, transposed conv and
linear, FlopCounterMode gives 2 x the analytic MACs. Everything runs on the meta device.
"""

from __future__ import annotations

import pytest
from torch import nn

from tests.test_layer_rules import Case, check_case
from tests.test_layer_rules_fold import CASES as FOLD_CASES
from tests.test_layer_rules_recurrent import CASES as RECURRENT_CASES
from tests.test_layer_rules_timm import CASES as TIMM_CASES

CASES = [
    # conv1d / conv3d
    Case("conv1d", {"type": "conv1d", "out_channels": 8, "kernel": 3}, (3, 20), lambda: nn.Conv1d(3, 8, 3),
         {"receptive_field": [3], "macs": 8 * 18 * 9}),
    Case("conv1d-grouped-dilated-reflect", {"type": "conv1d", "out_channels": 6, "kernel": 3, "groups": 3,
                                            "dilation": 4, "padding": 4, "padding_mode": "reflect", "stride": 2},
         (6, 17), lambda: nn.Conv1d(6, 6, 3, 2, 4, 4, 3, padding_mode="reflect"), {"receptive_field": [9]}),
    Case("conv1d-per-side", {"type": "conv1d", "out_channels": 2, "kernel": 4, "padding": [3, 0]}, (2, 10), None,
         {"output_shape": [2, 10], "effective_padding": [3]}),
    Case("conv1d-same", {"type": "conv1d", "out_channels": 2, "kernel": 4, "padding": "same", "dilation": 2},
         (2, 11), lambda: nn.Conv1d(2, 2, 4, padding="same", dilation=2)),
    Case("conv1d-table", {"type": "conv1d", "kernel": 3, "table": [[0], [0, 1], [1, 2]]}, (3, 9), None,
         {"params": 5 * 3 + 3, "output_shape": [3, 7]}),
    Case("conv1d-weight-norm-causal", {"type": "conv1d", "out_channels": 5, "kernel": 3, "dilation": 4,
                                       "padding": [8, 0], "weight_norm": True}, (3, 12), None,
         {"params": 5 * 3 * 3 + 5 + 5, "output_shape": [5, 12], "effective_padding": [8]}),
    Case("conv2d-weight-norm", {"type": "conv2d", "out_channels": 4, "kernel": 3, "weight_norm": True}, (2, 5, 5),
         lambda: __import__("torch").nn.utils.parametrizations.weight_norm(nn.Conv2d(2, 4, 3)), {"params": 72 + 4 + 4}),
    Case("conv3d", {"type": "conv3d", "out_channels": 4, "kernel": 3, "padding": 1}, (2, 5, 6, 7),
         lambda: nn.Conv3d(2, 4, 3, padding=1), {"receptive_field": [3, 3, 3], "effective_padding": [1, 1, 1]}),
    Case("conv3d-r2plus1d-factor", {"type": "conv3d", "out_channels": 4, "kernel": [1, 3, 3], "stride": [1, 2, 2],
                                    "padding": [0, 1, 1], "bias": False}, (3, 4, 9, 9),
         lambda: nn.Conv3d(3, 4, (1, 3, 3), (1, 2, 2), (0, 1, 1), bias=False), {"receptive_field": [1, 3, 3]}),
    Case("conv3d-depthwise-dilated", {"type": "conv3d", "out_channels": 4, "kernel": [2, 3, 1], "groups": 4,
                                      "dilation": [2, 1, 3]}, (4, 6, 6, 6),
         lambda: nn.Conv3d(4, 4, (2, 3, 1), groups=4, dilation=(2, 1, 3))),
    Case("conv3d-per-side-circular", {"type": "conv3d", "out_channels": 2, "kernel": 3, "padding_mode": "circular",
                                      "padding": [1, 0, 0, 2, 1, 1]}, (2, 4, 5, 6), None,
         {"output_shape": [2, 3, 5, 6], "effective_padding": [1, 0, 1]}),
    Case("conv3d-same", {"type": "conv3d", "out_channels": 2, "kernel": [2, 3, 4], "padding": "same"},
         (1, 5, 5, 5), lambda: nn.Conv3d(1, 2, (2, 3, 4), padding="same")),
    # transposed
    Case("deconv1d", {"type": "conv_transpose1d", "out_channels": 4, "kernel": 4, "stride": 2, "padding": 1},
         (2, 7), lambda: nn.ConvTranspose1d(2, 4, 4, 2, 1)),
    Case("deconv1d-holes", {"type": "conv_transpose1d", "out_channels": 2, "kernel": 2, "stride": 5,
                            "output_padding": 3, "bias": False}, (2, 4),
         lambda: nn.ConvTranspose1d(2, 2, 2, 5, output_padding=3, bias=False),
         {"flops": 2 * (2 * 4 * 2 * 2) - 2 * 8}),
    Case("deconv3d", {"type": "conv_transpose3d", "out_channels": 3, "kernel": [2, 2, 2], "stride": 2,
                      "groups": 3, "trainable": False}, (3, 2, 3, 4),
         lambda: nn.ConvTranspose3d(3, 3, 2, 2, groups=3).requires_grad_(False)),
    Case("deconv3d-stride1", {"type": "conv_transpose3d", "out_channels": 2, "kernel": 3, "padding": 1},
         (2, 3, 4, 5), lambda: nn.ConvTranspose3d(2, 2, 3, padding=1), {"receptive_field": [3, 3, 3]}),
    # pools
    Case("maxpool1d", {"type": "max_pool1d", "kernel": 3, "stride": 2, "padding": 1}, (2, 16),
         lambda: nn.MaxPool1d(3, 2, 1), {"receptive_field": [3], "effective_stride": [2]}),
    Case("maxpool1d-ceil-dilated", {"type": "max_pool1d", "kernel": 2, "stride": 2, "dilation": 2,
                                    "ceil_mode": True}, (2, 9), lambda: nn.MaxPool1d(2, 2, dilation=2, ceil_mode=True)),
    Case("maxpool3d", {"type": "max_pool3d", "kernel": [1, 2, 2], "stride": [1, 2, 2]}, (2, 4, 8, 8),
         lambda: nn.MaxPool3d((1, 2, 2), (1, 2, 2)), {"output_shape": [2, 4, 4, 4]}),
    Case("maxpool3d-padded-ceil", {"type": "max_pool3d", "kernel": 3, "stride": 2, "padding": 1, "ceil_mode": True},
         (1, 6, 7, 8), lambda: nn.MaxPool3d(3, 2, 1, ceil_mode=True)),
    Case("maxpool3d-same", {"type": "max_pool3d", "kernel": 2, "stride": 1, "padding": "same"}, (1, 3, 4, 5), None,
         {"output_shape": [1, 3, 4, 5]}),
    Case("avgpool1d", {"type": "avg_pool1d", "kernel": 4}, (3, 16), lambda: nn.AvgPool1d(4), {"flops": 3 * 16}),
    Case("avgpool3d-exclude-pad", {"type": "avg_pool3d", "kernel": 3, "stride": 2, "padding": 1, "ceil_mode": True,
                                   "count_include_pad": False}, (2, 5, 6, 7),
         lambda: nn.AvgPool3d(3, 2, 1, ceil_mode=True, count_include_pad=False)),
    Case("adaptive-avg1d", {"type": "adaptive_avg_pool1d", "output_size": 3}, (2, 7), lambda: nn.AdaptiveAvgPool1d(3),
         {"flops": 2 * (7 + 3 - 1), "receptive_field": None}),
    Case("adaptive-max1d-even", {"type": "adaptive_max_pool1d", "output_size": 4}, (2, 8),
         lambda: nn.AdaptiveMaxPool1d(4), {"receptive_field": [2], "effective_stride": [2]}),
    Case("adaptive-avg3d", {"type": "adaptive_avg_pool3d", "output_size": [1, 2, 2]}, (2, 4, 6, 6),
         lambda: nn.AdaptiveAvgPool3d((1, 2, 2)), {"receptive_field": [4, 3, 3]}),
    Case("adaptive-max3d", {"type": "adaptive_max_pool3d", "output_size": [2, 3, 1]}, (2, 5, 7, 3),
         lambda: nn.AdaptiveMaxPool3d((2, 3, 1))),
    Case("global-avg-1d", {"type": "global_avg_pool"}, (5, 9), lambda: nn.AdaptiveAvgPool1d(1),
         {"output_shape": [5, 1], "receptive_field": [9], "flops": 45}),
    Case("global-max-3d", {"type": "global_max_pool"}, (3, 2, 4, 5), lambda: nn.AdaptiveMaxPool3d(1),
         {"output_shape": [3, 1, 1, 1], "receptive_field": [2, 4, 5], "flops": 3 * 39}),
    Case("global-avg-3d-flat", {"type": "global_avg_pool", "keep_dims": False}, (3, 2, 4, 5), None,
         {"output_shape": [3], "receptive_field": None}),
    # norms by rank
    Case("batchnorm1d-features", {"type": "batchnorm1d"}, (8,), lambda: nn.BatchNorm1d(8), {"buffers": 17}),
    Case("batchnorm1d-sequence", {"type": "batchnorm1d", "affine": False}, (8, 12), lambda: nn.BatchNorm1d(8, affine=False)),
    Case("batchnorm2d", {"type": "batchnorm2d"}, (4, 3, 3), lambda: nn.BatchNorm2d(4)),
    Case("batchnorm3d", {"type": "batchnorm3d", "track_running_stats": False}, (4, 2, 3, 3),
         lambda: nn.BatchNorm3d(4, track_running_stats=False)),
    Case("batchnorm-volume", {"type": "batchnorm"}, (6, 2, 3, 4), lambda: nn.BatchNorm3d(6), {"receptive_field": [1, 1, 1]}),
    Case("instancenorm1d", {"type": "instancenorm1d", "affine": True}, (4, 10), lambda: nn.InstanceNorm1d(4, affine=True)),
    Case("instancenorm2d", {"type": "instancenorm2d"}, (4, 5, 5), lambda: nn.InstanceNorm2d(4)),
    Case("instancenorm3d", {"type": "instancenorm3d", "track_running_stats": True}, (3, 2, 4, 4),
         lambda: nn.InstanceNorm3d(3, track_running_stats=True)),
    Case("instancenorm-volume", {"type": "instancenorm", "affine": True}, (3, 2, 4, 4),
         lambda: nn.InstanceNorm3d(3, affine=True)),
    Case("layernorm-tokens", {"type": "layernorm"}, (16, 100), lambda: nn.LayerNorm(100), {"params": 200}),
    # resampling, padding, dropout
    Case("upsample-linear", {"type": "upsample", "scale": 2, "mode": "linear", "align_corners": False}, (3, 10),
         lambda: nn.Upsample(scale_factor=2, mode="linear", align_corners=False), {"flops": 3 * 3 * 20}),
    Case("upsample-trilinear", {"type": "upsample", "scale": 2, "mode": "trilinear"}, (2, 2, 3, 4),
         lambda: nn.Upsample(scale_factor=2, mode="trilinear"), {"flops": 15 * 2 * 4 * 6 * 8, "connections": 8 * 384}),
    Case("upsample-nearest-3d-size", {"type": "upsample", "size": [3, 4, 5]}, (2, 1, 2, 2),
         lambda: nn.Upsample(size=(3, 4, 5)), {"flops": 0}),
    Case("upsample-nearest-1d", {"type": "upsample", "scale": 3}, (2, 4), lambda: nn.Upsample(scale_factor=3)),
    Case("pad1d-reflect", {"type": "pad1d", "padding": [2, 1], "mode": "reflect"}, (2, 5),
         lambda: nn.ReflectionPad1d((2, 1)), {"effective_padding": [2], "output_shape": [2, 8]}),
    Case("pad3d-replicate", {"type": "pad3d", "padding": [1, 0, 0, 2, 3, 1], "mode": "replicate"}, (2, 3, 4, 5),
         lambda: nn.ReplicationPad3d((3, 1, 0, 2, 1, 0)), {"effective_padding": [1, 0, 3]}),
    Case("pad3d-constant", {"type": "pad3d", "padding": 1, "mode": "constant", "value": 2.0}, (1, 2, 2, 2),
         lambda: nn.ConstantPad3d(1, 2.0)),
    Case("dropout1d", {"type": "dropout1d", "p": 0.2}, (4, 9), lambda: nn.Dropout1d(0.2)),
    Case("dropout2d", {"type": "dropout2d"}, (4, 3, 3), nn.Dropout2d),
    Case("dropout3d", {"type": "dropout3d"}, (4, 2, 3, 3), nn.Dropout3d),
    Case("alpha-dropout", {"type": "alpha_dropout", "p": 0.1}, (10,), lambda: nn.AlphaDropout(0.1)),
    Case("crop-volume", {"type": "crop", "size": [2, 3, 3]}, (2, 5, 6, 7), None,
         {"output_shape": [2, 2, 3, 3], "effective_padding": [-1, -1, -2]}),
    Case("crop-sequence", {"type": "crop", "size": 4, "offset": 3}, (2, 9), None, {"effective_padding": [-3]}),
    Case("slice-depth", {"type": "slice", "axis": 1, "start": 1, "end": 3}, (2, 4, 3, 3), None,
         {"output_shape": [2, 2, 3, 3], "effective_padding": [-1, 0, 0]}),
    Case("channel-shuffle-1d", {"type": "channel_shuffle", "groups": 3}, (6, 5), lambda: nn.ChannelShuffle(3)),
    Case("softmax-over-length", {"type": "softmax", "axis": 1}, (3, 8), lambda: nn.Softmax(dim=2),
         {"receptive_field": None}),
    # every layer reads its axes as its torch module does: linear acts on the last axis
    Case("linear-tokens", {"type": "linear", "out_features": 10}, (16, 100), lambda: nn.Linear(100, 10),
         {"output_shape": [16, 10], "macs": 16 * 100 * 10, "receptive_field": None}),
    Case("linear-on-video", {"type": "linear", "out_features": 3}, (2, 2, 2, 5), lambda: nn.Linear(5, 3),
         {"output_shape": [2, 2, 2, 3]}),
    Case("relu-volume", {"type": "relu"}, (2, 2, 3, 4), nn.ReLU, {"receptive_field": [1, 1, 1]}),
    Case("lrn-volume", {"type": "lrn", "size": 3}, (5, 2, 2, 2), lambda: nn.LocalResponseNorm(3)),
    # merges (the input with itself; tests/test_layer_rules.py::test_merges_match_torch runs real branches)
    Case("add-sequences", {"type": "add", "inputs": ["input", "input"]}, (3, 7), None,
         {"flops": 21, "connections": 42, "receptive_field": [1]}),
    Case("mul-volumes", {"type": "mul", "inputs": ["input", "input", "input"]}, (2, 2, 3, 3), None,
         {"flops": 2 * 36, "receptive_field": [1, 1, 1]}),
    Case("concat-sequences", {"type": "concat", "inputs": ["input", "input"]}, (3, 7), None,
         {"output_shape": [6, 7], "flops": 0}),
    Case("concat-length", {"type": "concat", "axis": 1, "inputs": ["input", "input"]}, (3, 7), None,
         {"output_shape": [3, 14]}),
    Case("pixel-unshuffle", {"type": "pixel_unshuffle", "downscale": 2}, (3, 4, 6), lambda: nn.PixelUnshuffle(2),
         {"output_shape": [12, 2, 3], "receptive_field": [2, 2], "effective_stride": [2, 2]}),
    *RECURRENT_CASES,  # lstm, gru, rnn and their cells: tests/test_layer_rules_recurrent.py
    *FOLD_CASES,  # unfold, fold, unfold_axis: tests/test_layer_rules_fold.py
    *TIMM_CASES,  # timm's conv variants and blocks: tests/test_layer_rules_timm.py
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_rule_matches_torch_on_other_ranks(case):
    check_case(case)


def test_every_family_is_covered_at_every_rank():
    """Each rank-generic family has a case at each of its ranks, here or in the 2-D table."""
    from archcalc.layers import REGISTRY
    from tests.test_layer_rules import CASES as CASES_2D

    covered = {case.layer["type"] for case in CASES + CASES_2D}
    ranked = [name for name, rule in REGISTRY.items() if rule.family != name]
    assert sorted(set(ranked) - covered) == []
