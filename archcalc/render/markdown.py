"""Markdown: a summary of the totals and the per-layer table, exact integers."""

from __future__ import annotations

from archcalc.analysis.results import Report
from archcalc.render.units import exact, human, human_bytes, pair_text, shape_text


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def summary_rows(report: Report) -> list[tuple[str, str, str]]:
    t = report.totals
    final = next((layer for layer in reversed(report.layers) if layer.receptive_field), None)
    return [
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
        ("final receptive field", pair_text(final.receptive_field) + (f" ({final.name})" if final else ""), ""),
    ]


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


def render_markdown(report: Report) -> str:
    lines = [f"# {report.name}", ""]
    if report.description:
        lines += [report.description, ""]
    if report.source:
        lines += [f"Source: {report.source}", ""]
    if not report.complete:
        lines += incomplete_lines(report) + [""]
    lines += ["| total | exact | approx. |", "|---|---:|---:|"]
    lines += [_row(list(row)) for row in summary_rows(report)]
    lines += ["", "## Layers", ""]
    header = ["layer", "type", "output", "params", "MACs", "FLOPs", "connections", "activations", "RF", "stride"]
    lines += [_row(header), "|---|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for layer in report.layers:
        rf = pair_text(layer.receptive_field) + ("" if layer.rf_aligned in (True, None) else " (not aligned)")
        lines.append(_row([
            f"`{layer.name}`", layer.type, shape_text(layer.output_shape), exact(layer.params), exact(layer.macs),
            exact(layer.flops), exact(layer.connections), exact(layer.activations), rf,
            pair_text(layer.effective_stride),
        ]))  # fmt: skip
    t = report.totals
    lines.append(_row(["**total**", "", "", exact(t.params), exact(t.macs), exact(t.flops), exact(t.connections),
                       exact(t.activations), "", ""]))  # fmt: skip
    return "\n".join(lines) + "\n"
