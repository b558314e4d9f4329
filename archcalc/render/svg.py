"""Inline SVG for the HTML report: the block diagram and the two plots, drawn in Python (no matplotlib,
no JavaScript library, nothing fetched), so the page is one offline file.

- diagram_svg: the main diagram's boxes (render/mermaid.py: blocks at the default depth, repeats
  merged, elementwise layers folded), laid out in layers by their longest path from the input, with
  arrows along the data flow;
- bars_svg: MACs and params of the heaviest layers and the rest (render/plots.heaviest_rows);
- receptive_field_svg: the largest receptive field and the effective stride at each depth, log scale.
"""

from __future__ import annotations

import math
from html import escape as _html_escape

from archcalc.escape import plain

from archcalc.analysis.results import Report
from archcalc.graph import INPUT
from archcalc.render.units import human

BOX_WIDTH, LINE_HEIGHT, GAP_X, GAP_Y, PAD = 300, 15, 24, 34, 6
FONT = 'font-family="system-ui, sans-serif" font-size="11"'


def escape(text) -> str:
    return _html_escape(plain(text))


def _text_lines(x: float, y: float, lines: list[str], anchor: str = "middle", weight: str = "normal") -> str:
    spans = "".join(f'<tspan x="{x:.1f}" dy="{0 if i == 0 else LINE_HEIGHT}">{escape(line)}</tspan>'
                    for i, line in enumerate(lines))  # fmt: skip
    return f'<text {FONT} text-anchor="{anchor}" font-weight="{weight}" y="{y:.1f}">{spans}</text>'


def _clip(text: str, limit: int = 46) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def diagram_svg(report: Report) -> str:
    from archcalc.render.mermaid import label_lines, main_nodes

    nodes, _ = main_nodes(report)
    owner = {name: index for index, node in enumerate(nodes) for name in node.layers}
    rank = {-1: 0}
    edges: dict[tuple[int, int], None] = {}
    for layer in report.layers:
        target = owner.get(layer.name)
        if target is None:
            continue
        for name in layer.inputs:
            origin = -1 if name == INPUT else owner.get(name, -1)
            if origin != target:
                edges[(origin, target)] = None
                rank[target] = max(rank.get(target, 1), rank.get(origin, 0) + 1)
    levels: dict[int, list[int]] = {}
    for index in range(len(nodes)):
        levels.setdefault(rank.get(index, 1), []).append(index)
    levels[0] = [-1]
    labels = {index: [_clip(line) for line in label_lines(node)] for index, node in enumerate(nodes)}
    labels[-1] = ["input " + "x".join(map(str, report.input_shape))]
    heights = {index: PAD * 2 + LINE_HEIGHT * len(lines) for index, lines in labels.items()}
    width = max(len(members) for members in levels.values()) * (BOX_WIDTH + GAP_X) + GAP_X
    position: dict[int, tuple[float, float]] = {}
    y = GAP_Y / 2
    for level in sorted(levels):
        members = levels[level]
        row_width = len(members) * (BOX_WIDTH + GAP_X) - GAP_X
        x = (width - row_width) / 2
        for index in members:
            position[index] = (x, y)
            x += BOX_WIDTH + GAP_X
        y += max(heights[i] for i in members) + GAP_Y
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="diagram" width="{width:.0f}" height="{y:.0f}" '
             f'viewBox="0 0 {width:.0f} {y:.0f}" role="img" aria-label="block diagram of {escape(report.name)}">',
             '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
             'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker></defs>']  # fmt: skip
    for origin, target in edges:
        (x1, y1), (x2, y2) = position[origin], position[target]
        parts.append(f'<line x1="{x1 + BOX_WIDTH / 2:.1f}" y1="{y1 + heights[origin]:.1f}" x2="{x2 + BOX_WIDTH / 2:.1f}" '
                     f'y2="{y2 - 2:.1f}" stroke="#555" marker-end="url(#arrow)"/>')  # fmt: skip
    for index, (x, y0) in position.items():
        fill = "#eef3fb" if index >= 0 and nodes[index].entries[0].children else "#f7f7f7"
        parts.append(f'<g class="box"><rect x="{x:.1f}" y="{y0:.1f}" width="{BOX_WIDTH}" height="{heights[index]}" '
                     f'rx="6" fill="{fill}" stroke="#889"/>'
                     + _text_lines(x + BOX_WIDTH / 2, y0 + PAD + 11, labels[index]) + "</g>")  # fmt: skip
    return "".join(parts) + "</svg>"


