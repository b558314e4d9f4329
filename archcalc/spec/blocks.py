"""Finding blocks for export: which groups of a graph share a structure, and writing their items.

Node names are paths (`layer1.0.conv1`); each folder is a group. A group's *structure* is everything
about it except the numbers in its attributes (the *slots*): local names, layer types, string
attributes, and inputs written relative to the group. Groups are handled bottom up by height, so a
block can contain instances of smaller blocks (ResNet's stage holds Bottlenecks). Groups with one
structure share a block: slots that differ between instances become params (slots with the same
values share one param), the others are written once. A group whose structure equals another's
minus one sub-group that reads the block input and is read only through its last layer (ResNet's
`downsample`) joins that block, which then keeps the sub-group under `when: has_<name>`.

A group can be a block only when everything in it reads from inside it or from its one input, so the
definition means the same wherever it is used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from archcalc.errors import ArchcalcError
from archcalc.graph import INPUT, Graph, Node
from archcalc.layers.attrs import REQUIRED
from archcalc.spec.names import ROOT

MAX_REPEAT_EXPRESSION = 900  # the expression language refuses longer texts


@dataclass
class Group:
    path: str
    local: str
    children: dict[str, Any] = field(default_factory=dict)  # local name -> Group | Node
    members: list[Node] = field(default_factory=list)  # every node below, in graph order
    input: str | None = None  # what its first item reads by default (`input` inside it)


def tree(graph: Graph) -> Group:
    root = Group("", "")
    groups = {"": root}
    for node in graph.nodes:
        parts = node.name.split(".")
        parent = root
        root.members.append(node)
        for depth in range(1, len(parts)):
            path = ".".join(parts[:depth])
            if path not in groups:
                groups[path] = Group(path, parts[depth - 1])
                parent.children[parts[depth - 1]] = groups[path]
            parent = groups[path]
            parent.members.append(node)
        parent.children[parts[-1]] = node
    for group in groups.values():
        inside = {node.name for node in group.members}
        outside = [name for node in group.members for name in node.inputs if name not in inside]
        group.input = INPUT if INPUT in outside or group is root else (outside[0] if outside else None)
    return root


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


def exit_of(child: Any) -> str:
    """The name a following item reads by default: the last item's, all the way down."""
    while isinstance(child, Group):
        child = next(reversed(child.children.values()))
    return child.name


