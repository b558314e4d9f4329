"""Graph -> spec YAML that loads back to the same graph (names, types, attributes, inputs, outputs).

Node names are paths (`layer1.0.conv1`); each folder becomes a group of layers. Groups with the same
structure share one block definition: attribute values that differ between them become block
params (equal across all of them: written once, inline), and a folder of numbered groups
`0, 1, 2 ...` that are instances of one block, each feeding the next, becomes a single `repeat`
(per-instance values as `[a, b, c][i]`). A group can be a block only when everything in it reads from
inside it or from its one input, so the definition means the same wherever it is used.

Inputs are written only where they differ from the default (the previous item's output), as names
relative to the current group. The result is checked by loading it back; if blocks cannot express
the graph, plain groups are used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from archcalc.errors import ArchcalcError
from archcalc.graph import INPUT, Graph, Node
from archcalc.layers import REGISTRY
from archcalc.layers.attrs import REQUIRED

MAX_REPEAT_EXPRESSION = 900  # the expression language refuses longer texts


@dataclass
class _Group:
    path: str
    local: str
    children: dict[str, Any] = field(default_factory=dict)  # local name -> _Group | Node
    members: list[Node] = field(default_factory=list)  # every node below, in graph order
    input: str | None = None  # the node its first item reads by default, `input` inside


def _tree(graph: Graph) -> _Group:
    root = _Group("", "")
    groups = {"": root}
    for node in graph.nodes:
        parts = node.name.split(".")
        parent = root
        root.members.append(node)
        for depth in range(1, len(parts)):
            path = ".".join(parts[:depth])
            if path not in groups:
                groups[path] = _Group(path, parts[depth - 1])
                parent.children[parts[depth - 1]] = groups[path]
            parent = groups[path]
            parent.members.append(node)
        parent.children[parts[-1]] = node
    for group in groups.values():
        inside = {node.name for node in group.members}
        outside = [name for node in group.members for name in node.inputs if name not in inside]
        group.input = INPUT if INPUT in outside or group is root else (outside[0] if outside else None)
    return root


def _external(group: _Group) -> set[str]:
    inside = {node.name for node in group.members}
    return {name for node in group.members for name in node.inputs if name not in inside}


def is_default(attr: Any, value: Any) -> bool:
    if attr.default is REQUIRED:
        return False
    return value == (None if attr.default is None else attr.kind.parse(attr.name, attr.default, {}))


def _is_slot(value: Any) -> bool:
    """Numbers, booleans and lists of them may differ between instances of one block."""
    if isinstance(value, list):
        return all(_is_slot(item) for item in value)
    return isinstance(value, (int, float, bool))


def _frozen(value: Any) -> Any:
    return tuple(_frozen(v) for v in value) if isinstance(value, list) else value


def _identifier(text: str) -> str:
    text = re.sub(r"\W", "_", text)
    return text if text and not text[0].isdigit() else f"p_{text}"


def _height(group: _Group) -> int:
    return 1 + max((_height(c) for c in group.children.values() if isinstance(c, _Group)), default=0)


class _Writer:
    """Decides which groups are block instances (bottom up, so blocks can hold blocks) and writes items."""

    def __init__(self, graph: Graph, labels: dict[str, str], use_blocks: bool) -> None:
        self.labels, self.use_blocks = labels, use_blocks
        self.root = _tree(graph)
        self.struct: dict[str, tuple] = {}  # group path -> structure (everything but slot values)
        # group path -> its slots: (full name, short name for a param, value)
        self.slots: dict[str, list[tuple[str, str, Any]]] = {}
        self.instances: dict[tuple, list[_Group]] = {}  # structure -> groups written as its block
        self.params: dict[tuple, dict[str, int]] = {}  # structure -> param name -> slot position
        self.slot_params: dict[tuple, dict[str, str]] = {}  # structure -> slot name -> param name
        self.blocks: dict[tuple, dict] = {}  # structure -> {"name", "params", "layers"}, as written
        self.names: set[str] = set()
        if use_blocks:
            self._choose_blocks()

    # ----- references ----------------------------------------------------------------------------
    def _group_at(self, path: str) -> _Group:
        group = self.root
        for part in path.split(".") if path else []:
            group = group.children[part]
        return group

    def ref(self, target: str, scope: _Group) -> str:
        """How `target` is named from inside `scope`: `input`, or its path below the nearest common group."""
        if target == scope.input:
            return INPUT
        if target == INPUT:
            raise ArchcalcError(f"{scope.path} cannot name the network input")
        s, t = scope.path.split(".") if scope.path else [], target.split(".")
        common = 0
        while common < len(s) and common < len(t) - 1 and s[common] == t[common]:
            common += 1
        for depth in range(len(s), common, -1):
            if t[common] in self._group_at(".".join(s[:depth])).children:
                raise ArchcalcError(f"{target} is shadowed by {'.'.join(s[:depth] + [t[common]])}")
        return ".".join(t[common:])

    @staticmethod
    def exit(child: Any) -> str:
        """The name a following item reads by default: the last item's, all the way down."""
        while isinstance(child, _Group):
            child = list(child.children.values())[-1]
        return child.name

    def _refs(self, child: Any, group: _Group, previous: str | None) -> tuple | None:
        wanted = child.inputs if isinstance(child, Node) else [child.input]
        if wanted == [previous] or wanted == [None]:
            return None
        return tuple(self.ref(name, group) for name in wanted)

    # ----- choosing blocks ---------------------------------------------------------------------------
    def _choose_blocks(self) -> None:
        groups: list[_Group] = []
        pending = [self.root]
        while pending:
            group = pending.pop()
            children = [c for c in group.children.values() if isinstance(c, _Group)]
            groups += children
            pending += children
        by_height: dict[int, list[_Group]] = {}
        for group in groups:
            by_height.setdefault(_height(group), []).append(group)
        for height in sorted(by_height):
            seen: dict[tuple, list[_Group]] = {}
            for group in by_height[height]:
                structure, slots = [], []
                self._describe(group, "", structure, slots)
                self.struct[group.path], self.slots[group.path] = tuple(structure), slots
                if _external(group) <= {group.input}:  # self-contained: means the same wherever used
                    seen.setdefault(tuple(structure), []).append(group)
            for structure, members in seen.items():
                if len(members) > 1:
                    self.instances[structure] = members
                    self._parametrise(structure, members)

    def _describe(self, group: _Group, prefix: str, structure: list, slots: list) -> None:
        previous = group.input
        for local, child in group.children.items():
            refs = self._refs(child, group, previous)
            if isinstance(child, Node):
                fixed = []
                for attr in child.rule.attrs:
                    value = child.attrs[attr.name]
                    dumped = None if value is None else attr.kind.dump(value)
                    if dumped is not None and _is_slot(dumped):
                        short = attr.name if local.isdigit() else f"{local}_{attr.name}"
                        slots.append((f"{prefix}{local}_{attr.name}", short, dumped))
                        fixed.append(attr.name)
                    else:
                        fixed.append((attr.name, _frozen(dumped)))
                structure.append(("layer", local, child.type, tuple(fixed), refs))
            elif self.struct.get(child.path) in self.instances:
                inner = self.struct[child.path]
                structure.append(("block", local, inner, refs))
                values = self.slots[child.path]
                slots += [(f"{prefix}{local}_{p}", p, values[at][2]) for p, at in self.params[inner].items()]
            else:
                structure.append(("group", local, refs))
                self._describe(child, f"{prefix}{local}_", structure, slots)
                structure.append(("end",))
            previous = self.exit(child)

    def _parametrise(self, structure: tuple, members: list[_Group]) -> None:
        """Slots that differ between instances become params; slots with equal values share one."""
        params: dict[str, int] = {}
        slot_params: dict[str, str] = {}
        by_values: dict[tuple, str] = {}
        for position, (slot, short, _) in enumerate(self.slots[members[0].path]):
            values = tuple(repr(self.slots[m.path][position][2]) for m in members)
            if len(set(values)) == 1:
                continue
            if values not in by_values:
                name, count = _identifier(short), 2
                while name in params or name == "i":
                    name, count = f"{_identifier(short)}_{count}", count + 1
                by_values[values], params[name] = name, position
            slot_params[slot] = by_values[values]
        self.params[structure], self.slot_params[structure] = params, slot_params

    def _define(self, group: _Group) -> str:
        """The block written for this group's structure (made at its first use)."""
        structure = self.struct[group.path]
        if structure not in self.blocks:
            label = self.labels.get(group.path) or (group.local if not group.local.isdigit() else "")
            if not label:
                label = "_".join(list(dict.fromkeys(node.type for node in group.members))[:3]) + "_block"
            name, count = _identifier(label), 2
            while name in self.names:
                name, count = f"{_identifier(label)}_{count}", count + 1
            self.names.add(name)
            layers = self.items(group, self.slot_params[structure], "", in_block=True)
            self.blocks[structure] = {"name": name, "params": {p: None for p in self.params[structure]},
                                      "layers": layers}  # fmt: skip
        return self.blocks[structure]["name"]

    def _args(self, group: _Group, slot_params: dict[str, str], prefix: str) -> dict[str, Any]:
        structure = self.struct[group.path]
        return {param: slot_params.get(f"{prefix}{group.local}_{param}", self.slots[group.path][at][2])
                for param, at in self.params[structure].items()}  # fmt: skip

    # ----- items -------------------------------------------------------------------------------------
    def items(self, group: _Group, slot_params: dict[str, str], prefix: str, in_block: bool) -> list[dict]:
        """The spec items of a group; inside a block definition, slots named in `slot_params` are params."""
        out = []
        previous = group.input
        for local, child in group.children.items():
            item: dict[str, Any] = {"name": local}
            refs = self._refs(child, group, previous)
            if isinstance(child, Node):
                item["type"] = child.type
                for attr in child.rule.attrs:
                    param = slot_params.get(f"{prefix}{local}_{attr.name}")
                    if param is not None or not is_default(attr, child.attrs[attr.name]):
                        item[attr.name] = param if param is not None else attr.kind.dump(child.attrs[attr.name])
            item.update({"inputs": list(refs)} if refs else {})
            if isinstance(child, _Group):
                if not in_block and self._repeat(child, item):
                    pass
                elif self.struct.get(child.path) in self.instances:
                    item["block"] = self._define(child)
                    args = self._args(child, slot_params, prefix)
                    item.update({"args": args} if args else {})
                else:
                    item["layers"] = self.items(child, slot_params, f"{prefix}{local}_", in_block)
            out.append(item)
            previous = self.exit(child)
        return out

    def _repeat(self, group: _Group, item: dict) -> bool:
        """Numbered instances of one block, each feeding the next, become `repeat: n`."""
        children = list(group.children.values())
        if len(children) < 2 or list(group.children) != [str(k) for k in range(len(children))]:
            return False
        structures = {self.struct.get(c.path) if isinstance(c, _Group) else None for c in children}
        if len(structures) != 1 or next(iter(structures)) not in self.instances or children[0].input != group.input:
            return False
        if any(later.input != self.exit(earlier) for earlier, later in zip(children, children[1:])):
            return False
        args: dict[str, Any] = {}
        for param in self.params[self.struct[children[0].path]]:
            values = [self._args(c, {}, "")[param] for c in children]
            text = f"[{', '.join(repr(v) for v in values)}][i]"
            if len(text) > MAX_REPEAT_EXPRESSION:
                return False
            args[param] = values[0] if len({repr(v) for v in values}) == 1 else text
        item.update({"block": self._define(children[0]), "repeat": len(children)} | ({"args": args} if args else {}))
        return True


