"""`report --format html`: one self-contained page to open in a browser or attach to a pull request.

Summary (and training, and a convention, when the report carries them), the block tree with
subtotals and shares (expanded to the default depth or `--depth`; every block can be opened or
closed), the diagram and the plots as inline SVG, and every layer in a table whose columns sort on
a click. Style and script are inlined (render/html_assets.py): nothing is fetched, it works offline.
Every text from the spec is escaped. Exact integers throughout; sorting uses them (`data-value`).
"""

from __future__ import annotations

from html import escape as _html_escape

from archcalc.analysis.hierarchy import Block, block_tree, resolve_depth
from archcalc.analysis.results import Report
from archcalc.escape import plain
from archcalc.render.html_assets import SCRIPT, STYLE
from archcalc.render.summary import incomplete_lines, shared_lines, summary_rows, unused_lines
from archcalc.render.units import exact, hyper_text, pair_text, shape_text, share

def escape(text) -> str:
    """HTML text and attribute values: control characters shown escaped (archcalc/escape.py), then entities."""
    return _html_escape(plain(text))


TREE_COLUMNS = ("block / layer", "type", "output", "hyper-params", "params", "% params", "MACs", "% MACs", "FLOPs",
                "activations", "RF")  # fmt: skip
LAYER_COLUMNS = (("layer", "name", False), ("type", "type", False), ("output", "output_shape", False),
                 ("params", "params", True), ("MACs", "macs", True), ("FLOPs", "flops", True),
                 ("connections", "connections", True), ("activations", "activations", True),
                 ("RF", "receptive_field", False))  # fmt: skip


def _num(value: int) -> str:
    return f'<td class="num" data-value="{value}">{exact(value)}</td>'


def _pairs_table(rows: list[tuple[str, str, str]]) -> str:
    body = "".join(f"<tr><td>{escape(label)}</td><td class=\"num\">{escape(value)}</td>"
                   f"<td class=\"num muted\">{escape(approx)}</td></tr>" for label, value, approx in rows)  # fmt: skip
    return f'<table class="summary"><tbody>{body}</tbody></table>'


def _tree_rows(report: Report, tree: Block, depth: int) -> list[str]:
    """Every entry of the tree in preorder; entries deeper than `depth` start hidden, blocks above it open."""
    t = report.totals
    out: list[str] = []
    ids: dict[int, str] = {id(tree): ""}
    stack = [(child, "") for child in reversed(tree.children)]
    counter = 0
    while stack:
        block, parent = stack.pop()
        counter += 1
        row_id = f"b{counter}"
        ids[id(block)] = row_id
        level = block.level
        hidden = " hidden" if level > depth else ""
        is_open = bool(block.children) and level < depth
        button = (f'<button class="toggle" aria-expanded="{"true" if is_open else "false"}" '
                  f'aria-label="open or close {escape(block.name)}">{"▾" if is_open else "▸"}</button>'
                  if block.children else '<span class="indent" style="width:1.4em"></span>')  # fmt: skip
        layer = block.layer if block.is_layer else None
        kind = layer.type if layer else f"{block.layer_count} layers"
        hyper = hyper_text(layer.attributes) if layer else ""
        rf = pair_text(layer.receptive_field) if layer and layer.receptive_field else ""
        label = block.name.rsplit(".", 1)[-1] if "." in block.name else block.name
        if label.isdigit() and "." in block.name:
            label = ".".join(block.name.rsplit(".", 2)[-2:])
        indent = f'<span class="indent" style="width:{1.2 * (level - 1):.1f}em"></span>'
        css = "block" if block.children else "layer"
        out.append(
            f'<tr class="{css}" data-id="{row_id}" data-parent="{parent}" data-level="{level}"'
            f' data-name="{escape(block.name)}"{hidden}><td title="{escape(block.name)}">{indent}{button}'
            f"{escape(label)}</td><td>{escape(kind)}</td><td>{shape_text(block.output_shape)}</td>"
            f"<td>{escape(hyper)}</td>{_num(block.params)}<td class=\"num\">{share(block.params, t.params)}</td>"
            f"{_num(block.macs)}<td class=\"num\">{share(block.macs, t.macs)}</td>{_num(block.flops)}"
            f"{_num(block.activations)}<td class=\"num\">{rf}</td></tr>"
        )  # fmt: skip
        stack.extend((child, row_id) for child in reversed(block.children))
    return out


