"""Helpers for the hostile-input tests: run the CLI in-process and check the error contract."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

import archcalc.cli

# The smallest valid spec, for tests that damage or extend it.
TINY = """input: [3, 8, 8]
layers:
  - {name: conv, type: conv2d, out_channels: 4, kernel: 3}
  - {name: relu, type: relu}
"""


def run(*args: str):
    """`archcalc ARGS...` in-process; `report` runs default to JSON so output is cheap to check."""
    return CliRunner().invoke(archcalc.cli.app, list(args))


def report(path: Path | str, *options: str):
    return run("report", str(path), "--format", "json", *options)


def error_line(result, *fragments: str) -> str:
    """Assert the run failed on bad input (exit 2) with one short line holding every fragment."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.stderr)
    message = result.stderr.rstrip("\n")
    assert "\n" not in message and "Traceback" not in message, message
    assert message.startswith("archcalc: error: ") and len(message) < 800, message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert result.stdout == ""
    return message


def write(folder: Path, name: str, data: str | bytes) -> Path:
    path = folder / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path
