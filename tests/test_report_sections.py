"""Optional sections come from the analysis (issue 15 §4): training and convention results are computed by
`analyse` and carried in the Report; every renderer shows them; nothing re-parses another renderer's text."""

from __future__ import annotations

import csv
import io
import json

import pytest

from archcalc import ArchcalcError, analyse, load_spec
from archcalc.analysis import TrainingPlan
from archcalc.conventions import count_convention
from archcalc.render import FORMATS, render


@pytest.fixture(scope="module")
def carried():
    graph = load_spec("resnet18")
    return graph, analyse(graph, batch=2, training=TrainingPlan("adamw", 1000, 3), convention="thop")


def test_analyse_carries_training_and_convention(carried):
    graph, report = carried
    assert report.training is not None and report.training.optimizer == "adamw"
    assert report.training.optimizer_state_bytes == 2 * report.totals.trainable_params * 4  # Adam's two moments
    assert report.training.total_flops == report.training.epoch_flops * 3
    expected = count_convention(graph, analyse(graph, batch=2), "thop")
    assert report.convention == expected
    plain = analyse(graph, batch=2)
    assert plain.training is None and plain.convention is None


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_shows_both_sections(carried, fmt):
    _, report = carried
    text = render(report, fmt)
    training, convention = report.training, report.convention
    if fmt == "json":
        data = json.loads(text)
        assert data["training"]["optimizer"] == "adamw"
        assert data["convention"] == "thop" and data["totals"]["convention_total"] == convention.total
        assert [layer["convention_count"] for layer in data["layers"]] == convention.layers
    elif fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(text)))
        assert sum(int(row["backward_macs"]) for row in rows) == training.backward_macs
        assert [int(row["convention_count"]) for row in rows] == convention.layers
    else:
        assert f"{convention.total:,}" in text and "thop convention" in text
        assert "optimizer state (adamw)" in text
        assert f"{training.iteration_flops:,}" in text or fmt == "table"


def test_the_convention_tables_load_only_when_asked_for():
    import subprocess
    import sys

    code = ("import sys; from archcalc import analyse, load_spec; analyse(load_spec('vgg16'));"
            "print(any(m.startswith('archcalc.conventions') for m in sys.modules))")  # fmt: skip
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"


def test_bad_plans_fail_before_the_analysis():
    graph = load_spec("vgg16")
    with pytest.raises(ArchcalcError, match="unknown optimizer 'adamx'"):
        analyse(graph, training=TrainingPlan("adamx"))
    with pytest.raises(ArchcalcError, match="unknown convention"):
        analyse(graph, convention="fvcor")


def test_no_renderer_parses_text():
    """CSV and the report renderers build their output from the Report, not from another renderer's text."""
    from pathlib import Path

    import archcalc.render as render_package

    for path in Path(render_package.__file__).parent.glob("*.py"):
        source = path.read_text()
        assert "csv.reader(" not in source and "json.loads(" not in source, path.name


def test_check_and_bench_renderers_live_with_the_others():
    from pathlib import Path

    import archcalc.bench as bench_package
    import archcalc.check as check_package

    for package in (bench_package, check_package):
        folder = Path(package.__file__).parent
        assert not [p.name for p in folder.glob("*.py") if "render" in p.name or "export" in p.name or "plot" in p.name]
    from archcalc.render.bench import render_bench  # noqa: F401
    from archcalc.render.check_out import render_check  # noqa: F401
