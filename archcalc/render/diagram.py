"""Graph diagrams: Mermaid (renders on GitHub, inside the markdown report) and Graphviz DOT.

Mermaid draws every layer of graphs up to MERMAID_MAX_NODES layers. Larger graphs are collapsed to
their stages (analysis/stages.py) with layer counts, params and MACs; if there are still too many,
consecutive stages are merged into runs, and the diagram says so. DOT always draws every layer.
"""

from __future__ import annotations

from dataclasses import dataclass

from archcalc.analysis.results import Report
from archcalc.analysis.stages import stages
from archcalc.escape import html, plain
from archcalc.graph import INPUT
from archcalc.render.units import human, shape_text

MERMAID_MAX_NODES = 60


@dataclass
class Box:
    """One drawn node: a layer, or a run of layers."""

    label: str
    layers: list[str]


def _boxes(report: Report) -> tuple[list[Box], str]:
    """The nodes to draw and a sentence on how the graph was collapsed ('' when it was not)."""
    if len(report.layers) <= MERMAID_MAX_NODES:
        boxes = [Box(f"{html(layer.name)}<br/>{layer.type} → {shape_text(layer.output_shape)}", [layer.name])
                 for layer in report.layers]  # fmt: skip
        return boxes, ""
    groups = [(stage.name, stage.layers) for stage in stages(report)]
    note, unit = f"{len(report.layers)} layers collapsed into {len(groups)} stages (top-level blocks)", "stages"
    if len(groups) < 2:  # no block structure to show: runs of consecutive layers instead
        groups = [(layer.name, [layer.name]) for layer in report.layers]
        note, unit = f"{len(report.layers)} layers", "layers"
    if len(groups) > MERMAID_MAX_NODES:
        size = -(-len(groups) // MERMAID_MAX_NODES)
        groups = [(f"{groups[i][0]} … {groups[min(i + size, len(groups)) - 1][0]}",
                   [name for _, names in groups[i : i + size] for name in names])
                  for i in range(0, len(groups), size)]  # fmt: skip
        note += f", drawn as {len(groups)} runs of up to {size} {unit}"
    by_name = {layer.name: layer for layer in report.layers}
    boxes = []
    for title, names in groups:
        params = sum(by_name[n].params for n in names)
        macs = sum(by_name[n].macs for n in names)
        out = by_name[names[-1]].output_shape
        count = f"{len(names)} layers" if len(names) > 1 else by_name[names[0]].type
        label = f"{html(title)} · {count}<br/>{human(params)} params · {human(macs)} MACs<br/>→ {shape_text(out)}"
        boxes.append(Box(label, names))
    return boxes, note + "; `--diagram dot` draws every layer."


def _edges(report: Report, boxes: list[Box]) -> list[tuple[int, int]]:
    """Box index pairs (-1 is the input), in order, without repeats or self-loops."""
    box_of = {name: index for index, box in enumerate(boxes) for name in box.layers}
    box_of[INPUT] = -1
    edges: dict[tuple[int, int], None] = {}
    for layer in report.layers:
        target = box_of[layer.name]
        for name in layer.inputs:
            if box_of[name] != target:
                edges[(box_of[name], target)] = None
    return list(edges)


def mermaid(report: Report) -> tuple[str, str]:
    """A ```mermaid block and the collapse note."""
    boxes, note = _boxes(report)
    lines = ["```mermaid", "flowchart TD", f'  n_in(["input<br/>{shape_text(report.input_shape)}"])']
    for index, box in enumerate(boxes):
        lines.append(f'  n{index}["{box.label.replace(chr(34), "#quot;")}"]')
    for source, target in _edges(report, boxes):
        lines.append(f"  {'n_in' if source < 0 else f'n{source}'} --> n{target}")
    lines.append("```")
    return "\n".join(lines), note


def _dot_id(name: str) -> str:
    return '"' + plain(name).replace("\\", "\\\\").replace('"', '\\"') + '"'


def dot(report: Report) -> str:
    """Graphviz DOT of every layer (`dot -Tsvg net.dot > net.svg`)."""
    lines = [f"digraph {_dot_id(report.name)} {{", "  rankdir=TB;",
             '  node [shape=box, fontname="Helvetica", fontsize=10];',
             f'  {_dot_id(INPUT)} [shape=ellipse, label={_dot_id("input " + shape_text(report.input_shape))}];']
    for layer in report.layers:
        label = f"{plain(layer.name)}\\n{layer.type} → {shape_text(layer.output_shape)}"
        lines.append(f'  {_dot_id(layer.name)} [label="{label.replace(chr(34), chr(92) + chr(34))}"];')
    for layer in report.layers:
        for name in layer.inputs:
            lines.append(f"  {_dot_id(name)} -> {_dot_id(layer.name)};")
    lines.append("}")
    return "\n".join(lines) + "\n"
