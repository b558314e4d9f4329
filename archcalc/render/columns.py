"""Terminal tables that fit a width: columns are dropped in a declared order, then long names shortened.

Every terminal table (report, check, sweep, compare, bench) describes its columns here and calls
`fit_columns`: the columns it can show at the width, and the ones it had to leave out, which the
renderer names under the table so nothing disappears silently. `width=None` (output piped to a file,
no COLUMNS) shows every column. Widths are counted in terminal cells, with rich's heavy box: one
border per column plus one, and a space either side of each cell.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

DEFAULT_SHRINK_TO = 12


@dataclass
class Column:
    header: str
    cells: list[str]
    footer: str = ""
    justify: str = "right"
    drop: int = 0  # 0: always shown; otherwise the higher, the earlier it is left out for width
    shrink_to: int | None = None  # text columns (names) may be cut to this many cells, with "…"
    wrap: bool = False  # a shortened column wraps its text onto more lines instead of cutting it
    style: str | None = None
    width: int | None = field(default=None, init=False)  # set by fit_columns when the column is shortened

    def natural(self) -> int:
        from rich.cells import cell_len

        return max([cell_len(self.header), cell_len(self.footer)] + [cell_len(c) for c in self.cells])


def table_width(widths: list[int]) -> int:
    return sum(widths) + 3 * len(widths) + 1


def fit_columns(columns: list[Column], width: int | None) -> tuple[list[Column], list[Column]]:
    """(shown, left out), both in table order.

    Leaves out the columns with the highest `drop` first (the last of equals first) until the table fits
    with its name columns shortened as far as they may be; then takes back any left-out column that
    still fits, most important first; then shortens the name columns only as much as needed. What
    still does not fit overflows (rich folds it) rather than vanish.
    """
    if width is None:
        return list(columns), []
    natural = {id(c): c.natural() for c in columns}
    narrowest = {id(c): min(natural[id(c)], c.shrink_to) if c.shrink_to else natural[id(c)] for c in columns}

    def fits(chosen: list[Column], sizes: dict) -> bool:
        return table_width([sizes[id(c)] for c in chosen]) <= width

    by_drop = sorted((c for c in columns if c.drop), key=lambda c: (-c.drop, -columns.index(c)))
    shown = list(columns)
    for candidate in by_drop:
        if fits(shown, narrowest):
            break
        shown.remove(candidate)
    for candidate in reversed(by_drop):  # most important first
        if candidate not in shown and fits(shown + [candidate], narrowest):
            shown.append(candidate)
    shown.sort(key=columns.index)
    excess = table_width([natural[id(c)] for c in shown]) - width
    for column in shown:
        column.width = None
        if excess > 0 and natural[id(column)] > narrowest[id(column)]:
            cut = min(excess, natural[id(column)] - narrowest[id(column)])
            column.width = natural[id(column)] - cut
            excess -= cut
    return shown, [c for c in columns if c not in shown]


def rich_table(columns: list[Column], title: str | None = None, row_styles: list[str | None] | None = None,
               show_footer: bool = False):  # fmt: skip
    from rich.table import Table
    from rich.text import Text

    from archcalc.escape import plain

    # Cells are Text, never markup, and control characters from a spec are shown escaped (archcalc/escape.py).
    table = Table(title=Text(plain(title)) if title else None, title_justify="left", show_footer=show_footer,
                  header_style="bold")  # fmt: skip
    for column in columns:
        table.add_column(column.header, footer=column.footer, justify=column.justify, style=column.style,
                         no_wrap=not column.wrap, overflow="fold" if column.wrap else "ellipsis",
                         max_width=column.width, min_width=column.width)  # fmt: skip
    for position in range(len(columns[0].cells) if columns else 0):
        table.add_row(*(Text(plain(c.cells[position])) for c in columns),
                      style=row_styles[position] if row_styles else None)
    return table


def left_out_line(left_out: list[Column], width: int | None) -> str | None:
    if not left_out:
        return None
    names = ", ".join(c.header for c in left_out)
    return f"not shown at {width} columns: {names} (a wider terminal or --width N shows them)"


def console_text(renderables: list, width: int | None, color: bool) -> str:
    """Print rich renderables (or plain strings, printed as they are) into a string."""
    from rich.console import Console
    from rich.text import Text

    buffer = io.StringIO()
    console = Console(file=buffer, width=width or 100_000, force_terminal=color, color_system="auto" if color else None,
                      highlight=False, emoji=False, soft_wrap=False)  # fmt: skip
    from archcalc.escape import plain

    for item in renderables:
        console.print(Text(plain(item)) if isinstance(item, str) else item)
    return "\n".join(line.rstrip(" ") for line in buffer.getvalue().split("\n"))  # titles pad to the table width


__all__ = ["Column", "console_text", "fit_columns", "left_out_line", "rich_table", "table_width"]
