"""The convention rules of unfold, fold and unfold_axis against the real tools (fvcore, ptflops, thop, torchinfo and
FlopCounterMode on archcalc's torch build), at batch 1 and 2: none of them counts im2col, col2im or a view, so each
counts 0, fold's adds included. The cases join tests/test_conventions_rules_nd.py's table."""

from __future__ import annotations

from tests.test_conventions_rules import case

CASES = [
    case("unfold", (4, 6, 5), {"type": "unfold", "kernel": 3, "padding": 1}),
    case("unfold-patches", (3, 8, 6), {"type": "unfold", "kernel": [4, 2], "stride": [4, 2]}),
    case("fold", (36, 36), {"type": "fold", "output_size": 6, "kernel": 3, "padding": 1}),
    case("fold-dilated", (8, 12), {"type": "fold", "output_size": [5, 6], "kernel": 2, "dilation": 2}),
    case("unfold_axis", (3, 10, 6), {"type": "unfold_axis", "axis": 1, "size": 4, "step": 2}),
]
