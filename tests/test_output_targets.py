"""`--output` writes what it says, where it says, or nothing (issue 14 §5)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from archcalc.errors import ArchcalcError
from archcalc.io import TEMP_PREFIX, write_atomic, write_files
from tests.hostile_support import error_line, run

ROOT = Path(__file__).resolve().parents[1]


def test_a_fifo_is_written_into_not_replaced(tmp_path: Path) -> None:
    fifo = tmp_path / "out.json"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    result = run("report", "examples/single_conv", "-f", "json", "-o", str(fifo))
    reader.join(timeout=60)
    assert result.exit_code == 0, result.output
    assert Path(fifo).is_fifo() and b'"totals"' in received[0]


def test_dev_null_and_stdout_links_are_not_replaced() -> None:
    before = os.stat("/dev/null")
    result = run("report", "examples/single_conv", "-f", "json", "-o", "/dev/null")
    assert result.exit_code == 0, result.output
    after = os.stat("/dev/null")
    assert (after.st_ino, after.st_rdev) == (before.st_ino, before.st_rdev)  # as root too: still the device
    command = [sys.executable, "-c", "from archcalc.cli import main; main()", "report", "examples/single_conv",
               "-f", "json", "-o", "/dev/stdout"]  # fmt: skip
    out = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert '"totals"' in out.stdout and Path("/dev/stdout").is_symlink()


def test_a_link_to_a_file_stays_a_link(tmp_path: Path) -> None:
    target = tmp_path / "real.json"
    target.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    write_atomic(link, "new")
    assert link.is_symlink() and target.read_text() == "new"


@pytest.mark.parametrize("output, fragment", [
    ("", "needs a file name"),
    ("{tmp}/newdir/", "ends with /"),
    ("{tmp}", "is a directory"),
    ("{tmp}/missing/out.json", "does not exist"),
])  # fmt: skip
def test_bad_targets_are_refused(tmp_path: Path, output: str, fragment: str) -> None:
    error_line(run("report", "examples/single_conv", "-o", output.format(tmp=tmp_path)), fragment)
    assert not (tmp_path / "newdir").exists()


def test_a_250_character_file_name_works(tmp_path: Path) -> None:
    name = tmp_path / ("r" * 245 + ".json")
    result = run("report", "examples/single_conv", "-f", "json", "-o", str(name))
    assert result.exit_code == 0, result.output
    assert name.is_file() and not list(tmp_path.glob(f"{TEMP_PREFIX}*"))


def test_a_failed_markdown_run_leaves_no_plots_or_diagram(tmp_path: Path, monkeypatch) -> None:
    def broken(*args, **kwargs):
        raise ArchcalcError("rendering failed on purpose")

    monkeypatch.setattr("archcalc.render.render", broken)
    error_line(run("report", "examples/single_conv", "-f", "markdown", "--diagram", "dot", "-o",
                   str(tmp_path / "net.md")), "on purpose")  # fmt: skip
    assert list(tmp_path.iterdir()) == []


def test_markdown_with_plots_writes_them_with_the_document(tmp_path: Path) -> None:
    result = run("report", "examples/single_conv", "-f", "markdown", "--diagram", "dot", "-o", str(tmp_path / "n.md"))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["n.dot", "n.md", "n_layers.png", "n_rf.png"]


def test_a_dot_diagram_never_overwrites_its_own_document(tmp_path: Path) -> None:
    error_line(run("report", "examples/single_conv", "-f", "markdown", "--diagram", "dot", "--no-plots", "-o",
                   str(tmp_path / "out.dot")), "written twice")  # fmt: skip
    assert list(tmp_path.iterdir()) == []


def test_a_failed_sweep_leaves_no_plot(tmp_path: Path) -> None:
    error_line(run("sweep", "examples/stacked_3x3", "--set", "n=1,2", "--plot", str(tmp_path / "s.png"), "-o",
                   str(tmp_path / "missing" / "s.md")), "does not exist")  # fmt: skip
    assert list(tmp_path.iterdir()) == []


def test_write_files_is_all_or_nothing(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("old")
    with pytest.raises(ArchcalcError):
        write_files({tmp_path / "keep.txt": "new", tmp_path / "no" / "x.txt": "x"})
    assert (tmp_path / "keep.txt").read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def test_sigterm_during_the_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    """A child writes a big file through write_files while its SIGTERM arrives; nothing is left."""
    script = (
        "import os, signal, sys\n"
        "import archcalc.io as io\n"
        "real = io._write_temp\n"
        "def slow(*args):\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    return real(*args)\n"
        "io._write_temp = slow\n"
        f"io.write_files({{{str(tmp_path / 'a.txt')!r}: 'x' * 10_000_000}})\n"
    )  # fmt: skip
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 128 + signal.SIGTERM, done.stderr
    assert list(tmp_path.iterdir()) == []


def test_zoo_reports_refuses_a_file_and_deletes_only_what_it_wrote(tmp_path: Path, monkeypatch) -> None:
    not_a_folder = tmp_path / "file.txt"
    not_a_folder.write_text("mine")
    error_line(run("zoo", "--reports", str(not_a_folder)), "takes a folder")
    specs = tmp_path / "specs"
    specs.mkdir()
    for name in ("a", "b"):
        (specs / f"{name}.yaml").write_text("input: [3, 8, 8]\nlayers: [relu]\n")
    monkeypatch.setenv("ARCHCALC_SPECS", str(specs))
    out = tmp_path / "reports"
    (out / "zoo").mkdir(parents=True)
    (out / "zoo" / "notes.md").write_text("the user's own file")
    assert run("zoo", "--reports", str(out)).exit_code == 0
    assert {p.name for p in (out / "zoo").glob("*.md")} == {"a.md", "b.md", "notes.md"}
    (specs / "b.yaml").unlink()
    assert run("zoo", "--reports", str(out)).exit_code == 0
    assert {p.name for p in (out / "zoo").glob("*.md")} == {"a.md", "notes.md"}  # b.md was its own; notes.md kept
