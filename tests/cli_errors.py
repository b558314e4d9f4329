"""The bad-input contract of every command: one line on stderr naming the problem, exit code 2."""

from __future__ import annotations


def assert_one_line_error(result, message: str) -> None:
    assert result.exit_code == 2, result.output
    assert message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
