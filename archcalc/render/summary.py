"""The summary every human-readable report shows (terminal table, markdown, HTML): totals, memory, depth
and receptive field, each line saying what it covers.

A line that would mislead is qualified or left out: no receptive-field line for a graph without a
spatial layer; the field is named by the layer it belongs to, which is not always the output (a
classifier's field ends at its last spatial layer); an incomplete report says that its depth and
fields do not go through the layers archcalc cannot count.
"""

from __future__ import annotations

from archcalc.analysis.results import LayerResult, Report
from archcalc.escape import plain
from archcalc.render.units import exact, human, human_bytes, pair_text, shape_text


def final_field(report: Report) -> LayerResult | None:
    """The last layer (topological order) that has a receptive field."""
    return next((layer for layer in reversed(report.layers) if layer.receptive_field), None)


def field_row(report: Report) -> tuple[str, str, str] | None:
    final = final_field(report)
    if final is None:
        return None
    where = "the output" if final.name in report.outputs else "last spatial layer"
    caveat = "; fields stop at layers archcalc cannot count" if not report.complete else ""
    return (f"receptive field ({final.name}, {where}{caveat})", pair_text(final.receptive_field), "")


def summary_rows(report: Report) -> list[tuple[str, str, str]]:
    """(label, exact, approx.) rows."""
    t = report.totals
    depth_label = "depth (weighted layers on the longest path"
    depth_label += "; uncounted layers not included)" if not report.complete else ")"
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
        (depth_label, str(report.depth), ""),
    ]
    field = field_row(report)
    return rows + ([field] if field else [])


def incomplete_lines(report: Report) -> list[str]:
    """The warning an incomplete report carries: which operations its totals leave out."""
    if report.complete:
        return []
    lines = [f"INCOMPLETE: {len(report.unsupported)} operation(s) archcalc cannot count; the totals leave out "
             "their MACs, FLOPs and connections:"]  # fmt: skip
    for gap in report.unsupported:
        where = f" at {gap.where}" if gap.where else ""
        lines.append(plain(f"- {gap.name}: {gap.op}{where}" + (f" ({gap.reason})" if gap.reason else "")))
    return lines


def shared_lines(report: Report) -> list[str]:
    """Rows showing weights an earlier row already holds: the totals count those once."""
    rows = [layer for layer in report.layers if layer.shared_params or layer.shared_buffers]
    if not rows:
        return []
    elements = sum(layer.shared_params for layer in rows)
    buffers = sum(layer.shared_buffers for layer in rows)
    also = f" and {buffers:,} buffer elements" if buffers else ""
    names = ", ".join(layer.name for layer in rows[:8]) + (", ..." if len(rows) > 8 else "")
    return [plain(f"SHARED: {len(rows)} layer(s) reuse weights an earlier layer holds ({names}); their rows show "
                  f"them, the totals count those {elements:,} parameters{also} once")]  # fmt: skip


def unused_lines(report: Report) -> list[str]:
    """Weights the forward does not use (aux heads): counted in the totals, with no row and no MACs."""
    if not report.unused:
        return []
    params, buffers = sum(u.params for u in report.unused), sum(u.buffers for u in report.unused)
    each = ", ".join(f"{u.name} {u.params:,}" + (f" (+{u.buffers:,} buffers)" if u.buffers else "")
                     for u in report.unused[:8]) + (", ..." if len(report.unused) > 8 else "")
    also = f" and {buffers:,} buffer elements" if buffers else ""
    return [plain(f"UNUSED: {params:,} parameters{also} are not used by the forward for this input ({each}); "
                  "the totals count them, as sum(p.numel()) does, with no MACs")]  # fmt: skip


__all__ = ["field_row", "final_field", "incomplete_lines", "shared_lines", "summary_rows", "unused_lines"]
