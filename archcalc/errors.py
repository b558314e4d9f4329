"""The one exception type the library raises for bad input.

Every message renders as a single line, compiler style:

    specs/net.yaml:12: layer features.3: unknown layer type 'conv' (did you mean 'conv2d'?)

The CLI turns it into exit code 2. Anything else that escapes is an internal error (exit 3).
"""

from __future__ import annotations

from typing import Any

# A message names what is wrong; it does not echo a 10 MB value back. File names, layer paths and
# messages are clipped in the middle.
MAX_MESSAGE_CHARS = 600
MAX_PATH_CHARS = 160


class ArchcalcError(Exception):
    """Bad input: a spec, an option or a file the user gave us."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line
        self.path = path

    def located(self, *, file: str | None = None, line: int | None = None, path: str | None = None) -> "ArchcalcError":
        """Fill in location fields that are still unknown (inner frames know more than outer ones)."""
        if self.file is None:
            self.file = file
        if self.line is None:
            self.line = line
        if self.path is None:
            self.path = path
        return self

    def __str__(self) -> str:
        where = ""
        if self.file is not None:
            where = clip(self.file, MAX_PATH_CHARS + 80) + (f":{self.line}" if self.line is not None else "") + ": "
        elif self.line is not None:
            where = f"line {self.line}: "
        if self.path:
            where += f"layer {clip(self.path, MAX_PATH_CHARS)}: "
        # One line, always: collapse any newline a message picked up from a third-party library.
        return " ".join((where + clip(self.message, MAX_MESSAGE_CHARS)).split())


def clip(text: str, limit: int) -> str:
    """`text`, shortened in the middle to at most `limit` characters."""
    if len(text) <= limit:
        return text
    half = (limit - 5) // 2
    return f"{text[:half]} ... {text[-half:]}"


def brief(value: Any, limit: int = 60) -> str:
    """A repr of a user-supplied value, at most about `limit` characters.

    Unlike repr(), it never walks more than it prints, so a YAML alias bomb (a list holding the same
    list ten times, ten levels deep) costs nothing to describe.
    """
    budget = [limit]

    def walk(item: Any, depth: int) -> str:
        if budget[0] <= 0:
            return "..."
        if isinstance(item, (list, tuple, dict)):
            if depth >= 3:
                text = "[...]" if not isinstance(item, dict) else "{...}"
            else:
                pairs = list(item.items())[:8] if isinstance(item, dict) else list(item[:8])
                parts = []
                for entry in pairs:
                    if budget[0] <= 0:
                        break
                    parts.append(f"{walk(entry[0], depth + 1)}: {walk(entry[1], depth + 1)}"
                                 if isinstance(item, dict) else walk(entry, depth + 1))  # fmt: skip
                if len(parts) < len(item):
                    parts.append("...")
                body = ", ".join(parts)
                text = "{" + body + "}" if isinstance(item, dict) else "[" + body + "]"
        elif isinstance(item, int) and item.bit_length() > 1000:  # repr() refuses ints over 4300 digits
            text = f"<an integer of about {int(item.bit_length() * 0.30103):,} digits>"
        else:
            text = repr(item) if not isinstance(item, str) or len(item) <= limit else repr(item[:limit]) + "..."
            text = clip(text, limit + 10)
        budget[0] -= len(text)
        return text

    return walk(value, 0)


def closest(word: str, choices: list[str] | tuple[str, ...]) -> str:
    """A ' (did you mean X?)' hint, or '' when nothing is close."""
    import difflib

    if not isinstance(word, str) or len(word) > 100:
        return ""  # nothing the user typed by hand is that long
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{match[0]}'?)" if match else ""