def bars_svg(report: Report) -> str:
    from archcalc.render.plots import heaviest_rows

    rows, title = heaviest_rows(report)
    if not rows:
        return "<p>No layer has MACs or params.</p>"
    label_width, panel, bar, top = 210, 300, 14, 36
    height = top + len(rows) * (bar + 4) + 10
    width = label_width + 2 * panel + 60
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="plot" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
             _text_lines(width / 2, 14, [f"MACs and params: {title}"], weight="bold")]  # fmt: skip
    for column, (key, colour, name) in enumerate(((1, "#4C72B0", "MACs"), (2, "#DD8452", "params"))):
        left = label_width + column * (panel + 30)
        largest = max(row[key] for row in rows) or 1
        parts.append(_text_lines(left + panel / 2, 30, [name]))
        for position, row in enumerate(rows):
            y = top + position * (bar + 4)
            length = panel * row[key] / largest
            parts.append(f'<rect x="{left}" y="{y}" width="{length:.1f}" height="{bar}" fill="{colour}">'
                         f"<title>{escape(row[0])}: {row[key]:,} {name}</title></rect>")  # fmt: skip
            if length < panel - 50:
                parts.append(_text_lines(left + length + 3, y + 11, [human(row[key])], anchor="start"))
    for position, row in enumerate(rows):
        parts.append(_text_lines(label_width - 6, top + position * (bar + 4) + 11, [_clip(row[0], 34)], anchor="end"))
    return "".join(parts) + "</svg>"


def receptive_field_svg(report: Report) -> str:
    from archcalc.render.plots import layer_depths

    depth = layer_depths(report)
    largest: dict[int, tuple[int, int]] = {}
    for layer in report.layers:
        if layer.receptive_field:
            level = depth[layer.name]
            size, stride = max(layer.receptive_field), max(layer.effective_stride or [1])
            old = largest.get(level, (0, 0))
            largest[level] = (max(old[0], size), max(old[1], stride))
    if not largest:
        return "<p>No layer has a receptive field (no spatial axes).</p>"
    width, height, left, bottom, top = 640, 300, 50, 36, 24
    levels = sorted(largest)
    high = max(max(size for size, _ in largest.values()), 2)
    span = max(levels[-1] - levels[0], 1)

    def point(level: int, value: int) -> tuple[float, float]:
        x = left + (width - left - 20) * (level - levels[0]) / span
        y = height - bottom - (height - bottom - top) * math.log2(max(value, 1)) / math.log2(high)
        return x, y

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="plot" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="receptive field by depth">',
             _text_lines(width / 2, 14, ["receptive field (solid) and effective stride (dashed) by depth, log scale"],
                         weight="bold")]  # fmt: skip
    for power in range(0, int(math.log2(high)) + 1, max(1, int(math.log2(high)) // 6)):
        _, y = point(levels[0], 2**power)
        parts.append(f'<line x1="{left}" x2="{width - 20}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
                     + _text_lines(left - 4, y + 4, [str(2**power)], anchor="end"))  # fmt: skip
    for index, dash in ((0, ""), (1, ' stroke-dasharray="5 4"')):
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in (point(level, largest[level][index]) for level in levels))
        parts.append(f'<polyline points="{path}" fill="none" stroke="{"#4C72B0" if index == 0 else "#DD8452"}"'
                     f' stroke-width="2"{dash}/>')  # fmt: skip
    parts.append(_text_lines(width / 2, height - 8, ["depth (layers on the longest path from the input)"]))
    return "".join(parts) + "</svg>"


__all__ = ["bars_svg", "diagram_svg", "receptive_field_svg"]
