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
    texts = [[plain(cell) for cell in column.cells] for column in columns]
    headers = [column.header for column in columns]
    footers = [column.footer for column in columns]
    if any(plain(text) != text or "[" in text for text in headers + footers):  # rich reads these as markup
        return None
    if not all("".join(cells).isascii() for cells in texts):  # wide and combining characters: rich measures them
        return None
    widths = [max([cell_len(header), cell_len(footer)] + list(map(len, cells)))
              for header, footer, cells in zip(headers, footers, texts)]  # fmt: skip
    # rich drops the trailing spaces of right-justified text (the column is as wide as the text with them)
    texts = [[cell.rstrip() for cell in cells] if column.justify == "right" else cells
             for column, cells in zip(columns, texts)]  # fmt: skip
    sizes = [list(map(len, cells)) for cells in texts]
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
    vertical = box.mid_vertical
    lines.extend(line(row, row_sizes, box.mid_left, vertical, box.mid_right)
                 for row, row_sizes in zip(zip(*texts), zip(*sizes)))  # fmt: skip
    lines.append(box.get_row(padded, "foot"))
    lines.append(line(footers, list(map(cell_len, footers)), box.foot_left, box.foot_vertical, box.foot_right))
    lines.append(box.get_bottom(padded))
    return "\n".join(lines)
