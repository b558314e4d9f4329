"""Markdown: a self-contained document. Summary, training (with --train), the ten heaviest layers by
MACs and by params, a diagram of the graph (Mermaid, or Graphviz DOT), links to the plots written
beside it, and the per-layer table; exact integers throughout.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from archcalc.analysis.results import LayerResult, Report
from archcalc.escape import markdown, markdown_cell, markdown_code
from archcalc.render.summary import incomplete_lines, shared_lines, summary_rows, unused_lines
from archcalc.render.units import exact, human, hyper_text, pair_text, shape_text, share

HEAVIEST = 10
DIAGRAMS = ("mermaid", "dot", "none")


@dataclass
class Attachments:
    """What goes with the document: the diagram style, and files written beside it (relative names)."""

    diagram: str = "mermaid"
    dot_file: str | None = None  # with diagram 'dot' and a file output: the .dot file beside it
    plots: list[tuple[str, str]] = field(default_factory=list)  # (title, file name)


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _heaviest(report: Report, key: str, title: str) -> list[str]:
    ranked = sorted((layer for layer in report.layers if getattr(layer, key)), key=lambda l: -getattr(l, key))
    total = getattr(report.totals, key)
    lines = [f"### By {title}", "", _row(["#", "layer", "type", "output", title, "share"]),
             "|---:|---|---|---|---:|---:|"]  # fmt: skip
    for rank, layer in enumerate(ranked[:HEAVIEST], start=1):
        value = getattr(layer, key)
        lines.append(_row([str(rank), f"`{markdown_code(layer.name)}`", layer.type, shape_text(layer.output_shape),
                           exact(value) + (f" ({human(value)})" if human(value) != str(value) else ""),
                           share(value, total)]))  # fmt: skip
    if not ranked:
        lines.append(f"| | no layer has {title} | | | | |")
    return lines + [""]


def _diagram(report: Report, attachments: Attachments) -> list[str]:
    if attachments.diagram == "none":
        return []
    lines = ["## Graph", ""]
    if attachments.diagram == "dot":
        from archcalc.render.diagram import dot

        if attachments.dot_file:
            return lines + [f"Graphviz DOT of every layer: [{attachments.dot_file}]({attachments.dot_file}) "
                            f"(`dot -Tsvg {attachments.dot_file} -o graph.svg`).", ""]  # fmt: skip
        return lines + ["```dot", dot(report).rstrip("\n"), "```", ""]
    from archcalc.render.mermaid import mermaid_sections

    sections, note = mermaid_sections(report)
    return lines + ([note[0].upper() + note[1:], ""] if note else []) + sections + [""]


def _layer_table(report: Report) -> list[str]:
    backward = {}
    header = ["layer", "type", "output", "hyper-params", "params", "MACs", "FLOPs", "connections", "activations",
              "RF", "stride"]  # fmt: skip
    if report.training is not None:
        from archcalc.render.training import backward_by_layer

        backward = backward_by_layer(report.training)
        header += ["backward MACs", "backward FLOPs"]
    lines = [_row(header), "|---|---|---|---|" + "---:|" * (len(header) - 4)]

    def cells(layer: LayerResult) -> list[str]:
        rf = pair_text(layer.receptive_field) + ("" if layer.rf_aligned in (True, None) else " (not aligned)")
        row = [f"`{markdown_code(layer.name)}`", layer.type, shape_text(layer.output_shape), hyper_text(layer.attributes),
               exact(layer.params),
               exact(layer.macs), exact(layer.flops), exact(layer.connections), exact(layer.activations), rf,
               pair_text(layer.effective_stride)]  # fmt: skip
        return row + ([exact(v) for v in backward[layer.name]] if backward else [])

    lines += [_row(cells(layer)) for layer in report.layers]
    t = report.totals
    total = ["**total**", "", "", "", exact(t.params), exact(t.macs), exact(t.flops), exact(t.connections),
             exact(t.activations), "", ""]  # fmt: skip
    if report.training is not None:
        total += [exact(report.training.backward_macs), exact(report.training.backward_flops)]
    return lines + [_row(total)]


def _blocks(report: Report, depth: int | str | None) -> list[str]:
    """The block tree at a depth with subtotals and shares (nothing for a network without blocks)."""
    from archcalc.analysis.hierarchy import block_tree, resolve_depth, rows
    from archcalc.render.table import depth_line, tree_label

    tree = block_tree(report)
    level = resolve_depth(tree, depth)
    if tree.height() <= 1 or (depth is None and level >= tree.height()):
        return []  # no blocks, or a small network whose every layer the layer table already lists
    t = report.totals
    lines = ["## Blocks", "", depth_line(tree, level) + ".", "",
             _row(["block", "layers", "output", "params", "% params", "MACs", "% MACs", "FLOPs", "activations"]),
             "|---|---:|---|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for row in rows(tree, level):
        block = row.block
        label = tree_label(row).strip()
        name = f"**`{markdown_code(label)}`**" if block.children else f"`{markdown_code(label)}`"
        kind = block.layer.type if block.is_layer else str(block.layer_count)
        lines.append(_row(["&nbsp;" * 4 * row.indent + name, kind, shape_text(block.output_shape), exact(block.params),
                           share(block.params, t.params), exact(block.macs), share(block.macs, t.macs),
                           exact(block.flops), exact(block.activations)]))  # fmt: skip
    lines.append(_row(["**total**", str(len(report.layers)), "", exact(t.params), "100%" if t.params else "-",
                       exact(t.macs), "100%" if t.macs else "-", exact(t.flops), exact(t.activations)]))  # fmt: skip
    return lines + [""]


def render_markdown(report: Report, attachments: Attachments | None = None, depth: int | str | None = None) -> str:
    attachments = attachments or Attachments()
    lines = [f"# {markdown(report.name)}", ""]
    if report.description:
        lines += [markdown(report.description), ""]
    if report.source:
        lines += [f"Source: {markdown(report.source)}", ""]
    if report.variables:
        lines += ["Variables: " + ", ".join(f"`{markdown_code(f'{k} = {v}')}`" for k, v in report.variables.items()),
                  ""]  # fmt: skip
    if not report.complete:
        lines += [markdown(line) for line in incomplete_lines(report)] + [""]
    lines += [item for line in shared_lines(report) + unused_lines(report) for item in (markdown(line), "")]
    lines += ["## Summary", "", "| total | exact | approx. |", "|---|---:|---:|"]
    lines += [_row([markdown_cell(cell) for cell in row]) for row in summary_rows(report)]
    lines.append("")
    if report.training is not None:
        from archcalc.render.training import training_rows

        lines += ["## Training", "", "| quantity | exact | approx. |", "|---|---:|---:|"]
        lines += [_row(list(row)) for row in training_rows(report.training)]
        lines += ["", "Backward rules per layer type: `archcalc layers --format markdown`; see docs/reports.md.", ""]
    if report.llm is not None:
        from archcalc.render.llm import llm_rows, title

        lines += ["## LLM", "", markdown(title(report.llm)), "", "| quantity | exact | approx. |", "|---|---:|---:|"]
        lines += [_row([markdown_cell(cell) for cell in row]) for row in llm_rows(report.llm)] + [""]
    lines += _blocks(report, depth)
    lines += ["## Heaviest layers", ""] + _heaviest(report, "macs", "MACs") + _heaviest(report, "params", "params")
    lines += _diagram(report, attachments)
    if attachments.plots:
        lines += ["## Plots", ""]
        for title, name in attachments.plots:
            lines += [f"![{title}]({name})", ""]
    lines += ["## Layers", ""] + _layer_table(report)
    if report.convention is not None:
        from archcalc.render.conventions import convention_summary

        lines += ["", convention_summary(report.convention)]
    return "\n".join(lines) + "\n"
