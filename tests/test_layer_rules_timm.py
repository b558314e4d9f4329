"""The layer types and attributes of timm's convolution variants and blocks (conv `standardize`, blur_pool2d,
linear_norm, normalize, strided_slice, pad with negative sides) against archcalc's torch build and
exact numbers; timm's own lines (tests/models/timm_convs.py) are the references in
tests/test_import_timm_convs.py, where timm's class names are installed for the import (here a reference must
also import back without them, tests/test_import_roundtrip.py). The cases join tests/test_layer_rules_nd.py's
table."""

from __future__ import annotations

import pytest
from torch import nn

from tests.test_layer_rules import Case, check_case

CASES = [
    Case("conv2d-standardized", {"type": "conv2d", "out_channels": 6, "kernel": 3, "standardize": "std",
                                 "bias": False, "padding": 1}, (4, 7, 7), None,
         {"params": 216, "macs": 216 * 49, "flops": 49 * (2 * 36 - 1) * 6 + 5 * 216}),
    Case("conv2d-scaled-standardized-same", {"type": "conv2d", "out_channels": 4, "kernel": 3, "stride": 2,
                                             "standardize": "scaled", "padding": [0, 1, 0, 1]}, (2, 8, 8),
         None,
         {"params": 72 + 4 + 4, "flops": 16 * (2 * 18) * 4 + 6 * 72 + 4}),
    Case("conv1d-standardized", {"type": "conv1d", "out_channels": 3, "kernel": 2, "standardize": "std"}, (2, 9),
         None, {"params": 15, "flops": 8 * 3 * (2 * 4) + 5 * 12}),
    Case("blur_pool2d", {"type": "blur_pool2d", "kernel": 3}, (4, 9, 9), None,
         {"buffers": 36, "macs": 4 * 25 * 9, "output_shape": [4, 5, 5]}),
    Case("blur_pool2d-shared-zeros", {"type": "blur_pool2d", "kernel": 5, "stride": 2, "padding_mode": "zeros",
                                      "shared_filter": True}, (3, 8, 8),
         None, {"buffers": 25, "receptive_field": [5, 5]}),
    Case("linear_norm", {"type": "linear_norm", "out_features": 4}, (5, 6), None,
         {"params": 24 + 8, "buffers": 9, "macs": 120, "flops": 5 * 4 * 11 + 40}),
    Case("normalize-last", {"type": "normalize", "axis": -1}, (5, 6), None, {"flops": 5 * (3 * 6 - 1)}),
    Case("normalize-channels", {"type": "normalize"}, (4, 3, 3), None, {"flops": 9 * 11, "receptive_field": [1, 1]}),
    Case("strided_slice-tokens", {"type": "strided_slice", "steps": [2, 2]}, (5, 5, 8), None,
         {"output_shape": [3, 3, 8], "flops": 0, "receptive_field": None}),
    Case("strided_slice-map", {"type": "strided_slice", "axis": 1, "steps": [1, 3]}, (4, 6, 7), None,
         {"output_shape": [4, 6, 3], "effective_stride": [1, 3]}),
    Case("strided_slice-offset", {"type": "strided_slice", "axis": 1, "steps": [2, 2], "starts": [1, 0]}, (4, 5, 7),
         None, {"output_shape": [4, 2, 4], "effective_stride": [2, 2], "effective_padding": [-1, 0]}),
    Case("pad-negative-crops", {"type": "pad", "padding": [-1, 1, -1, 1]}, (3, 6, 6),
         lambda: nn.ZeroPad2d((-1, 1, -1, 1)), {"output_shape": [3, 6, 6], "effective_padding": [-1, -1]}),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_rule_matches_torch(case: Case):
    check_case(case)
