"""Issue 14 §4, §6 and §7: bad input is exit 2 with an honest one-line message, never 3 or a traceback;
models that misbehave or cannot use the meta device; text from the spec escaped on the way out."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from archcalc.escape import csv_cell, markdown, markdown_cell, plain, rich_text
from tests.hostile_support import TINY, error_line, report, run, write

ROOT = Path(__file__).resolve().parents[1]
MODELS = str(ROOT / "tests" / "models" / "meta_hostile.py")


@pytest.mark.parametrize("body, fragments", [
    ("variables: {w: '(-8) ** 0.5'}\n" + TINY, ("complex",)),
    ("variables: {w: \"float('nan')\"}\n" + TINY, ("not finite",)),
    ("variables: {lambda: 3}\n" + TINY, ("keyword",)),
    (TINY + "  - {type: relu, when: 1}\n", ("'when' must be true or false", "layer 2")),
    (TINY + "  - {type: relu, when: yes}\n", ("YAML 1.2", "true or false")),
    (TINY.replace("kernel: 3", "kernel: 1:04"), ("base-60",)),
    (TINY + "  - {type: add, inputs: []}\n", ("layer 2", "'inputs' must be")),
    (TINY + "  - {type: relu, input: conv}\n", ("layer 2", "'inputs'", "not 'input'")),
    (TINY + "  - {type: batchnorm, eps: -1}\n", ("'eps' must be at least 0",)),
    ("blocks: {b: {params: {if: 1}, layers: [relu]}}\n" + TINY + "  - {block: b}\n", ("bad parameter name",)),
])  # fmt: skip
def test_spec_values_that_cannot_be_represented_or_mislead(tmp_path: Path, body: str, fragments: tuple) -> None:
    error_line(report(write(tmp_path, "spec.yaml", body)), *fragments)


def test_utf32_is_named_utf32(tmp_path: Path) -> None:
    error_line(report(write(tmp_path, "u.yaml", "input: [3]".encode("utf-32"))), "UTF-32")
    error_line(report(write(tmp_path, "v.yaml", "input: [3]".encode("utf-16"))), "UTF-16")


@pytest.mark.parametrize("option", ["--epochs", "--dataset-size"])
def test_training_counts_are_bounded(option: str) -> None:
    error_line(run("report", "vgg16", "--train", option, "1" + "0" * 300), option)


def test_json_output_is_strict_json() -> None:
    error_line(run("report", "vgg16", "--set", "num_classes=.nan", "-f", "json"), "not finite")
    result = run("report", "examples/single_conv", "-f", "json")
    json.loads(result.stdout, parse_constant=lambda name: pytest.fail(f"{name} in JSON output"))


def test_a_folder_does_not_shadow_a_builtin_spec(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "resnet18").mkdir()
    monkeypatch.chdir(tmp_path)
    result = run("report", "resnet18", "-f", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["name"] == "resnet18"


def test_zoo_lists_the_other_specs_beside_a_broken_one(tmp_path: Path, monkeypatch) -> None:
    write(tmp_path, "good.yaml", "description: fine\n" + TINY)
    write(tmp_path, "bad.yaml", "description: [\n")
    monkeypatch.setenv("ARCHCALC_SPECS", str(tmp_path))
    result = run("zoo", "-f", "json")
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row["description"] for row in json.loads(result.stdout)}
    assert rows["good"] == "fine" and "cannot be read" in rows["bad"]


# ----- user code ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("factory, fragment", [
    ("exits", "SystemExit"), ("raises_base_exception", "BaseException"), ("exits_in_forward", "SystemExit"),
])  # fmt: skip
def test_models_that_exit_are_exit_2_one_line(factory: str, fragment: str) -> None:
    error_line(run("report", "--module", f"{MODELS}:{factory}", "--input", "3x8x8"), fragment)


def test_a_model_printing_to_stdout_does_not_corrupt_json() -> None:
    command = [sys.executable, "-c", "from archcalc.cli import main; main()", "report", "--module",
               f"{MODELS}:chatty", "--input", "3x8x8", "-f", "json"]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["totals"]["params"] == 112
    assert "building the model" in done.stderr


@pytest.mark.parametrize("factory, note", [
    ("regnet_like", "cannot be built on the meta device"),
    ("value_branch", "does not run on the meta device"),
])  # fmt: skip
def test_the_cpu_fallback_takes_over_from_the_meta_device(factory: str, note: str) -> None:
    result = run("report", "--module", f"{MODELS}:{factory}", "--input", "3x8x8", "-f", "json")
    assert result.exit_code == 0, result.output
    assert note in result.stderr
    assert json.loads(result.stdout)["layers"]


def test_a_model_returning_its_input_beside_results_is_imported() -> None:
    result = run("report", "--module", f"{MODELS}:returns_input_too", "--input", "3x8x8", "-f", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["totals"]["params"] == 112


def test_check_on_cpu_out_of_memory_is_exit_2(tmp_path: Path) -> None:
    path = write(tmp_path, "huge.yaml", "input: [300000]\nlayers:\n  - {type: linear, out_features: 300000}\n")
    error_line(run("check", str(path), "--device", "cpu", "--no-fvcore"), "out of memory")


# ----- the process: pipes and signals --------------------------------------------------------------------
def _archcalc(*args: str) -> list[str]:
    return [sys.executable, "-c", "from archcalc.cli import main; main()", *args]


def test_a_closed_stdout_ends_quietly() -> None:
    done = subprocess.run(f"{' '.join(_quoted(_archcalc('report', 'vgg16')))} | head -c 0", shell=True, cwd=ROOT,
                          capture_output=True, text=True)  # fmt: skip
    assert done.stderr == "", done.stderr


def _quoted(words: list[str]) -> list[str]:
    import shlex

    return [shlex.quote(word) for word in words]


def _wait_until_loading(process: subprocess.Popen, library: str, timeout: float = 120) -> None:
    """Until `library` is mapped into the process (its import has begun): a fixed sleep from the start
    lands in Python's own start-up on a loaded machine, before archcalc can handle anything."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if library in Path(f"/proc/{process.pid}/maps").read_text():
            return
        time.sleep(0.005)
    raise AssertionError(f"{library} was never loaded")


