"""The convention rules of the 1-D and 3-D families (and the other new types) against the real tools.

As tests/test_conventions_rules.py: each tiny spec is run through fvcore, ptflops, thop, torchinfo and
torch's FlopCounterMode, and each tool's total must equal archcalc's reproduction at batch 1 and 2.
"""

from __future__ import annotations

import pytest

from tests.test_conventions_rules import assert_tools_agree, case
from tests.test_conventions_rules_fold import CASES as FOLD_CASES
from tests.test_conventions_rules_recurrent import CASES as RECURRENT_CASES
from tests.test_conventions_rules_timm import CASES as TIMM_CASES

SEQUENCE, VOLUME = (4, 12), (4, 3, 5, 6)

CASES = [
    case("conv1d", SEQUENCE, {"type": "conv1d", "out_channels": 6, "kernel": 3, "padding": 1}),
    case("conv1d-grouped-nobias", (4, 15), {"type": "conv1d", "out_channels": 8, "kernel": 5, "groups": 2,
                                            "stride": 2, "dilation": 2, "bias": False}),
    case("conv1d-same-asymmetric", (4, 9), {"type": "conv1d", "out_channels": 2, "kernel": 2, "stride": 2,
                                            "padding": "same"}),
    case("conv1d-table", (3, 9), {"type": "conv1d", "kernel": 3, "table": [[0], [0, 1], [1, 2]]}),
    case("conv1d-weight-norm-causal", SEQUENCE, {"type": "conv1d", "out_channels": 5, "kernel": 3, "dilation": 2,
                                                 "padding": [4, 0], "weight_norm": True}),
    case("conv3d-weight-norm", VOLUME, {"type": "conv3d", "out_channels": 2, "kernel": 2, "weight_norm": True,
                                        "bias": False}),
    case("conv3d", VOLUME, {"type": "conv3d", "out_channels": 5, "kernel": 3, "padding": 1}),
    case("conv3d-factored", VOLUME, {"type": "conv3d", "out_channels": 6, "kernel": [3, 1, 1], "stride": [1, 2, 2],
                                     "bias": False}),
    case("deconv1d", SEQUENCE, {"type": "conv_transpose1d", "out_channels": 3, "kernel": 4, "stride": 2,
                                "padding": 1}),
    case("deconv3d", (4, 2, 3, 3), {"type": "conv_transpose3d", "out_channels": 2, "kernel": 2, "stride": 2,
                                    "groups": 2, "bias": False}),
    case("max_pool1d", (4, 13), {"type": "max_pool1d", "kernel": 3, "stride": 2, "padding": 1}),
    case("max_pool1d-same-asymmetric", (4, 8), {"type": "max_pool1d", "kernel": 2, "stride": 1, "padding": "same"}),
    case("max_pool3d", VOLUME, {"type": "max_pool3d", "kernel": [1, 2, 2], "ceil_mode": True}),
    case("avg_pool1d", SEQUENCE, {"type": "avg_pool1d", "kernel": 4, "stride": 2}),
    case("avg_pool3d", VOLUME, {"type": "avg_pool3d", "kernel": 2, "padding": 1}),
    case("avg_pool3d-same-asymmetric", VOLUME, {"type": "avg_pool3d", "kernel": 2, "stride": 1, "padding": "same"}),
    case("adaptive_avg1d", (4, 7), {"type": "adaptive_avg_pool1d", "output_size": 3}),
    case("adaptive_max1d", (4, 7), {"type": "adaptive_max_pool1d", "output_size": 3}),
    case("adaptive_avg3d", VOLUME, {"type": "adaptive_avg_pool3d", "output_size": [1, 2, 4]}),
    case("adaptive_max3d", VOLUME, {"type": "adaptive_max_pool3d", "output_size": [2, 2, 2]}),
    case("global_avg-1d", SEQUENCE, {"type": "global_avg_pool"}),
    case("global_avg-3d", VOLUME, {"type": "global_avg_pool"}),
    case("global_max-3d", VOLUME, {"type": "global_max_pool"}),
    case("global_avg-flat", (4, 6, 6), {"type": "global_avg_pool", "keep_dims": False}),
    case("global_max-flat", VOLUME, {"type": "global_max_pool", "keep_dims": False}),
    case("batchnorm1d-features", (20,), {"type": "batchnorm1d"}),
    case("batchnorm1d-sequence", SEQUENCE, {"type": "batchnorm1d", "affine": False}),
    case("batchnorm2d", (4, 6, 6), {"type": "batchnorm2d", "track_running_stats": False}),
    case("batchnorm3d", VOLUME, {"type": "batchnorm3d"}),
    case("batchnorm-volume", VOLUME, {"type": "batchnorm"}),
    case("instancenorm1d", SEQUENCE, {"type": "instancenorm1d", "affine": True}),
    case("instancenorm2d", (4, 6, 6), {"type": "instancenorm2d"}),
    case("instancenorm3d", VOLUME, {"type": "instancenorm3d", "affine": True}),
    case("instancenorm-volume", VOLUME, {"type": "instancenorm"}),
    case("upsample-linear", SEQUENCE, {"type": "upsample", "scale": 2, "mode": "linear"}),
    case("upsample-nearest-1d", SEQUENCE, {"type": "upsample", "size": 30}),
    case("upsample-trilinear", (2, 2, 3, 3), {"type": "upsample", "scale": 2, "mode": "trilinear",
                                              "align_corners": True}),
    case("upsample-nearest-3d", (2, 2, 3, 3), {"type": "upsample", "scale": 2}),
    case("pad1d", SEQUENCE, {"type": "pad1d", "padding": [2, 1], "mode": "reflect"}),
    case("pad3d", VOLUME, {"type": "pad3d", "padding": 1}),
    case("dropout1d", SEQUENCE, {"type": "dropout1d"}),
    case("dropout2d", (4, 6, 6), {"type": "dropout2d"}),
    case("dropout3d", VOLUME, {"type": "dropout3d"}),
    case("alpha_dropout", (20,), {"type": "alpha_dropout"}),
    case("crop-volume", VOLUME, {"type": "crop", "size": [2, 3, 3]}),
    case("linear-tokens", (16, 100), {"type": "linear", "out_features": 10}),
    case("layernorm-tokens", (16, 100), {"type": "layernorm"}),
    case("softmax-tokens", (16, 100), {"type": "softmax", "axis": -1}),
    case("relu-volume", VOLUME, {"type": "relu"}),
    *RECURRENT_CASES,  # lstm, gru, rnn and their cells: tests/test_conventions_rules_recurrent.py
    *FOLD_CASES,  # unfold, fold, unfold_axis: tests/test_conventions_rules_fold.py
    *TIMM_CASES,  # timm's conv variants and blocks: tests/test_conventions_rules_timm.py
]


@pytest.mark.parametrize("input_shape, layers", CASES)
def test_each_tool_counts_new_families_as_its_profile_predicts(input_shape, layers):
    assert_tools_agree(input_shape, layers)
