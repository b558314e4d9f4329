"""Markdown: a self-contained document. Summary, training (with --train), the ten heaviest layers by
MACs and by params, a diagram of the graph (Mermaid, or Graphviz DOT), links to the plots written
beside it, and the per-layer table; exact integers throughout.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from archcalc.analysis.results import LayerResult, Report
from archcalc.render.units import exact, human, human_bytes, pair_text, shape_text, share

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


def summary_rows(report: Report) -> list[tuple[str, str, str]]:
    t = report.totals
    final = next((layer for layer in reversed(report.layers) if layer.receptive_field), None)
    rows = [
        ("input", shape_text(report.input_shape) + f" (batch {report.batch})", ""),
        ("params", exact(t.params), human(t.params)),
        ("trainable / non-trainable", f"{exact(t.trainable_params)} / {exact(t.non_trainable_params)}", ""),
        ("buffers", exact(t.buffers), human(t.buffers)),
        ("MACs", exact(t.macs), human(t.macs)),
        ("FLOPs", exact(t.flops), human(t.flops)),
        ("connections (per sample)", exact(t.connections), human(t.connections)),
        ("activations", exact(t.activations), human(t.activations)),
        ("neurons (per sample)", exact(t.neurons), human(t.neurons)),
        (f"param memory ({report.dtype})", exact(t.param_bytes) + " B", human_bytes(t.param_bytes)),
        (f"activation memory ({report.dtype})", exact(t.activation_bytes) + " B", human_bytes(t.activation_bytes)),
        ("peak inference activations", exact(t.peak_activation_bytes) + " B", human_bytes(t.peak_activation_bytes)),
        ("depth (weighted layers)", str(report.depth), ""),
    ]
    if final is not None:  # a graph without a spatial layer (an MLP, a sequence model) has no field to show
        rows.append(("final receptive field", f"{pair_text(final.receptive_field)} ({final.name})", ""))
    return rows



def _heaviest(report: Report, key: str, title: str) -> list[str]:
    ranked = sorted((layer for layer in report.layers if getattr(layer, key)), key=lambda l: -getattr(l, key))
    total = getattr(report.totals, key)
    lines = [f"### By {title}", "", _row(["#", "layer", "type", "output", title, "share"]),
             "|---:|---|---|---|---:|---:|"]  # fmt: skip
    for rank, layer in enumerate(ranked[:HEAVIEST], start=1):
        value = getattr(layer, key)
        lines.append(_row([str(rank), f"`{layer.name}`", layer.type, shape_text(layer.output_shape),
                           exact(value) + (f" ({human(value)})" if human(value) != str(value) else ""),
                           share(value, total)]))  # fmt: skip
    if not ranked:
        lines.append(f"| | no layer has {title} | | | | |")
    return lines + [""]


def _diagram(report: Report, attachments: Attachments) -> list[str]:
    from archcalc.render.diagram import dot, mermaid

    if attachments.diagram == "none":
        return []
    lines = ["## Graph", ""]
    if attachments.diagram == "dot":
        if attachments.dot_file:
            return lines + [f"Graphviz DOT of every layer: [{attachments.dot_file}]({attachments.dot_file}) "
                            f"(`dot -Tsvg {attachments.dot_file} -o graph.svg`).", ""]  # fmt: skip
        return lines + ["```dot", dot(report).rstrip("\n"), "```", ""]
    block, note = mermaid(report)
    return lines + [block, ""] + ([note[0].upper() + note[1:], ""] if note else [])


def _layer_table(report: Report) -> list[str]:
    backward = {}
    header = ["layer", "type", "output", "params", "MACs", "FLOPs", "connections", "activations", "RF", "stride"]
    if report.training is not None:
        from archcalc.render.training import backward_by_layer

        backward = backward_by_layer(report.training)
        header += ["backward MACs", "backward FLOPs"]
    lines = [_row(header), "|---|---|---|" + "---:|" * (len(header) - 3)]

    def cells(layer: LayerResult) -> list[str]:
        rf = pair_text(layer.receptive_field) + ("" if layer.rf_aligned in (True, None) else " (not aligned)")
        row = [f"`{layer.name}`", layer.type, shape_text(layer.output_shape), exact(layer.params),
               exact(layer.macs), exact(layer.flops), exact(layer.connections), exact(layer.activations), rf,
               pair_text(layer.effective_stride)]  # fmt: skip
        return row + ([exact(v) for v in backward[layer.name]] if backward else [])

    lines += [_row(cells(layer)) for layer in report.layers]
    t = report.totals
    total = ["**total**", "", "", exact(t.params), exact(t.macs), exact(t.flops), exact(t.connections),
             exact(t.activations), "", ""]  # fmt: skip
    if report.training is not None:
        total += [exact(report.training.backward_macs), exact(report.training.backward_flops)]
    return lines + [_row(total)]


def incomplete_lines(report: Report) -> list[str]:
    """The warning an incomplete report carries: which operations its totals leave out."""
    if report.complete:
        return []
    lines = [f"INCOMPLETE: {len(report.unsupported)} operation(s) archcalc cannot count; the totals leave out "
             "their MACs, FLOPs and connections:"]  # fmt: skip
    for gap in report.unsupported:
        where = f" at {gap.where}" if gap.where else ""
        lines.append(f"- {gap.name}: {gap.op}{where}" + (f" ({gap.reason})" if gap.reason else ""))
    return lines


def render_markdown(report: Report, attachments: Attachments | None = None) -> str:
    attachments = attachments or Attachments()
    lines = [f"# {report.name}", ""]
    if report.description:
        lines += [report.description, ""]
    if report.source:
        lines += [f"Source: {report.source}", ""]
    if report.variables:
        lines += ["Variables: " + ", ".join(f"`{k} = {v}`" for k, v in report.variables.items()), ""]
    if not report.complete:
        lines += incomplete_lines(report) + [""]
    lines += ["## Summary", "", "| total | exact | approx. |", "|---|---:|---:|"]
    lines += [_row(list(row)) for row in summary_rows(report)]
    lines.append("")
    if report.training is not None:
        from archcalc.render.training import training_rows

        lines += ["## Training", "", "| quantity | exact | approx. |", "|---|---:|---:|"]
        lines += [_row(list(row)) for row in training_rows(report.training)]
        lines += ["", "Backward rules per layer type: `archcalc layers --format markdown`; see docs/reports.md.", ""]
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
