"""Spec document -> Graph: variables, blocks, repeats, groups, `when` and name resolution.

The format is documented in docs/spec-format.md. In short:

- `layers` is a list; each item is a layer (`type:`), a block instance (`block:`) or an inline group
  (`layers:`). An item's input defaults to the previous item's output (the scope's `input` for the
  first); `inputs:` names other nodes, which may be declared later (cycles are caught afterwards).
- Names are hierarchical: a group or block instance named `layer1` holding `conv1` gives
  `layer1.conv1`; `repeat: 3` gives `layer1.0`, `layer1.1`, `layer1.2`. Unnamed items are named by
  their position in their list, as nn.Sequential does.
- References are looked up in the current scope, then outward; `a.b` descends into `a`; `input`
  is the input of the current group or block.
- `when: expr` drops an item when false; references to a dropped item mean its input. A dropped
  unnamed item takes no number: the next kept one gets it, as in an nn.Sequential built with
  conditional appends (torchvision's MobileNet blocks without an expansion conv).

Expansion recursion is bounded by `Limits.max_depth`; node count by `Limits.max_layers`.
"""

from __future__ import annotations

from typing import Any, Mapping

from archcalc.errors import ArchcalcError, closest
from archcalc.expr import evaluate
from archcalc.graph import INPUT, Graph, Node, topological_order
from archcalc.layers import REGISTRY
from archcalc.spec.source import DEFAULT_LIMITS, LineDict, Limits

TOP_KEYS = ("name", "description", "source", "input", "variables", "blocks", "layers", "outputs", "notes")
COMMON_KEYS = ("name", "inputs", "when", "repeat", "note")
BLOCK_ITEM_KEYS = COMMON_KEYS + ("block", "args")
GROUP_ITEM_KEYS = COMMON_KEYS + ("layers",)
BLOCK_DEF_KEYS = ("params", "layers", "output", "description", "note")
REPEAT_INDEX = "i"


class _Ref:
    """A name written in the spec, resolved once the whole graph is known."""

    __slots__ = ("scope", "text", "line", "path")

    def __init__(self, scope: "_Scope", text: str, line: int | None, path: str | None = None) -> None:
        self.scope, self.text, self.line, self.path = scope, text, line, path


class _Alias:
    __slots__ = ("target",)

    def __init__(self, target: Any) -> None:
        self.target = target


class _Scope:
    __slots__ = ("parent", "names", "input", "output", "path")

    def __init__(self, parent: "_Scope | None", input: Any, path: str) -> None:
        self.parent, self.input, self.path = parent, input, path
        self.names: dict[str, Any] = {}
        self.output: Any = input


def _line(item: Any, key: str | None = None) -> int | None:
    if isinstance(item, LineDict):
        return item.line_of(key) if key else item.line
    return None


