"""Mermaid diagrams that read like an architecture figure, not a trace.

The main diagram draws the block tree at the report's default depth (analysis/hierarchy.py): ResNet-50
as its stem, the bottlenecks of each stage (grouped in a subgraph per stage) and its head; VGG16 as
its conv blocks and pools. Two things keep it small:

- folding: a layer with one input that only acts on what the previous node made (an activation,
  a norm, a dropout, a flatten: categories FOLDED) joins that node's label (`conv1 + bn1, relu`);
- repeats: consecutive sibling blocks that are the same (same layer types, shapes and counts) are one
  node, `layer3.1 … layer3.5 ×5`.

Below it, a collapsible `<details>` per distinct block shows what is inside (its children, drawn the
same way). Graphs still too big for one diagram fall back to runs of nodes (MERMAID_MAX_NODES), and
the diagram says so; `--diagram dot` draws every layer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from archcalc.analysis.hierarchy import Block, auto_depth, block_tree, leaves, rows
from archcalc.analysis.results import LayerResult, Report
from archcalc.escape import html
from archcalc.graph import INPUT
from archcalc.render.units import human, hyper_text, shape_text

MERMAID_MAX_NODES = 60
FOLDED = ("activation", "norm")  # categories folded into the node before them (and the types below)
FOLDED_TYPES = ("dropout", "flatten", "dropout2d", "identity")
MAX_DETAILS = 24  # distinct blocks shown inside <details>


@dataclass
class Node:
    """One drawn box: entries of the tree (one, or a run of repeats) plus the layers folded into it."""

    entries: list[Block]
    folded: list[LayerResult] = field(default_factory=list)

    @property
    def layers(self) -> list[str]:
        names: list[str] = []
        for entry in self.entries:
            stack = [entry]
            while stack:
                block = stack.pop()
                if block.is_layer:
                    names.append(block.name)
                stack.extend(block.children)
        return names + [layer.name for layer in self.folded]


def _signature(block: Block) -> tuple:
    """What makes two blocks the same: their layers' types, shapes and counts, in order."""
    items, stack = [], [block]
    while stack:
        item = stack.pop()
        if item.is_layer:
            layer = item.layer
            items.append((item.name[len(block.name):], layer.type, tuple(layer.output_shape), layer.params, layer.macs))
        stack.extend(reversed(item.children))
    return tuple(items)


def _parent(name: str) -> str:
    return name.rsplit(".", 1)[0] if "." in name else ""


def _foldable(layer: LayerResult) -> bool:
    return len(layer.inputs) == 1 and (layer.category in FOLDED or layer.type in FOLDED_TYPES)


def build_nodes(entries: list[Block]) -> list[Node]:
    """Nodes for a sequence of sibling (or frontier) entries: repeats merged, elementwise layers folded."""
    nodes: list[Node] = []
    owner: dict[str, Node] = {}
    for entry in entries:
        previous = nodes[-1] if nodes else None
        if entry.is_layer and previous is not None and _foldable(entry.layer) and owner.get(entry.layer.inputs[0]) \
                is previous:  # fmt: skip
            previous.folded.append(entry.layer)
            owner[entry.name] = previous
            continue
        if (previous is not None and entry.children and not previous.folded and previous.entries[-1].children
                and _parent(entry.name) == _parent(previous.entries[-1].name)
                and _signature(entry) == _signature(previous.entries[-1])):  # fmt: skip
            previous.entries.append(entry)
        else:
            nodes.append(Node([entry]))
        for name in nodes[-1].layers:
            owner[name] = nodes[-1]
    return nodes


def _label(node: Node, prefix: str = "") -> str:
    """Mermaid's label: each line escaped for its HTML-capable labels (spec text never reaches it raw)."""
    return "<br/>".join(html(line) for line in label_lines(node, prefix))


def label_lines(node: Node, prefix: str = "") -> list[str]:
    """`conv1 · conv2d k7 s2 p3 + bn1, relu`, the counts, the output shape; names inside a block are relative."""
    first, last = node.entries[0], node.entries[-1]

    def name(entry: Block) -> str:
        relative = entry.name[len(prefix):] if prefix and entry.name.startswith(prefix) else entry.name
        return entry.name if relative.split(".")[0].isdigit() else relative  # `layer1.0`, not `0`

    if first.is_layer:
        layer = first.layer
        hyper = hyper_text(layer.attributes)
        head = f"{name(first)} · {layer.type}" + (f" {hyper}" if hyper else "")
        counts = f"{human(layer.params)} params · {human(layer.macs)} MACs" if layer.params or layer.macs else ""
    else:
        repeat = len(node.entries)
        title = name(first) if repeat == 1 else f"{name(first)} … {name(last)} ×{repeat}"
        size = f"{first.layer_count} layers" + (" each" if repeat > 1 else "")
        if len(first.weighted) == 1:  # a conv block: say which conv, as a paper's figure would
            weighted = first.weighted[0]
            hyper = hyper_text(weighted.attributes)
            head = f"{title} · {weighted.type}" + (f" {hyper}" if hyper else "") + f" ({size})"
        else:
            head = f"{title} · {size}"
        params, macs = sum(e.params for e in node.entries), sum(e.macs for e in node.entries)
        counts = f"{human(params)} params · {human(macs)} MACs"
    if node.folded:
        head += " + " + ", ".join(layer.name.rsplit(".", 1)[-1] for layer in node.folded)
    shape = node.folded[-1].output_shape if node.folded else last.output_shape
    return [head] + ([counts] if counts else []) + [f"→ {shape_text(shape)}"]


