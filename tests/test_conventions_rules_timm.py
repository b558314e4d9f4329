"""The convention rules of timm's convolution variants and blocks against the real tools (fvcore, ptflops, thop,
torchinfo and FlopCounterMode on archcalc's torch build), at batch 1 and 2: the weight standardisation fvcore
counts once per call, the children hooks of linear_norm, blur_pool2d's depthwise conv. The cases join
tests/test_conventions_rules_nd.py's table."""

from __future__ import annotations

from tests.test_conventions_rules import case

CASES = [
    case("conv2d-standardized", (4, 7, 7), {"type": "conv2d", "out_channels": 6, "kernel": 3, "standardize": "std"}),
    case("conv2d-scaled-standardized-asymmetric", (2, 8, 8), {"type": "conv2d", "out_channels": 4, "kernel": 3,
                                                              "stride": 2, "standardize": "scaled",
                                                              "padding": [0, 1, 0, 1], "bias": False}),
    case("blur_pool2d", (4, 9, 9), {"type": "blur_pool2d"}),
    case("blur_pool2d-shared", (3, 8, 8), {"type": "blur_pool2d", "kernel": 5, "shared_filter": True,
                                           "padding_mode": "zeros"}),
    case("linear_norm", (5, 6), {"type": "linear_norm", "out_features": 4}),
    case("normalize", (5, 6), {"type": "normalize", "axis": -1}),
    case("normalize-channels", (4, 3, 3), {"type": "normalize"}),
    case("strided_slice", (5, 5, 8), {"type": "strided_slice", "steps": [2, 2]}),
    case("strided_slice-offset", (5, 5, 8), {"type": "strided_slice", "steps": [2, 2], "starts": [0, 1]}),
    case("pad-negative", (3, 6, 6), {"type": "pad", "padding": [-1, 1, -1, 1]}),
]
