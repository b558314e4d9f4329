"""Graphviz DOT of every layer (`--diagram dot`). The Mermaid diagram of markdown documents, which
collapses blocks, repeats and elementwise layers, is in render/mermaid.py."""

from __future__ import annotations

from archcalc.analysis.results import Report
from archcalc.escape import plain
from archcalc.graph import INPUT
from archcalc.render.units import shape_text


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
