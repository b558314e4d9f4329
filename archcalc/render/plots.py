"""PNG plots with matplotlib's Agg backend (no display needed). matplotlib is imported only here,
inside the functions: the analytic path never loads it.

- layer_costs_png: MACs and params of the HEAVIEST layers (largest share of either) as horizontal bars,
  in network order, and one bar for all the others;
- receptive_field_png: receptive-field size and effective stride against the depth, the longest path
  from the input (parallel branches share a depth; log scale);
- sweep_png: params and MACs of a sweep against its first variable, one line per other combination.
"""

from __future__ import annotations

import io
from typing import Any

from archcalc.analysis.results import Report

HEAVIEST = 30  # bars in the layer plot; the rest are summed into one
ROW_INCHES = 0.16
DPI = 100


def _figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _engineering(axis: Any) -> None:
    from matplotlib.ticker import EngFormatter

    axis.xaxis.set_major_formatter(EngFormatter(sep=" "))


def heaviest_rows(report: Report, count: int = HEAVIEST) -> tuple[list[tuple[str, int, int]], str]:
    """The `count` layers with the largest share of the MACs or of the params, in network order, and a
    last row with everything else; and the plot's subtitle."""
    t = report.totals
    weight = {layer.name: max(layer.macs / t.macs if t.macs else 0, layer.params / t.params if t.params else 0)
              for layer in report.layers}  # fmt: skip
    ranked = sorted((layer for layer in report.layers if weight[layer.name] > 0), key=lambda l: -weight[l.name])
    kept = {layer.name for layer in ranked[:count]}
    rows = [(layer.name, layer.macs, layer.params) for layer in report.layers if layer.name in kept]
    rest = [layer for layer in report.layers if layer.name not in kept]
    if any(layer.macs or layer.params for layer in rest):
        rows.append((f"the other {len(rest)} layers", sum(l.macs for l in rest), sum(l.params for l in rest)))
    if len(kept) < len(report.layers):
        title = f"the {len(kept)} heaviest of {len(report.layers)} layers (by share of MACs or params)"
    else:
        title = "per layer"
    return rows, title


def layer_costs_png(report: Report) -> bytes:
    rows, title = heaviest_rows(report)
    rows = rows or [("(no layer has MACs or params)", 0, 0)]
    height = max(3.0, ROW_INCHES * len(rows) + 1.6)
    figure = _figure(12.0, height)
    macs_axis, params_axis = figure.subplots(1, 2, sharey=True)
    positions = range(len(rows))
    names = [name for name, _, _ in rows]
    macs_axis.barh(positions, [macs for _, macs, _ in rows], color="#4C72B0")
    params_axis.barh(positions, [params for _, _, params in rows], color="#DD8452")
    macs_axis.set_yticks(list(positions), names, fontsize=7 if len(rows) > 40 else 9)
    macs_axis.invert_yaxis()
    macs_axis.set_ylim(len(rows) - 0.5, -0.5)
    for axis, label in ((macs_axis, f"MACs (batch {report.batch})"), (params_axis, "params")):
        axis.set_xlabel(label)
        axis.grid(axis="x", alpha=0.3)
        _engineering(axis)
    figure.suptitle(f"{report.name}: MACs and params, {title}")
    return _png(figure)


def layer_depths(report: Report) -> dict[str, int]:
    """Each layer's depth: layers on the longest path from the input to it, itself included."""
    depth: dict[str, int] = {}
    for layer in report.layers:
        depth[layer.name] = 1 + max((depth.get(name, 0) for name in layer.inputs), default=0)
    return depth


def receptive_field_png(report: Report) -> bytes:
    """Field size and effective stride against the depth (longest path from the input): parallel branches
    share a depth, so the line is the largest field at each depth and the dots are every layer."""
    depth = layer_depths(report)
    points = [(depth[layer.name], layer) for layer in report.layers if layer.receptive_field]
    figure = _figure(10.0, 5.0)
    axis = figure.subplots()
    if points:
        by_depth: dict[int, list] = {}
        for level, layer in points:
            by_depth.setdefault(level, []).append(layer)
        levels = sorted(by_depth)
        rank = len(points[0][1].receptive_field)
        for axis_index in range(rank):
            if axis_index and all(l.receptive_field[axis_index] == l.receptive_field[0] for _, l in points):
                continue
            name = f"axis {axis_index}" if rank > 1 else "size"
            largest = [max(l.receptive_field[axis_index] for l in by_depth[level]) for level in levels]
            axis.plot(levels, largest, marker=".", label=f"receptive field ({name}), largest at each depth")
        axis.scatter([level for level, _ in points], [l.receptive_field[0] for _, l in points], s=6, color="grey",
                     alpha=0.5, label="every layer")  # fmt: skip
        axis.plot(levels, [max(l.effective_stride[0] for l in by_depth[level]) for level in levels], linestyle="--",
                  label="effective stride")  # fmt: skip
        axis.axhline(max(report.input_shape[1:] or [1]), color="grey", linewidth=0.8, label="input size")
        axis.set_yscale("log", base=2)
        from matplotlib.ticker import ScalarFormatter

        axis.yaxis.set_major_formatter(ScalarFormatter())
        axis.legend(loc="upper left", fontsize=8)
        final_level, final = max(points, key=lambda item: (item[0], item[1].receptive_field[0]))
        axis.annotate(f"{final.name}: {final.receptive_field[0]}", (final_level, final.receptive_field[0]),
                      fontsize=8, ha="right", va="bottom")  # fmt: skip
    else:
        axis.text(0.5, 0.5, "no layer has a receptive field (no spatial axes)", ha="center",
                  transform=axis.transAxes)  # fmt: skip
    axis.set_xlabel("depth (layers on the longest path from the input)")
    axis.set_ylabel("input positions")
    axis.grid(alpha=0.3)
    axis.set_title(f"{report.name}: receptive-field growth through the depth")
    return _png(figure)


def sweep_png(title: str, variables: list[str], rows: list[dict]) -> bytes:
    """Params and MACs against the first variable; one line per combination of the others."""
    first, others = variables[0], variables[1:]
    figure = _figure(12.0, 5.0)
    axes = figure.subplots(1, 2)
    xs_values = list(dict.fromkeys(row["values"][first] for row in rows))
    numeric = all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in xs_values)
    series: dict[str, list[dict]] = {}
    for row in rows:
        key = ", ".join(f"{name}={row['values'][name]}" for name in others) or "all"
        series.setdefault(key, []).append(row)
    for axis, metric, label in ((axes[0], "params", "params"), (axes[1], "macs", "MACs")):
        for key, items in series.items():
            xs = [item["values"][first] if numeric else xs_values.index(item["values"][first]) for item in items]
            axis.plot(xs, [item[metric] for item in items], marker="o", label=key)
        if not numeric:
            axis.set_xticks(range(len(xs_values)), [str(x) for x in xs_values])
        elif len(xs_values) <= 20:
            axis.set_xticks(xs_values, [str(x) for x in xs_values])
        axis.set_xlabel(first)
        axis.set_ylabel(label)
        axis.set_yscale("log")
        axis.grid(alpha=0.3, which="both")
        if len(series) > 1:
            axis.legend(fontsize=8)
    figure.suptitle(title)
    return _png(figure)
