"""Text mutations for the fuzz corpus: damage a spec's bytes (truncation, stray bytes, tabs, lost colons
and brackets), each returning the damaged bytes and a description. generate_corpus.py stacks them with
its data mutations."""

from __future__ import annotations

import random


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def truncate(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    cut = rng.randrange(len(data) + 1)
    return data[:cut], f"truncated at byte {cut}"


def stray_bytes(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    at = rng.randrange(len(data) + 1)
    noise = bytes(rng.randrange(256) for _ in range(8))
    junk = rng.choice([b"\x00", b"\xff\xfe", b"\xc3", b"\x80\x81", b"\x07", noise])
    return data[:at] + junk + data[at:], f"{junk!r} at byte {at}"


def tab_indent(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    lines = _lines(data)
    index = rng.randrange(len(lines))
    lines[index] = b"\t" + lines[index].lstrip(b" ")
    return b"\n".join(lines), f"tab on line {index + 1}"


def line_edit(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    lines = _lines(data)
    index = rng.randrange(len(lines))
    choice = rng.randrange(5)
    if choice == 0:
        lines.insert(index, lines[index])
    elif choice == 1:
        del lines[index]
    elif choice == 2:
        lines[index] = lines[index].replace(b":", b" ", 1)
    elif choice == 3:
        lines[index] = b" " * rng.choice([1, 3, 7]) + lines[index]
    else:
        lines[index] = lines[index].replace(b"]", b"", 1).replace(b"}", b"", 1) + rng.choice([b"[", b"{", b""])
    return b"\n".join(lines), f"line {index + 1} edited ({choice})"


TEXT_MUTATIONS = {f.__name__: f for f in (truncate, stray_bytes, tab_indent, line_edit)}
