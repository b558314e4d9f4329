"""The document's plots: the heaviest layers (not a bar per BN layer), receptive fields by depth."""

from __future__ import annotations

from archcalc import analyse, load_spec
from archcalc.render.plots import HEAVIEST, heaviest_rows, layer_costs_png, layer_depths, receptive_field_png
from tests.png import png_size


def test_layer_plot_shows_the_heaviest_layers_and_the_rest():
    report = analyse(load_spec("resnet50"))
    rows, title = heaviest_rows(report)
    assert len(rows) == HEAVIEST + 1 and rows[-1][0] == f"the other {len(report.layers) - HEAVIEST} layers"
    assert sum(macs for _, macs, _ in rows) == report.totals.macs
    assert sum(params for _, _, params in rows) == report.totals.params
    assert not any("bn" in name for name, _, _ in rows[:-1])  # BatchNorm rows are in "the other layers"
    assert "fc" in [name for name, _, _ in rows] and "30 heaviest of 175" in title
    names = [layer.name for layer in report.layers]
    assert [names.index(name) for name, _, _ in rows[:-1]] == sorted(names.index(n) for n, _, _ in rows[:-1])
    small = analyse(load_spec("lenet5"))
    rows, title = heaviest_rows(small)
    assert title == "per layer" or len(rows) <= len(small.layers)
    assert png_size(layer_costs_png(report))[0] == 1200


def test_receptive_field_plot_is_ordered_by_depth():
    report = analyse(load_spec("googlenet"))
    depth = layer_depths(report)
    branches = [depth[f"inception3a.branch{i}.0.conv" if i > 1 else "inception3a.branch1.conv"] for i in (1, 2, 3)]
    assert len(set(branches)) == 1  # parallel branches share a depth, not four places in the order
    assert depth["inception3a.concat"] == 1 + max(depth[layer] for layer in report.layer("inception3a.concat").inputs)
    assert png_size(receptive_field_png(report)) == (1000, 500)