# Delays into torch's import: there a Ctrl-C was once swallowed (the check ran on, exit 0) or surfaced
# as numpy's "cannot load module more than once" (exit 2).
@pytest.mark.parametrize("delay", [0.0, 0.1, 0.25])
def test_an_early_ctrl_c_is_130_without_traceback(delay: float) -> None:
    process = subprocess.Popen(_archcalc("check", "vgg16"), cwd=ROOT, stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # pytest may ignore it
    _wait_until_loading(process, "libtorch")
    time.sleep(delay)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130 and "Traceback" not in stderr, stderr


# A library that loses the Ctrl-C, as torch's import can: it swallows it, or turns it into an ImportError.
SWALLOWING_MODEL = """
import sys, time
sys.stderr.write("ready\\n")
sys.stderr.flush()
try:
    time.sleep(60)
except KeyboardInterrupt:
    {handler}
import torch
def build():
    return torch.nn.Linear(2, 2)
"""


@pytest.mark.parametrize("handler", ["pass", "raise ImportError('cannot load module more than once per process')"])
def test_a_ctrl_c_a_library_swallows_still_ends_the_run_with_130(tmp_path: Path, handler: str) -> None:
    model = tmp_path / "model.py"
    model.write_text(SWALLOWING_MODEL.format(handler=handler))
    process = subprocess.Popen(_archcalc("report", "--module", f"{model}:build", "--input", "2"), cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # fmt: skip
    assert process.stderr is not None and process.stderr.readline() == "ready\n"
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    assert (process.returncode, stdout) == (130, ""), stderr
    assert "Traceback" not in stderr and "interrupted" in stderr, stderr


# ----- escaping ---------------------------------------------------------------------------------------------
def test_escaping_helpers() -> None:
    assert plain("a\x1b[31mb\u202e") == "a\\x1b[31mb\\u202e"
    assert rich_text("[red]x") == "\\[red]x"
    assert markdown("<script> a<0.5 |") == "&lt;script> a<0.5 |"
    assert markdown_cell("a|b") == "a\\|b"
    assert csv_cell("=1+1") == "'=1+1" and csv_cell("-x") == "'-x" and csv_cell(5) == 5 and csv_cell("ok") == "ok"


HOSTILE = """name: "evil\\e[31m|<b>x</b>"
description: "<img src=x onerror=alert(1)> \\e]0;title\\a"
input: [3, 8, 8]
layers:
  - {name: "=HYPERLINK(\\"http://x\\")", type: conv2d, out_channels: 4, kernel: 3}
  - {name: "a|b<i>`c\\e[2J[red]x", type: relu}
"""


@pytest.mark.parametrize("fmt", ["table", "markdown", "csv"])
def test_spec_text_never_reaches_output_raw(tmp_path: Path, fmt: str) -> None:
    path = write(tmp_path, "evil.yaml", HOSTILE)
    result = run("report", str(path), "-f", fmt)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "\x1b" not in out and "\x07" not in out
    if fmt == "markdown":
        assert "<img" not in out and "<b>" not in out  # text; inside `code spans` HTML is shown, not run
        table_rows = [line for line in out.splitlines() if line.startswith("| `a")]
        assert table_rows and all(line.count(" | ") == table_rows[0].count(" | ") for line in table_rows)
    if fmt == "csv":
        cells = [cell for row in csv.reader(io.StringIO(out)) for cell in row]
        assert not any(cell.startswith(("=", "+", "@")) for cell in cells)
    if fmt == "table":
        assert "[red]x" in out  # rich markup printed as written, not applied