def _runs(nodes: list[Node]) -> tuple[list[Node], str]:
    if len(nodes) <= MERMAID_MAX_NODES:
        return nodes, ""
    size = -(-len(nodes) // MERMAID_MAX_NODES)
    merged = [Node([e for n in nodes[i : i + size] for e in n.entries], [f for n in nodes[i : i + size] for f in n.folded])
              for i in range(0, len(nodes), size)]  # fmt: skip
    return merged, f"{len(nodes)} boxes drawn as {len(merged)} runs of up to {size}"


def flowchart(layers: list[LayerResult], nodes: list[Node], source: str, groups: bool = True,
              prefix: str = "") -> list[str]:  # fmt: skip
    """A ```mermaid flowchart of `nodes`; edges follow the layers' inputs; whatever comes from outside the
    nodes comes from `source` (the input, or what enters a block)."""
    by_layer = {name: index for index, node in enumerate(nodes) for name in node.layers}
    lines = ["```mermaid", "flowchart TD", f'  n_in(["{html(source).replace("&lt;br/&gt;", "<br/>")}"])']
    stage_of = {index: node.entries[0].name.split(".")[0] for index, node in enumerate(nodes)}
    stages: dict[str, list[int]] = {}
    for index, node in enumerate(nodes):
        if groups and "." in node.entries[0].name:
            stages.setdefault(stage_of[index], []).append(index)
    for index, node in enumerate(nodes):
        if index in {i for members in stages.values() for i in members}:
            continue
        lines.append(f'  n{index}["{_label(node, prefix)}"]')
    for stage, members in stages.items():
        lines.append(f'  subgraph s_{_safe(stage)} ["{html(stage)}"]')
        lines += [f'    n{index}["{_label(nodes[index], prefix or stage + ".")}"]' for index in members]
        lines.append("  end")
    edges: dict[tuple[int, int], None] = {}
    for layer in layers:
        if layer.name not in by_layer:
            continue
        target = by_layer[layer.name]
        for name in layer.inputs:
            origin = by_layer.get(name, -1) if name != INPUT else -1
            if origin != target:
                edges[(origin, target)] = None
    for origin, target in edges:
        lines.append(f"  {'n_in' if origin < 0 else f'n{origin}'} --> n{target}")
    return lines + ["```"]


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name)


def mermaid_sections(report: Report) -> tuple[list[str], str]:
    """The main diagram, then a <details> per distinct block; and a note on how it was drawn."""
    tree = block_tree(report)
    depth = auto_depth(tree)
    nodes, run_note = _runs(build_nodes([row.block for row in leaves(rows(tree, depth))]))
    lines = flowchart(report.layers, nodes, f"input<br/>{shape_text(report.input_shape)}")
    note = (f"{len(report.layers)} layers drawn as {len(nodes)} boxes (blocks at depth {depth}, repeated blocks "
            "merged, activations and norms folded into the box before them)")  # fmt: skip
    if run_note:
        note += f"; {run_note}"
    seen: set[tuple] = set()
    details = 0
    for node in nodes:
        block = node.entries[0]
        if not block.children or details >= MAX_DETAILS:
            continue
        signature = _signature(block)
        if signature in seen:
            continue
        seen.add(signature)
        details += 1
        inner, _ = _runs(build_nodes(block.children))
        title = block.name + (f" (and {len(node.entries) - 1} more like it)" if len(node.entries) > 1 else "")
        inside = set(Node([block]).layers)
        lines += ["", f"<details><summary>inside {title}: {block.layer_count} layers</summary>", ""]
        lines += flowchart([layer for layer in report.layers if layer.name in inside], inner,
                           f"into {block.name}", groups=False, prefix=block.name + ".")  # fmt: skip
        lines += ["", "</details>"]
    if len(nodes) == len(report.layers):
        return lines, ""  # every layer is a box: nothing to explain
    return lines, note + "; `--diagram dot` draws every layer."


def main_nodes(report: Report) -> tuple[list[Node], int]:
    """The boxes of the main diagram (blocks at the default depth, folded and merged) and that depth."""
    tree = block_tree(report)
    depth = auto_depth(tree)
    nodes, _ = _runs(build_nodes([row.block for row in leaves(rows(tree, depth))]))
    return nodes, depth


__all__ = ["MERMAID_MAX_NODES", "Node", "build_nodes", "flowchart", "label_lines", "main_nodes", "mermaid_sections"]
