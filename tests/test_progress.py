"""Progress on stderr for long runs, only on a terminal: the library reports (task, done, total), the CLI
draws; pipes and files see nothing."""

from __future__ import annotations

import io
import sys

import pytest
from typer.testing import CliRunner

from archcalc import load_spec
from archcalc.analysis.sweep import run_sweep
from archcalc.cli import app
from archcalc.cli.terminal import StderrProgress

runner = CliRunner()


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, int, int | None]] = []

    def __call__(self, task: str, done: int, total: int | None) -> None:
        self.calls.append((task, done, total))


def test_sweep_reports_each_combination():
    recorder = Recorder()
    run_sweep("examples/stacked_3x3", {"n": [1, 2, 3], "C": [8, 16]}, progress=recorder)
    assert recorder.calls[0] == ("sweep", 0, 6) and recorder.calls[-1] == ("sweep", 6, 6)
    assert [done for _, done, _ in recorder.calls] == list(range(7))


def test_check_reports_its_steps_and_probes():
    from archcalc.check import CheckOptions, check

    recorder = Recorder()
    check(load_spec("examples/stem_7x7"), CheckOptions(fvcore=False, rf_budget=None, progress=recorder))
    steps = [call for call in recorder.calls if call[0] == "check"]
    assert steps[0] == ("check", 0, 2) and steps[-1] == ("check", 2, 2)
    assert any(task.startswith("receptive fields") for task, _, _ in recorder.calls)


def test_bench_reports_its_rounds(tmp_path):
    from archcalc.bench import BenchSettings, bench_spec

    recorder = Recorder()
    bench_spec("examples/three_3x3_on_7x7", threads=1, settings=BenchSettings(1, 3), progress=recorder)
    rounds = [call for call in recorder.calls if call[0].startswith("timing float32")]
    assert rounds[0][1:] == (0, 4) and rounds[-1][1:] == (4, 4)


def test_peers_report_each_tool():
    from archcalc import analyse
    from archcalc.conventions.peers import PEER_TOOLS, measure_all

    graph = load_spec("examples/three_3x3_on_7x7")
    recorder = Recorder()
    measure_all(graph, analyse(graph), recorder)
    assert [done for _, done, _ in recorder.calls] == list(range(len(PEER_TOOLS) + 1))


def test_nothing_is_drawn_off_a_terminal(monkeypatch):
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    with StderrProgress() as progress:
        progress("sweep", 1, 2)
    assert sys.stderr.getvalue() == ""
    result = runner.invoke(app, ["sweep", "examples/stacked_3x3", "--set", "n=1,2,3"])
    assert result.exit_code == 0 and result.stderr == ""


def test_a_terminal_gets_a_bar(monkeypatch):
    stream = io.StringIO()
    stream.isatty = lambda: True  # type: ignore[method-assign]
    monkeypatch.setattr(sys, "stderr", stream)
    with StderrProgress() as progress:
        progress("make bench: resnet50 fvcore", 1, None)
        progress("make bench: vgg16 thop", 2, None)
        assert len(progress._tasks) == 1  # one bar per task, its text updated
    assert "make bench" in stream.getvalue() or progress.enabled


@pytest.mark.parametrize("args", [["check", "examples/stem_7x7", "--no-fvcore"]])
def test_cli_commands_run_with_progress_wired(args):
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
