"""Names in a spec: scopes, references written in `inputs:`/`outputs:`, and resolving them to nodes.

Expansion records what each name means (a node path, a group's `Scope`, or an `Alias` for an item
dropped by `when`) and leaves references as `Ref`s, because `inputs:` may name items declared
later. Once the whole spec is expanded, `Resolver.resolve` turns each reference into a node path
(or `input`). Lookups go from the reference's scope outward; `a.b` descends into group `a`; a reference
that starts with `/` is looked up at the top level of the spec only (an exported spec names a node that an
inner group's own name would hide that way).
"""

from __future__ import annotations

from typing import Any

from archcalc.errors import ArchcalcError, brief, closest
from archcalc.graph import INPUT

ROOT = "/"  # `/stage.0.conv`: looked up at the top level of the spec, not from the reference's scope outward


class Scope:
    """A group, block instance or repeat: the names declared in it, its input and its output."""

    __slots__ = ("parent", "names", "input", "output", "path")

    def __init__(self, parent: "Scope | None", input: Any, path: str) -> None:
        self.parent, self.input, self.path = parent, input, path
        self.names: dict[str, Any] = {}
        self.output: Any = input


class Ref:
    """A name written in the spec, resolved once the whole graph is known."""

    __slots__ = ("scope", "text", "line", "path")

    def __init__(self, scope: Scope, text: str, line: int | None, path: str | None) -> None:
        self.scope, self.text, self.line, self.path = scope, text, line, path  # path: the item that wrote it


class Alias:
    """What a dropped item's name means: its input."""

    __slots__ = ("target",)

    def __init__(self, target: Any) -> None:
        self.target = target


class Resolver:
    """Resolves references, remembering every step, so long chains of dropped items are walked once."""

    def __init__(self, file: str | None) -> None:
        self.file = file
        self.done: dict[int, tuple[Any, str]] = {}  # id(step) -> (step, node path); the step pins the id

    def resolve(self, target: Any) -> str:
        if type(target) is Ref:  # the common case: a name that leads straight to a node
            found = self.lookup(target)
            if type(found) is str:
                self.done[id(target)] = (target, found)
                return found
        start, passed, ids = target, [], set()
        while not isinstance(target, str):
            known = self.done.get(id(target))
            if known is not None:
                target = known[1]
                break
            if id(target) in ids:
                ref = start if isinstance(start, Ref) else None
                raise ArchcalcError(
                    "references loop through dropped layers or group outputs", file=self.file,
                    line=ref.line if ref else None, path=ref.path if ref else None,
                )  # fmt: skip
            ids.add(id(target))
            passed.append(target)
            if isinstance(target, Alias):
                target = target.target
            elif isinstance(target, Scope):
                target = target.output
            else:
                target = self.lookup(target)
        for step in passed:
            self.done[id(step)] = (step, target)
        return target

    def lookup(self, ref: Ref) -> Any:
        anchored = ref.text.startswith(ROOT)
        parts = ref.text[len(ROOT):].split(".") if anchored else ref.text.split(".")
        where = ref.path or ref.scope.path or None
        start = ref.scope
        while anchored and start.parent is not None:
            start = start.parent
        if parts[0] == INPUT:
            if len(parts) > 1:
                raise ArchcalcError(f"{brief(ref.text)}: 'input' has no parts", file=self.file, line=ref.line,
                                    path=where)  # fmt: skip
            return start.input
        entry = None
        scope: Scope | None = start
        while scope is not None:
            if parts[0] in scope.names:
                entry = scope.names[parts[0]]
                break
            scope = scope.parent
        for part in parts[1:]:
            if not isinstance(entry, Scope) or part not in entry.names:
                entry = None
                break
            entry = entry.names[part]
        if entry is None:
            visible: list[str] = []
            walk: Scope | None = ref.scope
            while walk is not None:
                visible.extend(walk.names)
                walk = walk.parent
            what = "input" if where is not None else "layer in the spec's outputs:"  # no layer: the top-level key
            raise ArchcalcError(f"unknown {what} {brief(ref.text)}{closest(ref.text, visible)}", file=self.file,
                                line=ref.line, path=where)  # fmt: skip
        return entry
