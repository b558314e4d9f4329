"""unfold, fold (layers/fold.py) and unfold_axis (layers/sliding_window.py) against the torch modules they
describe: shapes, params and FLOPs (the cases join tests/test_layer_rules_nd.py's table), and fold's closed-form
counts against torch's own col2im summing ones, over geometries with overlaps, holes, dilation and padding."""

from __future__ import annotations

import json

import hypothesis.strategies as st
import pytest
import torch
from hypothesis import given
import torch.nn.functional as F
from torch import nn

from archcalc import analyse, load_spec_text
from archcalc.errors import ArchcalcError
from tests.test_layer_rules import Case, check_case
from tests.test_layer_rules_tokens import Twice

CASES = [
    Case("unfold", {"type": "unfold", "kernel": 3, "padding": 1}, (4, 6, 5), lambda: nn.Unfold(3, padding=1),
         {"output_shape": [36, 30], "flops": 0, "connections": 0, "receptive_field": None}),
    Case("unfold-patches", {"type": "unfold", "kernel": [4, 2], "stride": [4, 2]}, (3, 8, 6),
         lambda: nn.Unfold((4, 2), stride=(4, 2)), {"output_shape": [24, 6]}),  # TNT's pixel patches
    Case("unfold-dilated-strided", {"type": "unfold", "kernel": 2, "dilation": [2, 1], "stride": [1, 3],
                                    "padding": [0, 2]}, (2, 7, 7),
         lambda: nn.Unfold(2, dilation=(2, 1), padding=(0, 2), stride=(1, 3)), {"output_shape": [8, 20]}),
    Case("fold", {"type": "fold", "output_size": 6, "kernel": 3, "padding": 1}, (36, 36),
         lambda: nn.Fold(6, 3, padding=1), {"output_shape": [4, 6, 6], "flops": 4 * (16 * 16 - 36),
                                            "connections": 4 * 16 * 16, "macs": 0, "receptive_field": None}),
    Case("fold-holes", {"type": "fold", "output_size": [7, 5], "kernel": 2, "stride": 3}, (12, 4),
         lambda: nn.Fold((7, 5), 2, stride=3), {"output_shape": [3, 7, 5], "flops": 0, "connections": 3 * 4 * 4}),
    Case("unfold_axis", {"type": "unfold_axis", "axis": 1, "size": 4, "step": 2}, (3, 10, 6),
         lambda: Twice(1, lambda x: x.unfold(2, 4, 2)), {"output_shape": [3, 4, 6, 4], "flops": 0}),
    Case("unfold_axis-last", {"type": "unfold_axis", "axis": -1, "size": 3, "step": 3}, (2, 9), None,
         {"output_shape": [2, 3, 3], "receptive_field": None}),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_rule_matches_torch(case: Case):
    check_case(case)


FOLDS = [  # (output size, kernel, stride, padding, dilation) per case, the same on both axes unless a pair
    (6, 3, 1, 1, 1), (7, 2, 3, 0, 1), (9, 3, 2, 2, 2), ((8, 5), (3, 2), (1, 2), (1, 0), (1, 3)), (5, 5, 1, 2, 1),
    (10, 2, 4, 1, 3), (4, 1, 2, 0, 1), (11, 4, 3, 3, 2),
]


@pytest.mark.parametrize(("size", "kernel", "stride", "padding", "dilation"), FOLDS)
def test_fold_counts_what_col2im_sums(size, kernel, stride, padding, dilation):
    """Ones folded back give, per position, how many column elements torch adds there: their sum is the
    connections, and n − 1 adds per position reached is the FLOPs."""
    channels = 2
    unfold = {"type": "unfold", "kernel": kernel, "stride": stride, "padding": padding, "dilation": dilation}
    pair = size if isinstance(size, tuple) else (size, size)
    spec = {"input": [channels, *pair], "layers": [unfold, {"type": "fold", "output_size": list(pair), **{
        key: value for key, value in unfold.items() if key != "type"}}]}
    report = analyse(load_spec_text(json.dumps(spec)))
    columns = torch.ones(1, *report.layers[0].output_shape)
    sums = F.fold(columns, pair, kernel, dilation=dilation, padding=padding, stride=stride)
    fold = report.layers[1]
    assert fold.output_shape == list(sums.shape[1:])
    assert fold.connections == int(sums.sum())
    assert fold.flops == int(sums.sum()) - int((sums > 0).sum())


sizes = st.one_of(st.integers(1, 4), st.lists(st.integers(1, 4), min_size=2, max_size=2))
pads = st.one_of(st.integers(0, 3), st.lists(st.integers(0, 3), min_size=2, max_size=2))


@given(map_size=st.lists(st.integers(1, 9), min_size=2, max_size=2), kernel=sizes, stride=sizes, padding=pads,
       dilation=sizes)  # fmt: skip
def test_random_unfold_fold_pairs_agree_with_torch_or_both_reject(map_size, kernel, stride, padding, dilation):
    """Random geometries: archcalc's unfold and fold shapes, and fold's counts, equal torch's (col2im summing
    ones), or both refuse the geometry."""
    window = {"kernel": kernel, "stride": stride, "padding": padding, "dilation": dilation}
    spec = {"input": [2, *map_size], "layers": [{"type": "unfold", **window},
                                                {"type": "fold", "output_size": map_size, **window}]}  # fmt: skip
    try:
        columns = F.unfold(torch.ones(1, 2, *map_size), kernel, dilation, padding, stride)
        sums = F.fold(columns, map_size, kernel, dilation, padding, stride)
    except RuntimeError:
        with pytest.raises(ArchcalcError, match="collapses"):
            analyse(load_spec_text(json.dumps(spec)))
        return
    unfold, fold = analyse(load_spec_text(json.dumps(spec))).layers
    assert unfold.output_shape == list(columns.shape[1:]) and fold.output_shape == list(sums.shape[1:])
    assert fold.connections == int(sums.sum()) and fold.flops == int(sums.sum()) - int((sums > 0).sum())


@pytest.mark.parametrize(("layer", "shape", "message"), [
    ({"type": "fold", "output_size": 6, "kernel": 3}, (36, 30), "30 columns, but a [6, 6] map holds 16 windows"),
    ({"type": "fold", "output_size": 6, "kernel": 3, "padding": 1}, (35, 36), "35 rows are not a multiple"),
    ({"type": "fold", "output_size": 6, "kernel": 3}, (4, 6, 6), "needs a [rows, columns] input"),
    ({"type": "unfold", "kernel": 3}, (4, 2, 8), "collapses"),
    ({"type": "unfold", "kernel": 3}, (4, 8), "needs a [channels, height, width] input"),
    ({"type": "unfold", "kernel": [3, 3, 3]}, (4, 8, 8), "takes one integer or [height, width]"),
    ({"type": "unfold_axis", "axis": 3, "size": 2, "step": 1}, (4, 8, 8), "axis 3 is out of range"),
    ({"type": "unfold_axis", "axis": 0, "size": 5, "step": 1}, (4, 8, 8), "window size 5 is longer"),
    ({"type": "unfold_axis", "axis": 0, "size": 2, "step": 0}, (4, 8, 8), "step"),
])  # fmt: skip
def test_bad_attributes_are_one_line_errors(layer, shape, message):
    with pytest.raises(ArchcalcError, match=message.replace("[", r"\[").replace("]", r"\]")):
        analyse(load_spec_text(json.dumps({"input": list(shape), "layers": [layer]})))


@pytest.mark.parametrize(("layer", "fragments"), [
    ("{name: f, type: fold, output_size: 5, kernel: 3, padding: 1}", ("spec.yaml:4", "layer f", "36 columns")),
    ("{name: f, type: fold, output_size: [5], kernel: 3}", ("spec.yaml:4", "layer f", "'output_size'")),
    ("{name: w, type: unfold_axis, axis: 0, size: 2}", ("spec.yaml:4", "layer w", "'step'")),
])  # fmt: skip
def test_bad_specs_exit_2_with_one_line(tmp_path, layer, fragments):
    from tests.hostile_support import error_line, report, write

    spec = "input: [4, 6, 6]\nlayers:\n  - {name: u, type: unfold, kernel: 3, padding: 1}\n  - " + layer + "\n"
    error_line(report(write(tmp_path, "spec.yaml", spec)), *fragments)
