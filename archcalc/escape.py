"""Text from a spec or a model (layer names, descriptions, unsupported operations) on its way out.

Specs are written by people and by scripts, and sometimes by someone hostile: a layer name may hold a
terminal escape sequence, HTML, a `|` that breaks a markdown table, or `=HYPERLINK(...)` for a
spreadsheet. Every renderer passes such text through one of these (JSON needs none: json.dumps escapes):

- `plain`: control characters (C0, C1, DEL, bidirectional overrides, line and paragraph separators)
  become visible escapes like `\\x1b`, so nothing reaches a terminal raw and a row stays one line;
- `rich_text`: `plain`, and rich's markup (`[bold]`) escaped, for rich tables and consoles;
- `markdown`: `plain`, and a `<` that could open HTML as an entity, for markdown text;
- `markdown_cell`: `markdown` with `|` escaped, for markdown table cells;
- `markdown_code`: `plain` with `|` escaped and backticks replaced, for text inside a code span;
- `csv_cell`: `plain`, and a leading `=`, `+`, `-`, `@` quoted with `'` (no formula injection).
"""

from __future__ import annotations

import re
from typing import Any

# C0 controls, DEL, C1 controls, line/paragraph separators, bidi embeddings/overrides/isolates
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _visible(match: re.Match) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def plain(text: Any) -> str:
    """`text` with every control character shown as an escape (`\\x1b`, `\\u202e`)."""
    text = str(text)
    return _CONTROL.sub(_visible, text) if _CONTROL.search(text) else text


def rich_text(text: Any) -> str:
    """For rich: `plain`, with markup brackets escaped so `[red]` prints as written."""
    from rich.markup import escape

    return escape(plain(text))


def markdown(text: Any) -> str:
    """For markdown text: `plain`, and no raw HTML (a `<` that could open a tag or comment is an entity)."""
    return _TAG_START.sub("&lt;", plain(text))


def markdown_cell(text: Any) -> str:
    """For a markdown table cell: `markdown`, and `|` escaped so the row keeps its columns."""
    return markdown(text).replace("|", "\\|")


def html(text: Any) -> str:
    """For HTML-capable labels (Mermaid): `plain`, with &, <, > and quotes as entities."""
    out = plain(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return out.replace('"', "&quot;")


def markdown_code(text: Any) -> str:
    """For text inside a `code span` (HTML is not interpreted there; a backtick would end it)."""
    return plain(text).replace("`", "'").replace("|", "\\|")


def csv_cell(value: Any) -> Any:
    """A CSV cell: numbers as they are; text `plain`, quoted with `'` when a spreadsheet would run it."""
    if not isinstance(value, str):
        return value
    text = plain(value)
    return "'" + text if text.startswith(_FORMULA_START) else text
