"""Notebook views: DataFrames of a report (per layer, per block), a sweep and a comparison; Jupyter's
rich display of a Report; pandas is imported by them only."""

from __future__ import annotations

import subprocess
import sys

from archcalc import analyse, load_spec
from archcalc.analysis.compare import compare_reports, load_entries
from archcalc.analysis.sweep import run_sweep
from archcalc.graph_source import SourceOptions


def test_layer_frame_is_exact_and_sums_to_the_totals():
    report = analyse(load_spec("resnet50"))
    frame = report.to_frame()
    assert list(frame.index[:3]) == ["conv1", "bn1", "relu"] and len(frame) == len(report.layers)
    for column in ("params", "macs", "flops", "connections", "activations", "buffers"):
        assert str(frame[column].dtype) == "int64", column
        assert int(frame[column].sum()) == getattr(report.totals, column), column
    assert frame.loc["conv1", "hyper_parameters"] == "k7 s2 p3" and frame.loc["conv1", "output_shape"] == (64, 112, 112)
    assert abs(frame["macs_share"].sum() - 1.0) < 1e-9
    heaviest = frame.sort_values("params", ascending=False, kind="stable").index[0]
    assert heaviest == max(report.layers, key=lambda layer: layer.params).name


def test_block_frame_at_a_depth():
    report = analyse(load_spec("resnet50"))
    blocks = report.to_frame(depth=1)
    assert list(blocks.index) == ["conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4", "avgpool",
                                  "flatten", "fc"]  # fmt: skip
    assert blocks.loc["layer3", "layers"] == 62 and blocks.loc["layer3", "kind"] == "block"
    assert int(blocks["macs"].sum()) == report.totals.macs and int(blocks["layers"].sum()) == len(report.layers)
    assert len(report.to_frame(depth="auto")) == 23  # 27 table rows less the 4 stages, which are expanded


def test_giant_counts_stay_exact():
    report = analyse(load_spec("stress/giant_vgg"))
    frame = report.to_frame()
    assert sum(int(v) for v in frame["flops"]) == report.totals.flops


def test_sweep_and_compare_frames():
    sweep = run_sweep("examples/stacked_3x3", {"n": [1, 2, 3]})
    frame = sweep.to_frame()
    assert list(frame["n"]) == [1, 2, 3] and list(frame["params"]) == [p.totals["params"] for p in sweep.points]
    assert frame.loc[2, "receptive_field"] == (7, 7) and str(frame["macs"].dtype) == "int64"
    comparison = compare_reports(load_entries(["vgg16", "resnet50"], SourceOptions()))
    table = comparison.to_frame()
    assert table.loc["resnet50", "params"] == 25_557_032 and table.loc["vgg16", "params_ratio"] == 1.0
    assert abs(table.loc["resnet50", "params_ratio"] - 25_557_032 / 138_357_544) < 1e-12


def test_jupyter_shows_a_table_not_a_dataclass():
    report = analyse(load_spec("resnet50"))
    html = report._repr_html_()
    assert "<table" in html and "25,557,032" in html and "layer1.0" in html and "layer1.0.conv1" not in html
    assert "<script" not in html and "LayerResult(" not in html
    assert repr(report) == ("Report(resnet50: 175 layers, input [3, 224, 224], batch 1, 25,557,032 params, "
                            "4,089,184,256 MACs)")  # fmt: skip


def test_pandas_only_in_the_notebook_views():
    code = ("import sys; from archcalc import analyse, load_spec; from archcalc.render import render; "
            "r = analyse(load_spec('resnet50')); [render(r, f) for f in ('table', 'json', 'csv', 'markdown', 'html')];"
            "repr(r); r._repr_html_(); print('pandas' in sys.modules);"
            "r.to_frame(); print('pandas' in sys.modules)")  # fmt: skip
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "True"]
