"""The terminal table (rich): the layers as a tree of blocks at a depth, hyper-parameters, shares of
the totals, a totals row, then the summary; human units (`exact=True` prints every integer in full).

At the default depth a big network shows its blocks as subtotal rows (ResNet-50: stages and
bottlenecks, 27 rows for 175 layers) and a small one every layer; `depth` chooses ("all" for every
layer). The table fits `width` (None: no limit) by leaving out columns in a fixed order and naming
them under it; `color` adds styles for a terminal.
"""

from __future__ import annotations

from operator import attrgetter
from typing import Any, Callable

from archcalc.analysis.hierarchy import Block, Row, block_tree, resolve_depth, rows
from archcalc.analysis.results import Report
from archcalc.escape import rich_text
from archcalc.render.columns import Column, console_text, fit_columns, left_out_line, rich_table
from archcalc.render.plain_table import plain_table
from archcalc.render.summary import incomplete_lines, shared_lines, summary_rows, unused_lines
from archcalc.render.units import exact as exact_text
from archcalc.render.units import human, hyper_text, pair_text, shape_text, share

HYPER_LEGEND = "k kernel, s stride, p padding, d dilation, g groups, out output size"


def tree_label(row: Row) -> str:
    """Indented last name component; an index (`0`) keeps its parent's name (`layer1.0`), as it reads."""
    parts = row.block.name.split(".")
    label = parts[-1]
    if row.indent and label.isdigit() and len(parts) > 1:
        label = f"{parts[-2]}.{label}"
    return "  " * row.indent + label


def rf_text(block: Block) -> str:
    """A layer's receptive field; a block's is that of its output (its last layer)."""
    layer = block.last
    if layer is None:
        return ""
    return pair_text(layer.receptive_field) + ("" if layer.rf_aligned in (True, None) else "*")


def block_hyper(block: Block, texts: dict[int, str] | None = None) -> str:
    """A layer's hyper-parameters; a block's are those of its one conv or linear layer, if it has just one.
    `texts` remembers the text of each attributes dict (analyse shares one among layers that read alike)."""
    if block.is_layer:
        attributes = block.layer.attributes
    elif len(block.weighted) == 1:
        attributes = block.weighted[0].attributes
    else:
        return ""
    if texts is None:
        return hyper_text(attributes)
    text = texts.get(id(attributes))
    if text is None:
        text = texts[id(attributes)] = hyper_text(attributes)
    return text


class _Texts(dict):
    """value -> its text, each distinct value formatted once (a big network repeats the same few counts)."""

    def __init__(self, format: Callable[[Any], str]) -> None:
        super().__init__()
        self.format = format

    def __missing__(self, value: Any) -> str:
        text = self[value] = self.format(value)
        return text


def report_columns(report: Report, table_rows: list[Row], exact: bool) -> list[Column]:
    fmt = exact_text if exact else human
    t = report.totals
    blocks = [row.block for row in table_rows]
    count_text = _Texts(fmt).__getitem__
    hyper_texts: dict[int, str] = {}  # by id: the dicts live in the report throughout

    def counts(key: str) -> list[str]:
        return list(map(count_text, map(attrgetter(key), blocks)))

    def shares(key: str) -> list[str]:
        whole = getattr(t, key)
        return list(map(_Texts(lambda part: share(part, whole)).__getitem__, map(attrgetter(key), blocks)))

    return [
        Column("layer", [tree_label(row) for row in table_rows], footer="total", justify="left", shrink_to=14),
        Column("type", [b.layer.type if b.is_layer else f"{b.layer_count} layers" for b in blocks], justify="left",
               drop=6, shrink_to=10),
        Column("output", [shape_text(b.output_shape) for b in blocks], justify="left", drop=5),
        Column("hyper-params", [block_hyper(b, hyper_texts) for b in blocks], justify="left", drop=7),
        Column("params", counts("params"), footer=fmt(t.params)),
        Column("%params", shares("params"), footer="100%" if t.params else "-", drop=4, style="dim"),
        Column("MACs", counts("macs"), footer=fmt(t.macs)),
        Column("%MACs", shares("macs"), footer="100%" if t.macs else "-", drop=4, style="dim"),
        Column("FLOPs", counts("flops"), footer=fmt(t.flops), drop=8),
        Column("activations", counts("activations"), footer=fmt(t.activations), drop=9),
        Column("connections", counts("connections"), footer=fmt(t.connections), drop=10),
        Column("RF", [rf_text(b) for b in blocks], drop=3),
    ]  # fmt: skip


def depth_line(tree: Block, depth: int) -> str | None:
    height = tree.height()
    if height <= 1:
        return None
    if depth >= height:
        return "indented rows are the layers of the block above; block rows are their subtotals"
    return (f"depth {depth} of {height}: block rows are subtotals of their layers; --depth N or --depth all "
            "shows more")  # fmt: skip


def render_table(report: Report, exact: bool = False, width: int | None = None, color: bool = False,
                 depth: int | str | None = None) -> str:  # fmt: skip
    from rich.table import Table

    tree = block_tree(report)
    level = resolve_depth(tree, depth)
    table_rows = rows(tree, level)
    columns = report_columns(report, table_rows, exact)
    shown, left_out = fit_columns(columns, width)
    styles = ["bold" if row.block.children else None for row in table_rows] if color else None
    title = f"{report.name}  (input {shape_text(report.input_shape)}, batch {report.batch})"  # escaped by rich_table
    # Without colour rich's layout is simple enough to write directly (minutes faster for 100,000 rows).
    table_text = None if color else plain_table(shown, title, width)
    out: list = [table_text if table_text is not None else rich_table(shown, title=title, row_styles=styles,
                                                                      show_footer=True)]  # fmt: skip
    notes = [depth_line(tree, level), left_out_line(left_out, width)]
    if any(c.header == "hyper-params" for c in shown) and any(c.header == "hyper-params" and any(c.cells)
                                                               for c in columns):  # fmt: skip
        over = any("over" in layer.attributes for layer in report.layers)  # layers/over.py
        notes.append(f"hyper-params: {HYPER_LEGEND}" + (", over n: applied to each slice of n leading axes" if over
                                                        else ""))  # fmt: skip
    if any(layer.rf_aligned is False for layer in report.layers):
        notes.append("* receptive fields of the merged inputs are not aligned (different strides or centres)")
    out += [note for note in notes if note]
    summary = Table(show_header=False, box=None, pad_edge=False)
    summary.add_column(style="bold" if color else None)
    summary.add_column(justify="right")
    summary.add_column(justify="right")
    for row in summary_rows(report):
        summary.add_row(*(rich_text(cell) for cell in row))
    if report.training is not None:
        from archcalc.render.training import training_rows

        for row in training_rows(report.training):
            summary.add_row(*row)
    out.append(summary)
    if report.llm is not None:
        from archcalc.render.llm import llm_rows, title

        llm = Table(title=title(report.llm), title_justify="left", show_header=False, box=None, pad_edge=False)
        for justify in ("left", "right", "right"):
            llm.add_column(justify=justify)
        for row in llm_rows(report.llm):
            llm.add_row(*row)
        out.append(llm)
    out += incomplete_lines(report) + shared_lines(report) + unused_lines(report)
    if report.convention is not None:
        from archcalc.render.conventions import convention_summary

        out.append(convention_summary(report.convention))
    if table_text is not None:
        return table_text + "\n" + console_text(out[1:], width, color)
    return console_text(out, width, color)
