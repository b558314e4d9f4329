"""PNG plots with matplotlib's Agg backend (no display needed). matplotlib is imported only here,
inside the functions: the analytic path never loads it.

- layer_costs_png: per-layer MACs and params as horizontal bars (names readable for 150+ layers:
  the figure grows with the layer count; layers with neither are left out; beyond MAX_BARS layers
  the bars are per stage instead);
- receptive_field_png: receptive-field size and effective stride through the depth (log scale);
- sweep_png: params and MACs of a sweep against its first variable, one line per other combination.
"""

from __future__ import annotations

import io
from typing import Any

from archcalc.analysis.results import Report
from archcalc.analysis.stages import stages

MAX_BARS = 200
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


def layer_costs_png(report: Report) -> bytes:
    rows = [(layer.name, layer.macs, layer.params) for layer in report.layers if layer.macs or layer.params]
    title = "per layer"
    if len(rows) > MAX_BARS:
        rows = [(stage.name, stage.macs, stage.params) for stage in stages(report) if stage.macs or stage.params]
        title = "per stage (too many layers to draw one bar each)"
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
    figure.suptitle(f"{report.name}: MACs and params {title}")
    return _png(figure)


def receptive_field_png(report: Report) -> bytes:
    points = [(index, layer) for index, layer in enumerate(report.layers) if layer.receptive_field]
    figure = _figure(10.0, 5.0)
    axis = figure.subplots()
    if points:
        xs = [index for index, _ in points]
        names = {1: ("length",), 2: ("height", "width"), 3: ("depth", "height", "width")}
        words = names.get(len(points[0][1].receptive_field), tuple(f"axis {i + 1}" for i in range(9)))
        for axis_index, name in enumerate(words):  # one line per spatial axis, when it differs from the first
            sizes = [layer.receptive_field[axis_index] for _, layer in points]
            if axis_index == 0 or any(layer.receptive_field[axis_index] != layer.receptive_field[0]
                                      for _, layer in points):  # fmt: skip
                axis.plot(xs, sizes, marker=".", label=f"receptive field ({name})")
        axis.plot(xs, [layer.effective_stride[0] for _, layer in points], linestyle="--",
                  label=f"effective stride ({words[0]})")  # fmt: skip
        axis.axhline(max(report.input_shape[1:] or [1]), color="grey", linewidth=0.8, label="input size")
        axis.set_yscale("log", base=2)
        from matplotlib.ticker import ScalarFormatter

        axis.yaxis.set_major_formatter(ScalarFormatter())
        axis.legend(loc="upper left", fontsize=8)
        final = points[-1][1]
        axis.annotate(f"{final.name}: {final.receptive_field[0]}", (points[-1][0], final.receptive_field[0]),
                      fontsize=8, ha="right", va="bottom")  # fmt: skip
    else:
        axis.text(0.5, 0.5, "no layer has a receptive field (the input has no spatial axes)", ha="center",
                  transform=axis.transAxes)  # fmt: skip
    axis.set_xlabel("layer index (topological order)")
    axis.set_ylabel("input pixels")
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