def _tree_section(report: Report, depth: int | str | None) -> list[str]:
    tree = block_tree(report)
    level = resolve_depth(tree, depth)
    t = report.totals
    head = "".join(f'<th class="{"num" if c in ("params", "% params", "MACs", "% MACs", "FLOPs", "activations", "RF") else ""}">'
                   f"{c}</th>" for c in TREE_COLUMNS)  # fmt: skip
    total = (f'<tr class="total"><td>total ({len(report.layers)} layers)</td><td></td><td></td><td></td>'
             f"{_num(t.params)}<td class=\"num\">100%</td>{_num(t.macs)}<td class=\"num\">100%</td>{_num(t.flops)}"
             f"{_num(t.activations)}<td></td></tr>")  # fmt: skip
    return [
        "<h2>Blocks</h2>",
        f'<p class="muted">Block rows are the subtotals of the layers below them; opened to depth {level} of '
        f"{tree.height()}. <button data-tree-action=\"expand\" data-target=\"tree\">expand all</button> "
        '<button data-tree-action="collapse" data-target="tree">collapse all</button></p>',
        f'<div class="scroll"><table class="tree" id="tree"><thead><tr>{head}</tr></thead><tbody>',
        *_tree_rows(report, tree, level),
        f"</tbody><tfoot>{total}</tfoot></table></div>",
    ]


def _layers_section(report: Report) -> list[str]:
    head = "".join(f'<th class="{"num" if numeric else ""}">{title}</th>' for title, _, numeric in LAYER_COLUMNS)
    body = []
    for layer in report.layers:
        cells = []
        for _, key, numeric in LAYER_COLUMNS:
            value = getattr(layer, key)
            if numeric:
                cells.append(_num(value))
            elif key == "output_shape":
                cells.append(f"<td>{shape_text(value)}</td>")
            elif key == "receptive_field":
                cells.append(f'<td class="num">{pair_text(value) if value else ""}</td>')
            else:
                cells.append(f"<td>{escape(str(value))}</td>")
        body.append(f'<tr data-name="{escape(layer.name)}">{"".join(cells)}</tr>')
    return ["<h2>Layers</h2>", '<p class="muted">Click a column header to sort.</p>',
            f'<div class="scroll"><table class="sortable" id="layers"><thead><tr>{head}</tr></thead><tbody>',
            *body, "</tbody></table></div>"]  # fmt: skip


def render_html(report: Report, depth: int | str | None = None) -> str:
    from archcalc.render.svg import bars_svg, diagram_svg, receptive_field_svg

    title = f"{report.name} (input {shape_text(report.input_shape)}, batch {report.batch})"
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f"<title>{escape(report.name)}: archcalc report</title><style>{STYLE}</style></head><body>",
             f"<h1>{escape(title)}</h1>"]  # fmt: skip
    if report.description:
        parts.append(f"<p>{escape(report.description)}</p>")
    if report.source:
        parts.append(f'<p class="muted">Source: {escape(report.source)}</p>')
    if report.variables:
        listed = ", ".join(f"<code>{escape(str(k))} = {escape(str(v))}</code>" for k, v in report.variables.items())
        parts.append(f'<p class="muted">Variables: {listed}</p>')
    if not report.complete:
        parts.append('<div class="warning">' + "<br>".join(escape(line) for line in incomplete_lines(report)) + "</div>")
    parts += [f'<p class="muted">{escape(line)}</p>' for line in shared_lines(report) + unused_lines(report)]
    parts += ["<h2>Summary</h2>", _pairs_table(summary_rows(report))]
    if report.training is not None:
        from archcalc.render.training import training_rows

        parts += ["<h2>Training</h2>", _pairs_table(training_rows(report.training))]
    if report.llm is not None:
        from archcalc.render.llm import llm_rows, title

        parts += ["<h2>LLM</h2>", f'<p class="muted">{escape(title(report.llm))}</p>', _pairs_table(llm_rows(report.llm))]
    if report.convention is not None:
        from archcalc.render.conventions import convention_summary

        parts.append(f"<p>{escape(convention_summary(report.convention))}</p>")
    parts += _tree_section(report, depth)
    parts += ["<h2>Diagram</h2>", '<p class="muted">Blocks at the default depth; repeated blocks merged, activations '
              "and norms folded into the box before them.</p>", f'<div class="scroll">{diagram_svg(report)}</div>',
              "<h2>Plots</h2>", f'<div class="scroll">{bars_svg(report)}</div>',
              f'<div class="scroll">{receptive_field_svg(report)}</div>']  # fmt: skip
    parts += _layers_section(report)
    parts += ['<p class="muted">Generated by archcalc. Counts are exact integers; see docs/reports.md.</p>',
              f"<script>{SCRIPT}</script></body></html>"]
    return "\n".join(parts) + "\n"


__all__ = ["render_html"]
