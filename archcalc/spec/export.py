"""Graph -> spec YAML that loads back to the same graph (names, types, attributes, call forms, inputs, outputs).

Node names are paths (`layer1.0.conv1`); each folder becomes a group of layers, and groups with the
same structure share one block definition with params (see blocks.py). A folder of numbered groups
`0, 1, 2 ...` that are instances of one block, each feeding the next, becomes a single `repeat`
(per-instance values as `[a, b, c][i]`). Inputs are written only where they differ from the default
(the previous item's output), as names relative to the current group. The result is checked by
loading it back; if blocks cannot express the graph, plain groups are used.
"""

from __future__ import annotations

from typing import Any

import yaml

from archcalc.errors import ArchcalcError
from archcalc.graph import Graph
from archcalc.spec.blocks import BlockWriter, exit_of
from archcalc.spec.unused import unused_entries

# ----- the document ----------------------------------------------------------------------------------
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _flow(value: Any) -> str:
    text = yaml.dump(value, Dumper=_DUMPER, default_flow_style=True, width=1 << 20, sort_keys=False).strip()
    return text.removesuffix("\n...").strip()  # a bare scalar ends its "document"


def _item_lines(item: dict, indent: str) -> list[str]:
    if "layers" not in item:
        return [f"{indent}- {_flow(item)}"]
    head = [f"{key}: {_flow(value)}" for key, value in item.items() if key != "layers"]
    lines = [f"{indent}- {head[0]}"] + [f"{indent}  {line}" for line in head[1:]] + [f"{indent}  layers:"]
    for child in item["layers"]:
        lines += _item_lines(child, indent + "    ")
    return lines


def _document(graph: Graph, labels: dict[str, str], use_blocks: bool) -> str:
    writer = BlockWriter(graph, labels, use_blocks)
    layers = writer.items(writer.root, {}, "")
    lines = [f"name: {_flow(graph.name)}"]
    for key in ("description", "source"):
        if getattr(graph, key):
            lines.append(f"{key}: {_flow(getattr(graph, key))}")
    lines.append(f"input: {_flow(list(graph.input_shape))}")
    if graph.input_dtype != "float32":
        lines.append(f"input_dtype: {graph.input_dtype}")
    if writer.blocks:
        lines.append("")
        lines.append("blocks:")
        for block in writer.blocks.values():
            lines.append(f"  {block['name']}:")
            if block["params"]:
                lines.append(f"    params: {_flow(block['params'])}")
            lines.append("    layers:")
            for item in block["layers"]:
                lines += _item_lines(item, "      ")
    lines += ["", "layers:"]
    for item in layers:
        lines += _item_lines(item, "  ")
    if graph.outputs != [exit_of(writer.root)]:
        lines.append(f"outputs: {_flow([writer.ref(name, writer.root) for name in graph.outputs])}")
    if graph.unused:  # weights no layer uses (aux heads): the totals count them
        lines += ["", "unused:"] + [f"  - {_flow(entry)}" for entry in unused_entries(graph.unused)]
    return "\n".join(lines) + "\n"


def graph_difference(expected: Graph, actual: Graph) -> str | None:
    """The first difference between two graphs (input, outputs, nodes by name), or None."""
    if tuple(expected.input_shape) != tuple(actual.input_shape):
        return f"input {list(actual.input_shape)} instead of {list(expected.input_shape)}"
    if expected.input_dtype != actual.input_dtype:
        return f"input_dtype {actual.input_dtype} instead of {expected.input_dtype}"
    if tuple(expected.unused) != tuple(actual.unused):
        return "unused weights differ"
    if expected.outputs != actual.outputs:
        return f"outputs {actual.outputs} instead of {expected.outputs}"
    mine = {node.name: node for node in actual.nodes}
    if set(mine) != {node.name for node in expected.nodes}:
        missing = sorted({node.name for node in expected.nodes} ^ set(mine))
        return f"layers {missing[:5]} differ"
    for node in expected.nodes:
        other = mine[node.name]
        if (node.type, node.attrs, node.inputs, node.weights, node.call, node.over) != (
                other.type, other.attrs, other.inputs, other.weights, other.call, other.over):  # fmt: skip
            return f"layer {node.name} differs"
    return None


def export_spec(graph: Graph, labels: dict[str, str] | None = None) -> str:
    """A spec (YAML text) that loads back to `graph`. `labels` name blocks by module path (class names)."""
    from archcalc.spec import load_spec_text

    problem = ""
    for use_blocks in (True, False):
        try:
            text = _document(graph, labels or {}, use_blocks)
            problem = graph_difference(graph, load_spec_text(text, graph.name)) or ""
        except ArchcalcError as exc:
            problem = exc.message
            continue
        if not problem:
            return text
    raise ArchcalcError(f"cannot write {graph.name} as a spec that loads back the same: {problem}")
