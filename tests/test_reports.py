"""reports/ holds generated files only: the committed zoo reports must equal a fresh `make zoo-reports`."""

from __future__ import annotations

import csv
import io

from archcalc.render.zoo_reports import zoo_report_files
from archcalc.spec import builtin_specs
from tests.conftest import ROOT

REPORTS = ROOT / "reports"


def test_zoo_reports_are_current():
    files = zoo_report_files({name: str(path) for name, path in builtin_specs().items()})
    stale = [name for name, text in files.items()
             if not (REPORTS / name).exists() or (REPORTS / name).read_text() != text]  # fmt: skip
    committed = {path.relative_to(REPORTS).as_posix() for path in (REPORTS / "zoo").rglob("*.md")}
    extra = sorted(committed - set(files))
    assert not stale and not extra, f"stale {stale[:5]}, extra {extra[:5]}: run `make zoo-reports`"


def test_zoo_summary_has_every_spec_with_exact_integers():
    rows = list(csv.DictReader(io.StringIO((REPORTS / "zoo.csv").read_text())))
    assert [row["spec"] for row in rows] == list(builtin_specs())
    resnet50 = next(row for row in rows if row["spec"] == "resnet50")
    assert int(resnet50["params"]) == 25_557_032 and int(resnet50["depth"]) == 50