# ----- the document ----------------------------------------------------------------------------------
def _flow(value: Any) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, width=1 << 20, sort_keys=False).strip()
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
    writer = _Writer(graph, labels, use_blocks)
    layers = writer.items(writer.root, {}, "", in_block=False)
    lines = [f"name: {_flow(graph.name)}"]
    for key in ("description", "source"):
        if getattr(graph, key):
            lines.append(f"{key}: {_flow(getattr(graph, key))}")
    lines.append(f"input: {_flow(list(graph.input_shape))}")
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
    if graph.outputs != [writer.exit(writer.root)]:
        lines.append(f"outputs: {_flow([writer.ref(name, writer.root) for name in graph.outputs])}")
    return "\n".join(lines) + "\n"


def graph_difference(expected: Graph, actual: Graph) -> str | None:
    """The first difference between two graphs (input, outputs, nodes by name), or None."""
    if tuple(expected.input_shape) != tuple(actual.input_shape):
        return f"input {list(actual.input_shape)} instead of {list(expected.input_shape)}"
    if expected.outputs != actual.outputs:
        return f"outputs {actual.outputs} instead of {expected.outputs}"
    mine = {node.name: node for node in actual.nodes}
    if set(mine) != {node.name for node in expected.nodes}:
        missing = sorted({node.name for node in expected.nodes} ^ set(mine))
        return f"layers {missing[:5]} differ"
    for node in expected.nodes:
        other = mine[node.name]
        if (node.type, node.attrs, node.inputs) != (other.type, other.attrs, other.inputs):
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