class BlockWriter:
    """Chooses the blocks (`use_blocks`), then writes spec items; `blocks` collects the definitions."""

    def __init__(self, graph: Graph, labels: dict[str, str], use_blocks: bool) -> None:
        self.labels = labels
        self.root = tree(graph)
        self.struct: dict[str, tuple] = {}  # group path -> structure
        self.slots: dict[str, list[tuple[str, str, Any]]] = {}  # group path -> (full name, short name, value)
        self.instances: dict[tuple, list[Group]] = {}  # structure -> its instances, the complete ones first
        self.optional: dict[tuple, str] = {}  # structure -> local name of the sub-group some instances lack
        self.absent: set[str] = set()  # instances without that sub-group
        self.params: dict[tuple, list[str]] = {}  # structure -> param names
        self.slot_params: dict[tuple, dict[str, str]] = {}  # structure -> slot full name -> param
        self.args_of: dict[str, dict[str, Any]] = {}  # instance path -> param values
        self.blocks: dict[tuple, dict] = {}  # structure -> {"name", "params", "layers"}, as written
        self.names: set[str] = set()
        self.redirect: dict[str, str] = {}  # while writing a block with an optional part
        if use_blocks:
            self._choose_blocks()

    # ----- references --------------------------------------------------------------------------------
    def _group_at(self, path: str) -> Group:
        group = self.root
        for part in path.split(".") if path else []:
            group = group.children[part]
        return group

    def ref(self, target: str, scope: Group) -> str:
        """How `target` is named inside `scope`: `input`, or its path below the nearest common group."""
        if target == scope.input:
            return INPUT
        if target == INPUT:
            raise ArchcalcError(f"{scope.path} cannot name the network input")
        target = self.redirect.get(target, target)
        s, t = scope.path.split(".") if scope.path else [], target.split(".")
        common = 0
        while common < len(s) and common < len(t) - 1 and s[common] == t[common]:
            common += 1
        # Names are looked up from the scope outward: start the reference at the deepest ancestor of the
        # target whose name no group between here and there also has (features.1.0 reads features.0.2 as
        # `features.0.2`, since its own `0` would shadow a bare `0.2`).
        for start in range(common, -1, -1):
            shadow = next((depth for depth in range(len(s), start, -1)
                           if t[start] in self._group_at(".".join(s[:depth])).children), None)  # fmt: skip
            if shadow is None:
                return ".".join(t[start:])
        # Every relative name is hidden by a group of the same name on the way out (CrossViT's
        # blocks.1.blocks hides blocks.0.cat_3): name it from the top level.
        return ROOT + target

    def _refs(self, child: Any, group: Group, previous: str | None, alias: dict[str, str]) -> tuple | None:
        wanted = [alias.get(name, name) for name in (child.inputs if isinstance(child, Node) else [child.input])]
        if wanted == [previous] or wanted == [None]:
            return None
        return tuple(self.ref(name, group) for name in wanted)

    # ----- choosing blocks ---------------------------------------------------------------------------
    def _choose_blocks(self) -> None:
        groups: list[Group] = []
        pending = [self.root]
        while pending:
            children = [c for c in pending.pop().children.values() if isinstance(c, Group)]
            groups += children
            pending += children
        for height, level in sorted(self._levels(groups).items()):
            seen: dict[tuple, list[Group]] = {}
            for group in level:
                structure, slots = self._describe(group)
                self.struct[group.path], self.slots[group.path] = structure, slots
                inside = {node.name for node in group.members}
                if {i for node in group.members for i in node.inputs if i not in inside} <= {group.input}:
                    seen.setdefault(structure, []).append(group)
            self._join_optional(seen)
            for structure, members in seen.items():
                if len(members) > 1:
                    self.instances[structure] = members
                    self._parametrise(structure, members)

    def _levels(self, groups: list[Group]) -> dict[int, list[Group]]:
        """Groups by the round they are handled in: after their sub-groups, and a group that equals
        another minus an optional part together with that other one (so the two can share a block)."""
        inline = {}
        for group in groups:  # no blocks exist yet: structures written out in full
            inline.setdefault(self._describe(group)[0], []).append(group)
        partners: list[tuple[Group, Group]] = []
        for group in groups:
            for part in self._optional_parts(group):
                partners += [(group, other) for other in inline.get(self._without(group, part), [])]
        level = {group.path: 1 for group in groups}
        for _ in range(len(groups) + 1):
            changed = False
            for group in reversed(groups):  # children come after their parents in `groups`
                sub = [level[c.path] for c in group.children.values() if isinstance(c, Group)]
                if sub and level[group.path] <= max(sub):
                    level[group.path], changed = max(sub) + 1, True
            for group, other in partners:
                if level[other.path] < level[group.path]:
                    level[other.path], changed = level[group.path], True
            if not changed:
                break
        out: dict[int, list[Group]] = {}
        for group in groups:
            out.setdefault(level[group.path], []).append(group)
        return out

    def _without(self, group: Group, part: Group) -> tuple | None:
        """The structure the group would have without `part` (None if it cannot be written)."""
        try:
            return self._describe(group, skip=part)[0]
        except ArchcalcError:
            return None

    def _optional_parts(self, group: Group) -> list[Group]:
        """Sub-groups (not the last item) that read the group's input and are read only via their last layer."""
        parts = []
        for child in list(group.children.values())[:-1]:
            if not isinstance(child, Group) or child.input != group.input:
                continue
            inside, last = {node.name for node in child.members}, exit_of(child)
            if not any(i in inside and i != last for node in group.members if node.name not in inside
                       for i in node.inputs):  # fmt: skip
                parts.append(child)
        return parts

    def _describe(self, group: Group, skip: Group | None = None) -> tuple[tuple, list]:
        structure: list = []
        slots: list = []
        alias = {exit_of(skip): group.input} if skip is not None else {}
        self._walk(group, "", structure, slots, skip, alias)
        return tuple(structure), slots

    def _walk(self, group: Group, prefix: str, structure: list, slots: list, skip: Group | None, alias: dict) -> None:
        previous = group.input
        for local, child in group.children.items():
            if child is skip:
                previous = group.input  # a dropped item hands on its input
                continue
            refs = self._refs(child, group, previous, alias)
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
                structure.append(("layer", local, child.type, child.call, tuple(fixed), refs, child.weights,
                                  child.over))
            elif self.struct.get(child.path) in self.instances:
                inner = self.struct[child.path]
                structure.append(("block", local, inner, refs))
                slots += [(f"{prefix}{local}_{p}", p, self.args_of[child.path][p]) for p in self.params[inner]]
            else:
                structure.append(("group", local, refs))
                self._walk(child, f"{prefix}{local}_", structure, slots, None, alias)
                structure.append(("end",))
            previous = exit_of(child)

    def _join_optional(self, seen: dict[tuple, list[Group]]) -> None:
        """Instances lacking one sub-group join the structure that has it (ResNet's downsample)."""
        for structure in list(seen):
            if structure not in seen:
                continue
            template = seen[structure][0]
            for part in self._optional_parts(template):
                without = self._without(template, part)
                lacking = seen.get(without)
                if lacking and without != structure:
                    del seen[without]
                    for group in lacking:
                        self.struct[group.path] = structure
                        self.absent.add(group.path)
                    seen[structure] += lacking
                    self.optional[structure] = part.local
                    break

    def _parametrise(self, structure: tuple, members: list[Group]) -> None:
        """Slots that differ between instances become params; slots whose values agree share one."""
        template = self.slots[members[0].path]
        optional = self.optional.get(structure)
        columns: list[list[Any]] = [[] for _ in template]
        for member in members:
            values = iter(value for _, _, value in self.slots[member.path])
            for position, (slot, _, _) in enumerate(template):
                lacking = member.path in self.absent and slot.startswith(f"{optional}_")
                columns[position].append(None if lacking else next(values))
        params: dict[str, list[Any]] = {}
        slot_params: dict[str, str] = {}
        flag = _identifier(f"has_{optional}")
        if optional is not None:
            params[flag] = [m.path not in self.absent for m in members]
        for (slot, short, _), column in zip(template, columns):
            known = {repr(v) for v in column if v is not None}
            if len(known) <= 1:
                continue  # the same everywhere: written in the definition
            for name, values in params.items():
                if name != flag and all(a is None or b is None or repr(a) == repr(b) for a, b in zip(column, values)):
                    params[name] = [b if b is not None else a for a, b in zip(column, values)]
                    break
            else:
                name, count = _identifier(short), 2
                while name in params or name == "i":
                    name, count = f"{_identifier(short)}_{count}", count + 1
                params[name] = column
            slot_params[slot] = name
        self.params[structure], self.slot_params[structure] = list(params), slot_params
        for index, member in enumerate(members):
            self.args_of[member.path] = {
                name: next((v for v in [values[index]] + values if v is not None), None) for name, values in params.items()
            }

    # ----- writing -----------------------------------------------------------------------------------
    def _define(self, group: Group) -> str:
        """The block for this group's structure, written at its first use from a complete instance."""
        structure = self.struct[group.path]
        if structure not in self.blocks:
            template = self.instances[structure][0]
            label = self.labels.get(template.path) or (template.local if not template.local.isdigit() else "")
            if not label:
                label = "_".join(list(dict.fromkeys(node.type for node in template.members))[:3]) + "_block"
            name, count = _identifier(label), 2
            while name in self.names:
                name, count = f"{_identifier(label)}_{count}", count + 1
            self.names.add(name)
            optional = self.optional.get(structure)
            saved = dict(self.redirect)
            if optional is not None:
                part = template.children[optional]
                self.redirect[exit_of(part)] = part.path
            layers = self.items(template, self.slot_params[structure], "", optional)
            self.redirect = saved
            self.blocks[structure] = {"name": name, "params": {p: None for p in self.params[structure]},
                                      "layers": layers}  # fmt: skip
        return self.blocks[structure]["name"]

    def _args(self, group: Group, slot_params: dict[str, str], prefix: str) -> dict[str, Any]:
        return {param: slot_params.get(f"{prefix}{group.local}_{param}", value)
                for param, value in self.args_of[group.path].items()}  # fmt: skip

    def items(self, group: Group, slot_params: dict[str, str], prefix: str, optional: str | None = None) -> list[dict]:
        """A group's spec items. In a block definition, slots named in `slot_params` are params and the
        `optional` sub-group is written with `when`."""
        out = []
        previous, after_optional = group.input, False
        for local, child in group.children.items():
            item: dict[str, Any] = {"name": local}
            refs = self._refs(child, group, previous, {})
            if after_optional and refs is None:  # a dropped item hands on its input, not its output
                refs = (self.ref(previous, group),)
            if isinstance(child, Node):
                item["type"] = child.type
                for attr in child.rule.attrs:
                    param = slot_params.get(f"{prefix}{local}_{attr.name}")
                    if param is not None or not is_default(attr, child.attrs[attr.name]):
                        item[attr.name] = param if param is not None else attr.kind.dump(child.attrs[attr.name])
                item.update({"weights": child.weights.written()} if child.weights.written() else {})
                if child.call != "module":
                    item["call"] = child.call
                if child.over:
                    item["over"] = child.over
            if local == optional:
                item["when"] = _identifier(f"has_{optional}")
            item.update({"inputs": list(refs)} if refs else {})
            if isinstance(child, Group):
                if self._repeat(child, item, slot_params, prefix):
                    pass
                elif self.struct.get(child.path) in self.instances:
                    item["block"] = self._define(child)
                    args = self._args(child, slot_params, prefix)
                    item.update({"args": args} if args else {})
                else:
                    item["layers"] = self.items(child, slot_params, f"{prefix}{local}_")
            out.append(item)
            previous, after_optional = exit_of(child), local == optional
        return out

    def _child_arg(self, group: Group, child: Group, param: str, slot_params: dict[str, str], prefix: str) -> Any:
        """The value of an instance's param as written where `group` (at `prefix`) is written."""
        own = self.struct.get(group.path)
        if own not in self.instances:  # a plain group: its slots are part of the enclosing structure
            return self._args(child, slot_params, f"{prefix}{group.local}_")[param]
        inner = self.slot_params[own].get(f"{child.local}_{param}")  # the group's own param, if it varies
        if inner is None:
            return self.args_of[child.path][param]
        return slot_params.get(f"{prefix}{group.local}_{inner}", self.args_of[group.path][inner])

    def _repeat(self, group: Group, item: dict, slot_params: dict[str, str], prefix: str) -> bool:
        """Numbered instances of one block, each feeding the next, become `repeat: n`; in a block
        definition their args may be the definition's params."""
        children = list(group.children.values())
        if len(children) < 2 or list(group.children) != [str(k) for k in range(len(children))]:
            return False
        structures = {self.struct.get(c.path) if isinstance(c, Group) else None for c in children}
        if len(structures) != 1 or next(iter(structures)) not in self.instances or children[0].input != group.input:
            return False
        if any(later.input != exit_of(earlier) for earlier, later in zip(children, children[1:])):
            return False
        args: dict[str, Any] = {}
        for param in self.params[self.struct[children[0].path]]:
            values = [self._child_arg(group, c, param, slot_params, prefix) for c in children]
            text = f"[{', '.join(v if isinstance(v, str) else repr(v) for v in values)}][i]"
            if len(text) > MAX_REPEAT_EXPRESSION:
                return False
            args[param] = values[0] if len({repr(v) for v in values}) == 1 else text
        item.update({"block": self._define(children[0]), "repeat": len(children)} | ({"args": args} if args else {}))
        return True
