"""`archcalc report --module` and `archcalc export-spec`: formats, files, and one-line errors (exit 2)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from archcalc import analyse, load_spec
from archcalc.cli import app
from archcalc.importer import import_model
from archcalc.spec.export import graph_difference
from tests.conftest import ROOT
from tests.models import handmade

runner = CliRunner()
HANDMADE = str(ROOT / "tests" / "models" / "handmade.py")


def invoke(*args: str):
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result


def test_report_module_file_json_lists_unsupported_ops():
    result = invoke("report", "--module", f"{HANDMADE}:build", "--input", "3x16x16", "--format", "json")
    data = json.loads(result.stdout)
    assert data["complete"] is False
    assert [(op["name"], op["op"]) for op in data["unsupported"]] == [("flip", "torch.flip")]
    assert set(data["unsupported"][0]) == {"name", "op", "where", "reason"}
    expected = analyse(import_model(handmade.build, (3, 16, 16)).graph)
    assert data["totals"]["macs"] == expected.totals.macs and data["input_shape"] == [3, 16, 16]


def test_report_module_dotted_path_and_class(monkeypatch):
    monkeypatch.chdir(ROOT)
    table = invoke("report", "--module", "tests.models.resnet:resnet18", "--input", "3x64x64", "--depth", "all").stdout
    assert "│     relu_1 " in table and "11.69 M" in table  # layer4.1.relu_1, indented under layer4 and layer4.1
    assert "INCOMPLETE" not in table
    markdown = invoke("report", "--module", "tests.models.handmade:HandNet", "--input", "3x16x16", "-f", "markdown")
    assert "INCOMPLETE: 1 operation(s)" in markdown.stdout and "- flip: torch.flip at" in markdown.stdout


def test_normal_reports_say_they_are_complete():
    data = json.loads(invoke("report", "vgg16", "--format", "json").stdout)
    assert data["complete"] is True and data["unsupported"] == []


def test_export_spec_writes_a_spec_that_loads_back(tmp_path):
    out = tmp_path / "model.yaml"
    result = invoke("export-spec", "--module", f"{HANDMADE}:build", "--input", "3x16x16", "--output", str(out))
    assert result.stdout == ""
    imported = import_model(handmade.build, (3, 16, 16), source=f"{HANDMADE}:build").graph
    assert graph_difference(imported, load_spec(str(out))) is None
    again = json.loads(invoke("report", str(out), "--format", "json").stdout)
    assert again["complete"] is False and again["totals"]["params"] == analyse(imported).totals.params


def test_export_spec_of_a_spec():
    text = invoke("export-spec", "alexnet_original", "--name", "copy").stdout
    assert text.startswith("name: copy\n")


def test_exporting_a_spec_never_imports_torch():
    code = ("import sys\nfrom typer.testing import CliRunner\nfrom archcalc.cli import app\nimport archcalc.importer\n"
            "assert CliRunner().invoke(app, ['export-spec', 'vgg16']).exit_code == 0\n"
            "print(','.join(m for m in ('torch', 'numpy') if m in sys.modules))\n")  # fmt: skip
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert result.stdout.strip() == ""


def test_fallback_notes_go_to_stderr():
    result = runner.invoke(app, ["report", "--module", f"{HANDMADE}:ShapeBranch", "--input", "3x16x16"])
    assert result.exit_code == 0
    assert "archcalc: note: torch.fx could not trace the model" in result.stderr
    assert "note" not in result.stdout


@pytest.fixture
def user_code(tmp_path):
    (tmp_path / "broken.py").write_text("raise ValueError('boom at import')\n")
    (tmp_path / "models.py").write_text(
        "import torch.nn as nn\n"
        "def raises():\n    raise RuntimeError('cannot build')\n"
        "def number():\n    return 42\n"
        "class NeedsArgs(nn.Module):\n    def __init__(self, c):\n        super().__init__()\n"
        "value = 3\n"
        "def conv():\n    return nn.Sequential(nn.Conv2d(3, 4, 3))\n"
    )
    return tmp_path


@pytest.mark.parametrize("args, message", [
    (["--module", "{d}/missing.py:f", "--input", "3x8x8"], "missing.py: no such file"),
    (["--module", "{d}/broken.py:f", "--input", "3x8x8"], "broken.py: importing it raised ValueError: boom at import"),
    (["--module", "{d}/models.py:rasies", "--input", "3x8x8"], "has no attribute 'rasies' (did you mean 'raises'?)"),
    (["--module", "{d}/models.py:raises", "--input", "3x8x8"], "models.py:raises raised RuntimeError: cannot build"),
    (["--module", "{d}/models.py:number", "--input", "3x8x8"], "returned int, not a torch.nn.Module"),
    (["--module", "{d}/models.py:NeedsArgs", "--input", "3x8x8"], "raised TypeError"),
    (["--module", "{d}/models.py:value", "--input", "3x8x8"], "is not callable (int)"),
    (["--module", "{d}/models.py", "--input", "3x8x8"], "--module takes FILE.py:CALLABLE or package.module:CALLABLE"),
    (["--module", "no_such_package.models:f", "--input", "3x8x8"], "no module named 'no_such_package'"),
    (["--module", "{d}/models.py:conv"], "--module needs --input"),
    (["--module", "{d}/models.py:conv", "--input", "5x8x8"], "running the model on input [5, 8, 8] failed"),
    (["--module", "{d}/models.py:conv", "--input", "3x8x8", "--set", "a=1"], "--set replaces spec variables"),
    (["vgg16", "--module", "{d}/models.py:conv", "--input", "3x8x8"], "give a SPEC or --module, not both"),
    ([], "give a SPEC (a spec file or built-in name) or --module"),
])  # fmt: skip
@pytest.mark.parametrize("command", ["report", "export-spec"])
def test_bad_modules_give_one_line_and_exit_2(user_code, command, args, message):
    result = runner.invoke(app, [command] + [arg.format(d=user_code) for arg in args])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("archcalc: error: ") and message in lines[0], lines
    assert "Traceback" not in result.output
