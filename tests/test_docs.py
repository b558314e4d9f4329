"""The documentation stays true: generated references are current, examples run, commands exist."""

from __future__ import annotations

import re

from archcalc import analyse, load_spec, load_spec_text
from archcalc.cli import app
from archcalc.render.layer_docs import layer_reference_markdown
from tests.conftest import ROOT


def test_layer_reference_is_current(update_goldens):
    path = ROOT / "docs" / "layers.md"
    text = layer_reference_markdown()
    if update_goldens:
        path.write_text(text)
    assert path.read_text() == text, "docs/layers.md is stale: pytest --update-goldens"


def test_spec_format_example_loads():
    doc = (ROOT / "docs" / "spec-format.md").read_text()
    example = re.search(r"```yaml\n(.*?)```", doc, re.S).group(1)
    report = analyse(load_spec_text(example))
    assert report.name == "tiny_resnet" and report.layers[-1].output_shape == [10]


def test_readme_python_example_runs():
    readme = (ROOT / "README.md").read_text()
    code = re.search(r"```python\n(.*?)```", readme, re.S).group(1)
    expected = re.findall(r"print\(.*\)\s*#\s*(.+)$", code, re.M)
    printed: list[str] = []
    exec(compile(code, "README.md", "exec"), {"print": lambda value: printed.append(str(value).replace(" ", ""))})
    assert printed == [e.replace(" ", "") for e in expected]


def test_readme_quick_start_is_exactly_two_commands():
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"## Quick start\s+```\n(.*?)```", readme, re.S).group(1)
    assert block.split("\n")[:-1] == ["make run", "make test"]


def test_every_cli_command_is_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    commands = [c.name or c.callback.__name__ for c in app.registered_commands]
    assert commands
    for command in commands:
        assert f"archcalc {command}" in readme, command
