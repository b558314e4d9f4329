"""The one exception type the library raises for bad input.

Every message renders as a single line, compiler style:

    specs/net.yaml:12: layer features.3: unknown layer type 'conv' (did you mean 'conv2d'?)

The CLI turns it into exit code 2. Anything else that escapes is an internal error (exit 3).
"""

from __future__ import annotations


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
            where = self.file + (f":{self.line}" if self.line is not None else "") + ": "
        elif self.line is not None:
            where = f"line {self.line}: "
        if self.path:
            where += f"layer {self.path}: "
        # One line, always: collapse any newline a message picked up from a third-party library.
        return " ".join((where + self.message).split())


def closest(word: str, choices: list[str] | tuple[str, ...]) -> str:
    """A ' (did you mean X?)' hint, or '' when nothing is close."""
    import difflib

    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{match[0]}'?)" if match else ""
