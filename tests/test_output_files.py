"""--output is written whole or not at all: a failing run leaves an existing file untouched."""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

import pytest
from tests.hostile_support import TINY, error_line, run, write

OLD = "previous results, keep me\n"


def _existing(tmp_path: Path) -> Path:
    out = tmp_path / "out.json"
    out.write_text(OLD)
    return out


def _untouched(out: Path) -> None:
    assert out.read_text() == OLD
    assert [p.name for p in out.parent.iterdir() if p.name.startswith(".out.json.")] == []  # no temp left


def test_success_replaces_the_file_and_keeps_its_mode(tmp_path: Path) -> None:
    out = _existing(tmp_path)
    out.chmod(0o600)
    result = run("report", "vgg16", "--format", "json", "--output", str(out))
    assert result.exit_code == 0 and result.stdout == ""
    assert out.read_text().startswith("{") and out.stat().st_mode & 0o777 == 0o600
    assert list(tmp_path.iterdir()) == [out]


def test_failing_analysis_after_parse(tmp_path: Path) -> None:
    """The spec parses and expands; shape inference then fails: the old output stays."""
    out = _existing(tmp_path)
    spec = write(tmp_path, "bad.yaml", TINY + "  - {name: fc, type: linear, out_features: 10, in_features: 7}\n")
    error_line(run("report", str(spec), "--format", "json", "--output", str(out)), ":5: layer fc: ")
    _untouched(out)


def test_failing_parse(tmp_path: Path) -> None:
    out = _existing(tmp_path)
    error_line(run("report", str(write(tmp_path, "bad.yaml", "input: [3\n")), "-o", str(out)))
    _untouched(out)


def test_bad_format_after_analysis(tmp_path: Path) -> None:
    out = _existing(tmp_path)
    error_line(run("report", "vgg16", "--format", "xml", "--output", str(out)), "unknown format 'xml'")
    _untouched(out)


def test_directory_as_output(tmp_path: Path) -> None:
    folder = tmp_path / "results"
    folder.mkdir()
    (folder / "keep.txt").write_text(OLD)
    error_line(run("report", "vgg16", "-f", "json", "-o", str(folder)), "is a directory")
    assert [p.name for p in folder.iterdir()] == ["keep.txt"]


def test_missing_folder(tmp_path: Path) -> None:
    error_line(run("report", "vgg16", "-o", str(tmp_path / "nope" / "out.json")), "does not exist")


def test_folder_nobody_can_write() -> None:
    """/proc refuses new files even to root."""
    error_line(run("report", "vgg16", "-f", "json", "-o", "/proc/archcalc-out.json"), "cannot write")


def test_unwritable_folder_leaves_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = _existing(tmp_path)
    tmp_path.chmod(0o555)
    try:
        if os.geteuid() == 0:  # root writes anywhere: fail the way a read-only folder fails
            def refuse(*args, **kwargs):
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

            monkeypatch.setattr(tempfile, "mkstemp", refuse)
        error_line(run("report", "vgg16", "-f", "json", "-o", str(out)), str(out), "cannot write", "Permission denied")
    finally:
        tmp_path.chmod(0o755)
    _untouched(out)


@pytest.mark.parametrize("failure", ["disk full", "interrupted"])
def test_failure_while_writing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: str) -> None:
    """The temporary file is complete before the rename; if anything fails first, it is removed."""
    out = _existing(tmp_path)

    def broken_replace(src, dst):
        if failure == "disk full":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", broken_replace)
    result = run("report", "vgg16", "-f", "json", "-o", str(out))
    if failure == "disk full":
        error_line(result, "No space left on device")
    else:
        assert result.exit_code == 130 and "interrupted" in result.stderr
    _untouched(out)