class Expander:
    def __init__(self, doc: Any, file: str | None, overrides: Mapping[str, Any], limits: Limits,
                 input_shape: tuple[int, ...] | None = None) -> None:  # fmt: skip
        self.doc, self.file, self.overrides, self.limits = doc, file, dict(overrides), limits
        self.input_override = input_shape
        self.nodes: list[Node] = []
        self.blocks: dict[str, Any] = {}
        self.globals: dict[str, Any] = {}

    def fail(self, message: str, line: int | None = None, path: str | None = None) -> ArchcalcError:
        return ArchcalcError(message, file=self.file, line=line, path=path)

    # ----- top level ---------------------------------------------------------------------------
    def run(self, default_name: str) -> Graph:
        doc = self.doc
        if not isinstance(doc, dict):
            raise self.fail("a spec is a mapping with at least 'input' and 'layers'" + (
                "; the file is empty" if doc is None else f", not a {type(doc).__name__}"), _line(doc))  # fmt: skip
        self._check_keys(doc, TOP_KEYS, "spec", None)
        for key in ("input", "layers"):
            if key not in doc:
                raise self.fail(f"the spec needs '{key}'", _line(doc))
        self.globals = self._variables(doc.get("variables"))
        raw_input = list(self.input_override) if self.input_override else doc["input"]
        input_shape = self._input_shape(raw_input, _line(doc, "input"))
        blocks = doc.get("blocks") or {}
        if not isinstance(blocks, dict):
            raise self.fail("'blocks' must map block names to definitions", _line(doc, "blocks"))
        self.blocks = blocks
        root = _Scope(None, INPUT, "")
        last = self._items(doc["layers"], root, self.globals, "", INPUT, 0, (), _line(doc, "layers"))
        root.output = last
        outputs = doc.get("outputs")
        if outputs is None:
            output_refs: list[Any] = [last]
        else:
            output_refs = [_Ref(root, text, _line(doc, "outputs")) for text in self._names(outputs, doc, "outputs")]
        for node in self.nodes:
            node.inputs = [self._resolve(ref) for ref in node.inputs]
        output_names = [self._resolve(ref) for ref in output_refs]
        if INPUT in output_names and self.nodes:
            raise self.fail("'outputs' names the network input, not a layer", _line(doc, "outputs"))
        if not self.nodes:
            raise self.fail("the spec has no layers", _line(doc, "layers"))
        name = doc.get("name", default_name)
        if not isinstance(name, str) or not name:
            raise self.fail("'name' must be a non-empty string", _line(doc, "name"))
        return Graph(
            name=name,
            input_shape=input_shape,
            nodes=topological_order(self.nodes),
            outputs=output_names,
            file=self.file,
            description=str(doc.get("description", "") or ""),
            source=str(doc.get("source", "") or ""),
            variables=self.globals,
        )

    def _check_keys(self, item: dict, allowed: tuple[str, ...], what: str, path: str | None) -> None:
        for key in item:
            if key not in allowed:
                raise self.fail(
                    f"unknown key {key!r} in {what}{closest(str(key), allowed)}; allowed: {', '.join(allowed)}",
                    _line(item, key), path,
                )  # fmt: skip

    def _variables(self, raw: Any) -> dict[str, Any]:
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            raise self.fail("'variables' must map names to values", _line(self.doc, "variables"))
        for name in self.overrides:
            if name not in raw:
                known = ", ".join(raw) or "none"
                raise ArchcalcError(f"--set {name}: the spec has no variable {name!r}{closest(name, list(raw))}"
                                    f" (variables: {known})", file=self.file)  # fmt: skip
        scope: dict[str, Any] = {}
        for name, value in raw.items():
            if not isinstance(name, str) or not name.isidentifier() or name == REPEAT_INDEX:
                raise self.fail(f"bad variable name {name!r} (use an identifier other than 'i')", _line(raw, name))
            if name in self.overrides:
                scope[name] = self.overrides[name]
                continue
            try:
                scope[name] = self._value(value, scope)
            except ArchcalcError as exc:
                raise exc.located(file=self.file, line=_line(raw, name)) from None
        return scope

    def _value(self, value: Any, scope: Mapping[str, Any]) -> Any:
        if isinstance(value, str):
            return evaluate(value, scope)
        if isinstance(value, list):
            return [self._value(v, scope) for v in value]
        if isinstance(value, (int, float, bool)):
            return value
        raise ArchcalcError(f"a variable takes a number, boolean, expression or list, not {type(value).__name__}")

    def _input_shape(self, raw: Any, line: int | None) -> tuple[int, ...]:
        try:
            value = self._value(raw, self.globals)
        except ArchcalcError as exc:
            raise exc.located(file=self.file, line=line) from None
        if not isinstance(value, list) or not 1 <= len(value) <= 3:
            raise self.fail(f"'input' must be [C, H, W], [C, L] or [features], got {value!r}", line)
        for size in value:
            if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
                raise self.fail(f"'input' sizes must be positive integers, got {value!r}", line)
        return tuple(value)

    def _names(self, raw: Any, item: Any, key: str) -> list[str]:
        names = [raw] if isinstance(raw, str) else raw
        if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
            raise self.fail(f"'{key}' must be a layer name or a list of layer names, got {raw!r}", _line(item, key))
        return names

    # ----- lists and items ---------------------------------------------------------------------
    def _items(self, items: Any, scope: _Scope, env: dict, prefix: str, first: Any,
               depth: int, stack: tuple[str, ...], line: int | None) -> Any:  # fmt: skip
        if depth > self.limits.max_depth:
            raise self.fail(f"groups and blocks nest deeper than {self.limits.max_depth} levels "
                            "(--max-depth raises it)", line, prefix.rstrip(".") or None)  # fmt: skip
        if not isinstance(items, list) or not items:
            raise self.fail("'layers' must be a non-empty list", line, prefix.rstrip(".") or None)
        previous = first
        position = 0  # unnamed items are numbered among the kept ones, as nn.Sequential numbers its modules
        for item in items:
            if isinstance(item, str):
                item = LineDict(type=item)
            if not isinstance(item, dict):
                raise self.fail(f"a layer entry must be a mapping, got {item!r}"[:200], line, prefix + str(position))
            previous, kept = self._item(item, position, scope, env, prefix, previous, depth, stack)
            position += kept
        return previous

    def _item(self, item: dict, index: int, scope: _Scope, env: dict, prefix: str, previous: Any,
              depth: int, stack: tuple[str, ...]) -> tuple[Any, bool]:  # fmt: skip
        """Expand one item; return its output and whether it was kept (not dropped by `when`)."""
        line = _line(item)
        local = item.get("name", str(index))
        if isinstance(local, int) and not isinstance(local, bool):
            local = str(local)
        path = prefix + (local if isinstance(local, str) else str(index))
        if not isinstance(local, str) or not local or "." in local or local == INPUT:
            raise self.fail(f"bad layer name {local!r} (non-empty, no dots, not 'input')", line, path)
        if local in scope.names:
            raise self.fail(f"duplicate name {path!r}", line, path)
        if "inputs" in item:
            inputs: list[Any] = [_Ref(scope, text, _line(item, "inputs"), path)
                                 for text in self._names(item["inputs"], item, "inputs")]  # fmt: skip
        else:
            inputs = [previous]
        if "when" in item:
            if not self._eval(item["when"], env, item, "when", path):
                if "name" in item:  # an unnamed dropped item gives its number to the next kept one
                    scope.names[local] = _Alias(inputs[0])
                return inputs[0], False
        if "repeat" not in item:
            return self._one(item, scope, env, path, local, inputs, depth, stack), True
        count = self._eval(item["repeat"], env, item, "repeat", path)
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise self.fail(f"'repeat' must be a positive integer, got {count!r}", _line(item, "repeat"), path)
        if count + len(self.nodes) > self.limits.max_layers:
            raise self.fail(f"repeat {count:,} would exceed the limit of {self.limits.max_layers:,} layers "
                            "(--max-layers raises it)", _line(item, "repeat"), path)  # fmt: skip
        group = _Scope(scope, inputs[0], path)
        scope.names[local] = group
        current = inputs
        for instance in range(count):
            inner = dict(env)
            inner[REPEAT_INDEX] = instance
            current = [self._one(item, group, inner, f"{path}.{instance}", str(instance), current, depth, stack)]
        group.output = current[0]
        return current[0], True

    def _one(self, item: dict, scope: _Scope, env: dict, path: str, local: str, inputs: list[Any],
             depth: int, stack: tuple[str, ...]) -> Any:  # fmt: skip
        if "type" in item:
            return self._layer(item, scope, env, path, local, inputs)
        if "block" in item:
            return self._block(item, scope, env, path, local, inputs, depth, stack)
        if "layers" in item:
            self._check_keys(item, GROUP_ITEM_KEYS, "a group", path)
            group = _Scope(scope, self._single(inputs, item, path), path)
            scope.names[local] = group
            group.output = self._items(item["layers"], group, env, path + ".", group.input, depth + 1, stack,
                                       _line(item, "layers"))  # fmt: skip
            return group.output
        raise self.fail("a layer entry needs 'type', 'block' or 'layers'", _line(item), path)

    def _single(self, inputs: list[Any], item: dict, path: str) -> Any:
        if len(inputs) != 1:
            raise self.fail("a group or block instance takes one input", _line(item, "inputs"), path)
        return inputs[0]

    def _layer(self, item: dict, scope: _Scope, env: dict, path: str, local: str, inputs: list[Any]) -> str:
        type_name = item["type"]
        rule = REGISTRY.get(type_name) if isinstance(type_name, str) else None
        if rule is None:
            known = sorted(REGISTRY)
            raise self.fail(f"unknown layer type {type_name!r}{closest(str(type_name), known)}; "
                            f"known types: {', '.join(known)}", _line(item, "type"), path)  # fmt: skip
        raw = {key: value for key, value in item.items() if key not in COMMON_KEYS and key != "type"}
        try:
            attrs = rule.resolve_attrs(raw, env)
        except ArchcalcError as exc:
            key = next((k for k in raw if f"'{k}'" in exc.message), None)
            raise exc.located(file=self.file, line=_line(item, key) if key else _line(item), path=path) from None
        count = len(inputs)
        if count < rule.min_inputs or (rule.max_inputs is not None and count > rule.max_inputs):
            wanted = f"at least {rule.min_inputs}" if rule.max_inputs is None else str(rule.max_inputs)
            raise self.fail(f"{type_name} takes {wanted} input{'s' if wanted != '1' else ''}, got {count}"
                            + (" (list them under 'inputs')" if count < rule.min_inputs else ""),
                            _line(item, "inputs") or _line(item), path)  # fmt: skip
        if len(self.nodes) >= self.limits.max_layers:
            raise self.fail(f"more than {self.limits.max_layers:,} layers (--max-layers raises it)", _line(item), path)
        self.nodes.append(Node(path, type_name, attrs, inputs, _line(item), self.file))
        scope.names[local] = path
        return path

    def _block(self, item: dict, scope: _Scope, env: dict, path: str, local: str, inputs: list[Any],
               depth: int, stack: tuple[str, ...]) -> Any:  # fmt: skip
        self._check_keys(item, BLOCK_ITEM_KEYS, "a block instance", path)
        name = item["block"]
        definition = self.blocks.get(name) if isinstance(name, str) else None
        if definition is None:
            raise self.fail(f"unknown block {name!r}{closest(str(name), list(self.blocks))}; "
                            f"defined blocks: {', '.join(self.blocks) or 'none'}", _line(item, "block"), path)  # fmt: skip
        if name in stack:
            raise self.fail(f"block {name!r} instantiates itself ({' -> '.join(stack + (name,))})",
                            _line(item, "block"), path)  # fmt: skip
        if not isinstance(definition, dict) or "layers" not in definition:
            raise self.fail(f"block {name!r} must be a mapping with 'layers'", _line(self.blocks, name), path)
        self._check_keys(definition, BLOCK_DEF_KEYS, f"block {name!r}", path)
        inner = self._block_env(name, definition, item, env, path)
        group = _Scope(scope, self._single(inputs, item, path), path)
        scope.names[local] = group
        last = self._items(definition["layers"], group, inner, path + ".", group.input, depth + 1,
                           stack + (name,), _line(definition, "layers"))  # fmt: skip
        if "output" in definition:
            out_name = self._names(definition["output"], definition, "output")
            group.output = _Ref(group, out_name[0], _line(definition, "output"))
        else:
            group.output = last
        return group.output

    def _block_env(self, name: str, definition: dict, item: dict, env: dict, path: str) -> dict:
        params = definition.get("params") or {}
        args = item.get("args") or {}
        if not isinstance(params, dict) or not isinstance(args, dict):
            raise self.fail(f"block {name!r}: 'params' and 'args' must be mappings", _line(item), path)
        for key in args:
            if key not in params:
                raise self.fail(f"block {name!r} has no parameter {key!r}{closest(str(key), list(params))}; "
                                f"parameters: {', '.join(params) or 'none'}", _line(args, key), path)  # fmt: skip
        inner = dict(self.globals)
        for key, default in params.items():
            if key in args:
                inner[key] = self._eval(args[key], env, args, key, path)
            elif default is None:
                raise self.fail(f"block {name!r} needs argument {key!r}", _line(item), path)
            else:
                inner[key] = self._eval(default, inner, params, key, path)
        return inner

    def _eval(self, raw: Any, env: dict, item: Any, key: str, path: str) -> Any:
        try:
            return self._value(raw, env)
        except ArchcalcError as exc:
            raise exc.located(file=self.file, line=_line(item, key), path=path) from None

    # ----- name resolution ---------------------------------------------------------------------
    def _resolve(self, target: Any) -> str:
        for _ in range(len(self.nodes) + 100):
            if isinstance(target, str):
                return target
            if isinstance(target, _Alias):
                target = target.target
                continue
            if isinstance(target, _Scope):
                target = target.output
                continue
            target = self._lookup(target)
        raise ArchcalcError("references loop through dropped layers", file=self.file)

    def _lookup(self, ref: _Ref) -> Any:
        parts = ref.text.split(".")
        scope: _Scope | None = ref.scope
        if parts[0] == INPUT:
            if len(parts) > 1:
                raise self.fail(f"'{ref.text}': 'input' has no parts", ref.line, ref.path or ref.scope.path or None)
            return ref.scope.input
        entry = None
        while scope is not None:
            if parts[0] in scope.names:
                entry = scope.names[parts[0]]
                break
            scope = scope.parent
        for part in parts[1:]:
            if not isinstance(entry, _Scope) or part not in entry.names:
                entry = None
                break
            entry = entry.names[part]
        if entry is None:
            visible: list[str] = []
            walk: _Scope | None = ref.scope
            while walk is not None:
                visible.extend(walk.names)
                walk = walk.parent
            raise self.fail(f"unknown input {ref.text!r}{closest(ref.text, visible)}",
                            ref.line, ref.path or ref.scope.path or None)  # fmt: skip
        return entry


def build_graph(doc: Any, file: str | None, default_name: str, overrides: Mapping[str, Any] | None = None,
                limits: Limits = DEFAULT_LIMITS, input_shape: tuple[int, ...] | None = None) -> Graph:  # fmt: skip
    return Expander(doc, file, overrides or {}, limits, input_shape).run(default_name)
