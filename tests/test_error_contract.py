"""Exit codes 0 / 2 / 3, one line each; usage errors are bad input; --debug adds the traceback."""

from __future__ import annotations

import pytest
from tests.hostile_support import error_line, run

import archcalc.analysis
from archcalc.cli.common import BUG_HINT


def _explode(*args, **kwargs):
    raise RuntimeError("boom\nsecond line")


def test_internal_error_is_one_line_with_a_bug_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(archcalc.analysis, "analyse", _explode)
    result = run("report", "vgg16")
    assert result.exit_code == 3
    assert result.stderr == f"archcalc: internal error: RuntimeError: boom second line; {BUG_HINT}\n"
    assert "Traceback" not in result.output


def test_debug_shows_the_traceback_and_keeps_the_exit_code(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(archcalc.analysis, "analyse", _explode)
    result = run("--debug", "report", "vgg16")
    assert result.exit_code == 3
    assert result.stderr.startswith("Traceback (most recent call last):")
    assert "RuntimeError: boom" in result.stderr and result.stderr.rstrip().endswith(BUG_HINT)


def test_debug_on_bad_input(tmp_path) -> None:
    result = run("--debug", "report", str(tmp_path / "missing.yaml"))
    assert result.exit_code == 2
    assert "Traceback" in result.stderr and result.stderr.rstrip().splitlines()[-1].endswith("no such file")
    assert run("report", str(tmp_path / "missing.yaml")).stderr.count("\n") == 1  # --debug does not stick


def test_interrupt(monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(archcalc.analysis, "analyse", interrupt)
    result = run("report", "vgg16")
    assert result.exit_code == 130 and result.stderr == "archcalc: interrupted\n"


def test_closed_pipe_ends_quietly(monkeypatch: pytest.MonkeyPatch) -> None:
    def closed(*args, **kwargs):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr("archcalc.cli.report.emit", closed)
    result = run("report", "vgg16")
    assert result.exit_code == 0 and result.stderr == ""


@pytest.mark.parametrize("args, fragment", [
    (["report", "vgg16", "--bogus"], "No such option: --bogus"),
    (["report", "vgg16", "--batch", "abc"], "--batch"),
    (["report", "vgg16", "--batch", "1.5"], "--batch"),
    (["report", "vgg16", "--max-layers", "many"], "--max-layers"),
    (["frobnicate"], "No such command"),
    (["report", "vgg16", "--format"], "requires an argument"),
])  # fmt: skip
def test_usage_errors_are_one_line_exit_2(args: list[str], fragment: str) -> None:
    message = error_line(run(*args), fragment)
    assert message.endswith("(see --help)")


@pytest.mark.parametrize("args, fragment", [
    (["report", "vgg16", "--batch", "0"], "batch must be a positive integer"),
    (["report", "vgg16", "--batch", "9" * 30], "below 2**63"),
    (["report", "vgg16", "--dtype", "float99"], "unknown dtype"),
    (["report", "vgg16", "--input", "3x0x224"], "--input takes"),
    (["report", "vgg16", "--input", "3x" + "9" * 5000], "--input takes"),
    (["report", "vgg16", "--set", "nope=1"], "the spec has no variable"),
    (["report", "vgg16", "--set", "x"], "--set takes name=value"),
    (["report"], "give a SPEC"),
])  # fmt: skip
def test_bad_option_values_are_one_line_exit_2(args: list[str], fragment: str) -> None:
    error_line(run(*args), fragment)


def test_no_arguments_prints_help() -> None:
    result = run()
    assert result.exit_code == 0 and "report" in result.stdout
