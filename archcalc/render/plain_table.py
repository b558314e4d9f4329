"""A terminal table without styles, laid out as rich lays it out, in a fraction of the time.

rich measures and renders every cell through several layers of objects: about a millisecond a row, so
a 100,000-layer report took minutes as a table. Without colour, and when no column has to be shortened
or wrapped, the layout is simple: each column as wide as its widest cell, one space either side, the
heavy-head box (rich's own box characters), the title on its own line above. This writes that text
directly for ASCII cells; tests/test_plain_table.py checks it against rich, line for line. Anything else
(colour, other characters in cells, a shortened column, a title wider than the table, other
justifications, markup or control characters in a header or footer) returns None: rich lays it out.
"""

from __future__ import annotations

from archcalc.escape import plain
from archcalc.render.columns import Column, table_width


def plain_table(columns: list[Column], title: str | None, max_width: int | None) -> str | None:
    """The table (title, header, rows, footer) as rich prints it without colour, lines stripped of trailing
    spaces and joined by newlines; None where rich must lay it out."""
    from rich.box import HEAVY_HEAD as box
    from rich.cells import cell_len

    if not columns or not columns[0].cells or any(c.width is not None or c.justify not in ("left", "right")
                                                  for c in columns):  # fmt: skip
        return None
    texts = [_plain_cells(column.cells) for column in columns]
    headers = [column.header for column in columns]
    footers = [column.footer for column in columns]
    if any(plain(text) != text or "[" in text for text in headers + footers):  # rich reads these as markup
        return None
    if not all("".join(cells).isascii() for cells in texts):  # wide and combining characters: rich measures them
        return None
    widths = [max([cell_len(header), cell_len(footer)] + list(map(len, cells)))
              for header, footer, cells in zip(headers, footers, texts)]  # fmt: skip
    # rich drops the trailing spaces of right-justified text (the column is as wide as the text with them)
    texts = [list(map(str.rstrip, cells)) if column.justify == "right" else cells
             for column, cells in zip(columns, texts)]  # fmt: skip
    total = table_width(widths)
    title_text = plain(title) if title else None
    if total > (max_width or 100_000) or (title_text is not None and cell_len(title_text) > total):
        return None

    def line(cells: list[str], cell_sizes: list[int], left: str, middle: str, right: str) -> str:
        parts = []
        for column, text, size, width in zip(columns, cells, cell_sizes, widths):
            pad = " " * (width - size)
            parts.append(f" {text}{pad} " if column.justify == "left" else f" {pad}{text} ")
        return left + middle.join(parts) + right

    padded = [width + 2 for width in widths]
    lines = [title_text.rstrip(" ")] if title_text is not None else []
    lines.append(box.get_top(padded))
    headers = [text.rstrip() if c.justify == "right" else text for c, text in zip(columns, headers)]
    footers = [text.rstrip() if c.justify == "right" else text for c, text in zip(columns, footers)]
    lines.append(line(headers, list(map(cell_len, headers)), box.head_left, box.head_vertical, box.head_right))
    lines.append(box.get_row(padded, "head"))
    # Every row by one format string (each cell padded to its column's width, on the side rich pads it).
    cells = [f" {{:{'<' if column.justify == 'left' else '>'}{width}}} " for column, width in zip(columns, widths)]
    row_format = (box.mid_left + box.mid_vertical.join(cells) + box.mid_right).format
    lines.extend(map(row_format, *texts))
    lines.append(box.get_row(padded, "foot"))
    lines.append(line(footers, list(map(cell_len, footers)), box.foot_left, box.foot_vertical, box.foot_right))
    lines.append(box.get_bottom(padded))
    return "\n".join(lines)


def _plain_cells(cells: list) -> list[str]:
    """`plain` of every cell; one pass over the whole column when (as usual) no cell has a control character."""
    texts = list(map(str, cells))
    joined = "".join(texts)
    return texts if plain(joined) == joined else list(map(plain, texts))
