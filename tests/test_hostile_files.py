"""Hand-made hostile files: empty, binary, wrong encodings, not-a-file, huge, long lines, deep nesting."""

from __future__ import annotations

import errno
import os
import random
from pathlib import Path

import pytest
from tests.hostile_support import TINY, error_line, report, write

import archcalc.spec.source


def test_empty_and_comment_only_files(tmp_path: Path) -> None:
    for name, text in (("empty.yaml", ""), ("blank.yaml", "\n\n  \n"), ("comments.yaml", "# nothing here\n")):
        path = write(tmp_path, name, text)
        error_line(report(path), str(path), "the document is empty")


@pytest.mark.parametrize("doc", ["[1, 2]", "42", "just a sentence", "- input: [3]\n"])
def test_document_that_is_not_a_mapping(tmp_path: Path, doc: str) -> None:
    path = write(tmp_path, "list.yaml", doc)
    error_line(report(path), f"{path}:1: ", "a spec is a mapping")


def test_binary_garbage(tmp_path: Path) -> None:
    garbage = bytes(random.Random(3).randrange(256) for _ in range(4096)) + b"\x00"
    path = write(tmp_path, "garbage.yaml", garbage)
    error_line(report(path), str(path), "binary data")


def test_invalid_utf8_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "latin1.yaml", TINY.encode() + "  - {name: caf\xe9, type: relu}\n".encode("latin-1"))
    error_line(report(path), f"{path}:5: ", "not valid UTF-8")


def test_utf16_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, "utf16.yaml", TINY.encode("utf-16"))
    error_line(report(path), "UTF-16")


def test_utf8_bom_is_fine(tmp_path: Path) -> None:
    path = write(tmp_path, "bom.yaml", b"\xef\xbb\xbf" + TINY.encode())
    assert report(path).exit_code == 0


def test_control_character(tmp_path: Path) -> None:
    path = write(tmp_path, "bell.yaml", TINY.replace("relu}", "re\x07lu}"))
    error_line(report(path), f"{path}:4: ", "#x0007")


def test_directory_given_as_spec(tmp_path: Path) -> None:
    error_line(report(tmp_path), str(tmp_path), "is a directory")


def test_missing_file(tmp_path: Path) -> None:
    error_line(report(tmp_path / "nope.yaml"), "nope.yaml", "no such file")
    error_line(report("no_such_builtin"), "no spec file or built-in spec named 'no_such_builtin'")
    error_line(report(str(tmp_path / "sub" / "x.yaml")), "no such file")


def test_path_too_long_for_the_system(tmp_path: Path) -> None:
    error_line(report(str(tmp_path / ("x" * 5000)) + ".yaml"), "cannot read", "too long")


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "secret.yaml", TINY)
    path.chmod(0)
    if os.geteuid() == 0:  # root reads anything: make the open fail as it would for anyone else
        real_open = open

        def refuse(file, *args, **kwargs):
            if str(file) == str(path):
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(file))
            return real_open(file, *args, **kwargs)

        monkeypatch.setattr(archcalc.spec.source, "open", refuse, raising=False)
    error_line(report(path), str(path), "cannot read", "Permission denied")


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    path = tmp_path / "pipe.yaml"
    os.mkfifo(path)  # opening it for reading would wait forever for a writer
    error_line(report(path), "not a regular file")


def test_symlink_loop(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").symlink_to(tmp_path / "b.yaml")
    (tmp_path / "b.yaml").symlink_to(tmp_path / "a.yaml")
    error_line(report(tmp_path / "a.yaml"), "cannot read")


def test_file_name_with_newline_stays_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, "two\nlines.yaml", "layers: [relu]\n")
    error_line(report(path), "the spec needs 'input'")


def test_50_mb_file(tmp_path: Path) -> None:
    """Refused from its size alone; with --max-file-bytes raised, a spec padded with comments loads."""
    path = tmp_path / "big.yaml"
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(TINY)
        line = "# " + "padding " * 12 + "\n"
        handle.write(line * (50 * 2**20 // len(line) + 1))
    assert path.stat().st_size > 50 * 2**20
    error_line(report(path), str(path), "larger than 16,777,216 bytes", "--max-file-bytes")
    assert report(path, "--max-file-bytes", str(60 * 2**20)).exit_code == 0


def test_extremely_long_lines(tmp_path: Path) -> None:
    long = "x" * 5_000_000
    cases = {
        "key": TINY + f"  - {{name: r2, type: relu, {long}: 1}}\n",
        "type": TINY + f"  - {{name: r2, type: {long}}}\n",
        "name": TINY + f"  - {{name: {long}, type: relu, inputs: nope}}\n",
        "top key": TINY + f"{long}: 1\n",
    }
    for what, text in cases.items():
        path = write(tmp_path, f"long-{what}.yaml", text)
        error_line(report(path), f"{path}:")  # one short line; the 5 MB value is not echoed
    path = write(tmp_path, "long-description.yaml", f"description: {long}\n" + TINY)
    assert report(path).exit_code == 0


def test_long_expression(tmp_path: Path) -> None:
    expression = " + ".join(["1"] * 600)  # 2,397 characters, 1,201 syntax nodes
    path = write(tmp_path, "expr.yaml", TINY.replace("out_channels: 4", f'out_channels: "{expression}"'))
    error_line(report(path), f"{path}:3: layer conv: ", "--max-expression-chars")
    error_line(report(path, "--max-expression-chars", "5000"), "--max-expression-nodes")
    assert report(path, "--max-expression-chars", "5000", "--max-expression-nodes", "2000").exit_code == 0


@pytest.mark.parametrize("text", [
    "- " * 300_000 + "x",                 # block sequences nested on one line: crashed libyaml's composer
    "[" * 100_000 + "]" * 100_000,        # flow sequences
    "{a: " * 50_000 + "1" + "}" * 50_000,  # flow mappings
    "".join(" " * i + "a:\n" for i in range(400)) + " " * 400 + "1\n",  # indentation
])  # fmt: skip
def test_deep_yaml_nesting(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, "deep.yaml", text)
    error_line(report(path), f"{path}:", "nest too deeply", "--max-yaml-nesting")


def test_brackets_in_comments_and_strings_are_not_nesting(tmp_path: Path) -> None:
    text = "# [[[[[[[[[[\n" * 300 + 'description: "' + "[" * 300 + '"\n' + TINY
    assert report(write(tmp_path, "brackets.yaml", text)).exit_code == 0


def test_tabs_get_a_hint(tmp_path: Path) -> None:
    path = write(tmp_path, "tabs.yaml", "input: [3, 8, 8]\nlayers:\n\t- relu\n")
    error_line(report(path), f"{path}:3: ", "tabs")
