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

Expansion recursion is bounded by `Limits.max_depth`; the work, by `Limits.max_layers`: every
layer, group, block instance and dropped entry counts, so repeats of groups of dropped items stop too,
and so does every ITEMS_PER_STEP list items a layer's attributes or a block's arguments hold, or its
expressions touch, beyond the first FREE_ITEMS (a 10,000-entry table repeated 100,000 times is a
billion items of work).
Messages describe user values with `brief()`, which is cheap even for YAML alias bombs.
"""

from __future__ import annotations

from typing import Any, Mapping

from archcalc import limits as _limits
from archcalc.errors import ArchcalcError, brief, closest
from archcalc.graph import INPUT, INPUT_DTYPES, NO_WEIGHT_USE, Graph, Node, topological_order
from archcalc.layers import REGISTRY
from archcalc.layers.over import read_over
from archcalc.limits import note
from archcalc.spec.block_args import block_env
from archcalc.spec.names import ROOT, Alias, Ref, Resolver, Scope
from archcalc.spec.plain import NOT_ATTRIBUTES, expand_plain
from archcalc.spec.source import DEFAULT_LIMITS, Limits, LineDict, LineList, line_at as _line
from archcalc.spec.work import FREE_ITEMS, ITEMS_PER_STEP, REPEAT_INDEX, list_items, literal_key, uses_index
from archcalc.spec.unused import read_unused
from archcalc.spec.values import check_input_shape, listing as _listing, read_input_shape, read_value, read_variables
from archcalc.spec.values import read_weights

TOP_KEYS = ("name", "description", "source", "input", "input_dtype", "variables", "blocks", "layers", "outputs",
            "notes", "unused")
COMMON_KEYS = ("name", "inputs", "when", "repeat", "note")
# On a layer entry only: how the reference implementation invokes it (graph.CALLS), how it holds its weights, and
# over how many leading axes it is applied (layers/over.py).
LAYER_KEYS = ("call", "weights", "over")
BLOCK_ITEM_KEYS = COMMON_KEYS + ("block", "args")
GROUP_ITEM_KEYS = COMMON_KEYS + ("layers",)
BLOCK_DEF_KEYS = ("params", "layers", "output", "description", "note")

class Expander:
    def __init__(self, doc: Any, file: str | None, overrides: Mapping[str, Any], limits: Limits,
                 input_shape: tuple[int, ...] | None = None, input_dtype: str | None = None) -> None:  # fmt: skip
        self.doc, self.file, self.overrides, self.limits = doc, file, dict(overrides), limits
        self.input_override, self.dtype_override = input_shape, input_dtype
        self.nodes: list[Node] = []
        self.blocks: dict[str, Any] = {}
        self.globals: dict[str, Any] = {}
        self.work = 0  # layers, groups, block instances, dropped entries and list items (see above) so far
        self.resolved: dict[tuple, tuple[dict, int]] = {}  # literal attributes -> (resolved, list items in them)
        self.plain: dict[tuple, tuple] = {}  # the same, for entries with the default call: what spec/plain.py needs

    def fail(self, message: str, line: int | None = None, path: str | None = None) -> ArchcalcError:
        return ArchcalcError(message, file=self.file, line=line, path=path)

    # ----- top level ---------------------------------------------------------------------------
    def run(self, default_name: str) -> Graph:
        levels = max(self.limits.max_depth, self.limits.max_yaml_nesting)
        with _limits.active(self.limits), _limits.recursion_room(levels):
            try:
                return self._run(default_name)
            except RecursionError:
                raise self.fail("groups, blocks or lists nest too deeply to expand") from None

    def _run(self, default_name: str) -> Graph:
        doc = self.doc
        if not isinstance(doc, dict):
            raise self.fail("a spec is a mapping with at least 'input' and 'layers'" + (
                "; the document is empty" if doc is None else f", not a {type(doc).__name__}"),
                None if doc is None else _line(doc) or 1)  # fmt: skip
        self._check_keys(doc, TOP_KEYS, "spec", None)
        for key in ("input", "layers") if self.input_override is None else ("layers",):
            if key not in doc:
                raise self.fail(f"the spec needs '{key}'", _line(doc))
        self.globals = read_variables(doc, self.overrides, self.file, self.limits, REPEAT_INDEX)
        if self.input_override is not None:  # the user's shape (--input), not the spec's: errors name the option
            check_input_shape(tuple(self.input_override), self.limits)
            input_shape = tuple(self.input_override)
        else:
            input_shape = read_input_shape(doc["input"], self.globals, self.file, _line(doc, "input"), self.limits)
        input_dtype = self.dtype_override or doc.get("input_dtype", "float32")
        if input_dtype not in INPUT_DTYPES:
            raise self.fail(f"'input_dtype' must be one of {', '.join(INPUT_DTYPES)} (int64: token ids), got "
                            f"{brief(input_dtype)}", _line(doc, "input_dtype"))  # fmt: skip
        blocks = doc.get("blocks") or {}
        if not isinstance(blocks, dict):
            raise self.fail("'blocks' must map block names to definitions", _line(doc, "blocks"))
        self.blocks = blocks
        root = Scope(None, INPUT, "")
        last = self._items(doc["layers"], root, self.globals, "", INPUT, 0, (), _line(doc, "layers"))
        root.output = last
        outputs = doc.get("outputs")
        if outputs is None:
            output_refs: list[Any] = [last]
        else:
            names = self._names(outputs, doc, "outputs")
            output_refs = [Ref(root, text, _line(doc, "outputs"), None) for text in names]
        resolve = Resolver(self.file).resolve  # remembers every step: long chains of dropped items are walked once
        for node in self.nodes:  # most inputs are already a path (the previous item's node, or one named before)
            if len(node.inputs) != 1 or type(node.inputs[0]) is not str:
                node.inputs = [ref if type(ref) is str else resolve(ref) for ref in node.inputs]
        output_names = [resolve(ref) for ref in output_refs]
        if INPUT in output_names and self.nodes:
            raise self.fail("'outputs' names the network input, not a layer", _line(doc, "outputs"))
        if not self.nodes:
            raise self.fail("the spec has no layers", _line(doc, "layers"))
        name = doc.get("name", default_name)
        if not isinstance(name, str) or not name:
            raise self.fail("'name' must be a non-empty string", _line(doc, "name"))
        for key in ("description", "source"):
            if not isinstance(doc.get(key, ""), (str, int, float)):
                raise self.fail(f"'{key}' must be text, got {brief(doc[key])}", _line(doc, key))
        return Graph(
            name=name,
            input_shape=input_shape,
            nodes=topological_order(self.nodes),
            outputs=output_names,
            file=self.file,
            description=str(doc.get("description", "") or ""),
            source=str(doc.get("source", "") or ""),
            input_dtype=input_dtype,
            variables=self.globals,
            limits=self.limits,
            unused=read_unused(doc.get("unused"), self.file),
        )

    def _check_keys(self, item: dict, allowed: tuple[str, ...], what: str, path: str | None) -> None:
        for key in item:
            if key not in allowed:
                raise self.fail(
                    f"unknown key {brief(key)} in {what}{closest(key, allowed)}; allowed: {', '.join(allowed)}",
                    _line(item, key), path,
                )  # fmt: skip

    def _names(self, raw: Any, item: Any, key: str, path: str | None = None) -> list[str]:
        names = [raw] if isinstance(raw, str) else raw
        if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
            raise self.fail(f"'{key}' must be a layer name or a list of layer names, got {brief(raw)}",
                            _line(item, key), path)  # fmt: skip
        return names

    # ----- lists and items ---------------------------------------------------------------------
    def _items(self, items: Any, scope: Scope, env: dict, prefix: str, first: Any,
               depth: int, stack: tuple[str, ...], line: int | None) -> Any:  # fmt: skip
        if depth > self.limits.max_depth:
            raise self.fail("groups and blocks nest too deeply; " + note(self.limits, "max_depth"),
                            line, prefix.rstrip(".") or None)  # fmt: skip
        if not isinstance(items, list) or not items:
            raise self.fail(f"'layers' must be a non-empty list, got {brief(items)}", line, prefix.rstrip(".") or None)
        previous = first
        position = 0  # unnamed items are numbered among the kept ones, as nn.Sequential numbers its modules
        for index, item in enumerate(items):
            if type(item) is LineDict:  # most entries of a big spec: see spec/plain.py
                path = expand_plain(self, item, position, scope, prefix, previous)
                if path is not None:
                    previous = path
                    position += 1
                    continue
            item_line = _line(items, index) or line
            if isinstance(item, str):
                item = LineDict(type=item)
                item.line = item_line
            if not isinstance(item, dict):
                raise self.fail(f"a layer entry must be a mapping, got {brief(item)}", item_line,
                                prefix + str(position))  # fmt: skip
            previous, kept = self._item(item, position, scope, env, prefix, previous, depth, stack)
            position += kept
        return previous

    def _item(self, item: dict, index: int, scope: Scope, env: dict, prefix: str, previous: Any,
              depth: int, stack: tuple[str, ...]) -> tuple[Any, bool]:  # fmt: skip
        """Expand one item; return its output and whether it was kept (not dropped by `when`)."""
        line = _line(item)
        local = item.get("name")
        if local is None:
            local = str(index) if "name" not in item else None
        elif isinstance(local, int) and not isinstance(local, bool):
            local = str(local)
        path = prefix + (local if isinstance(local, str) and local else str(index))
        if not isinstance(local, str) or not local or "." in local or local.startswith(ROOT) or local == INPUT:
            raise self.fail(f"bad layer name {brief(local)} (non-empty, no dots, not starting with {ROOT!r}, not "
                            "'input')", line, path)  # fmt: skip
        self.work += 1
        if self.work > self.limits.max_layers:
            self._spend(0, "the spec expands to too many layers and groups", line, path)
        if local in scope.names:
            raise self.fail(f"duplicate name {brief(path)}", line, path)
        if "inputs" in item:
            names, where = self._names(item["inputs"], item, "inputs", path), item["inputs"]
            self._charge((), line, path, extra=len(names) + sum(map(len, names)) // 100)
            if isinstance(where, LineList):
                lines = [_line(where, k) for k in range(len(names))]
            else:
                lines = [_line(item, "inputs")] * len(names)
            inputs: list[Any] = [Ref(scope, text, at, path) for text, at in zip(names, lines)]
        else:
            inputs = [previous]
        if "input" in item and "inputs" not in item and "type" in item:
            raise self.fail("a layer entry names what it reads with 'inputs' (a name or a list), not 'input'",
                            _line(item, "input"), path)  # fmt: skip
        if "when" in item:
            keep = self._eval(item["when"], env, item, "when", path)
            if not isinstance(keep, bool):
                raise self.fail(f"'when' must be true or false, got {brief(keep)} (write a comparison, like "
                                "'depth > 1')", _line(item, "when"), path)  # fmt: skip
            if not keep:
                if "name" in item:  # an unnamed dropped item gives its number to the next kept one
                    scope.names[local] = Alias(inputs[0])
                return inputs[0], False
        if "repeat" not in item:
            return self._one(item, scope, env, path, local, inputs, depth, stack), True
        count = self._eval(item["repeat"], env, item, "repeat", path)
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise self.fail(f"'repeat' must be a positive integer, got {brief(count)}", _line(item, "repeat"), path)
        if count + max(len(self.nodes), self.work) > self.limits.max_layers:
            raise self.fail(f"repeat {count:,} makes too many layers; " + note(self.limits, "max_layers"),
                            _line(item, "repeat"), path)  # fmt: skip
        group = Scope(scope, inputs[0], path)
        scope.names[local] = group
        current = inputs
        for instance in range(count):
            inner = dict(env)
            inner[REPEAT_INDEX] = instance
            work, nodes = self.work, len(self.nodes)
            current = [self._one(item, group, inner, f"{path}.{instance}", str(instance), current, depth, stack)]
            if instance == 0 and count > 1 and not uses_index(item):
                # Every instance expands alike, so the total is known now: refuse a bomb before building it.
                each = max(self.work - work, len(self.nodes) - nodes)
                if max(work, nodes) + each * count > self.limits.max_layers:
                    message = f"repeat {count:,} of {each:,} steps each (layers, groups, list items) is too much"
                    raise self.fail(f"{message}; " + note(self.limits, "max_layers"), _line(item, "repeat"), path)
        group.output = current[0]
        return current[0], True

    def _one(self, item: dict, scope: Scope, env: dict, path: str, local: str, inputs: list[Any],
             depth: int, stack: tuple[str, ...]) -> Any:  # fmt: skip
        if len(path) >= 100:  # node names: a 10 MB name costs (expression items are charged by the layer)
            self._charge((), _line(item), path, extra=len(path) // 100)
        if "type" in item:
            return self._layer(item, scope, env, path, local, inputs)
        if "block" in item:
            return self._block(item, scope, env, path, local, inputs, depth, stack)
        if "layers" in item:
            self._check_keys(item, GROUP_ITEM_KEYS, "a group", path)
            group = Scope(scope, self._single(inputs, item, path), path)
            scope.names[local] = group
            group.output = self._items(item["layers"], group, env, path + ".", group.input, depth + 1, stack,
                                       _line(item, "layers"))  # fmt: skip
            return group.output
        raise self.fail("a layer entry needs 'type', 'block' or 'layers'", _line(item), path)

    def _single(self, inputs: list[Any], item: dict, path: str) -> Any:
        if len(inputs) != 1:
            raise self.fail("a group or block instance takes one input", _line(item, "inputs"), path)
        return inputs[0]

    def _layer(self, item: dict, scope: Scope, env: dict, path: str, local: str, inputs: list[Any]) -> str:
        type_name = item["type"]
        rule = REGISTRY.get(type_name) if isinstance(type_name, str) else None
        if rule is None:
            known = sorted(REGISTRY)
            # the registry grows with every family: name a few and point at the full list
            listed = ", ".join(known[:12]) + (f", ... ({len(known)} in all: `archcalc layers`)" if len(known) > 12 else "")
            raise self.fail(f"unknown layer type {brief(type_name)}{closest(type_name, known)}; "
                            f"known types: {listed}", _line(item, "type"), path)  # fmt: skip
        raw = {key: value for key, value in item.items() if key not in NOT_ATTRIBUTES}
        literal = literal_key(type_name, raw)
        known = self.resolved.get(literal) if literal is not None else None
        if known is None:
            try:
                attrs = rule.resolve_attrs(raw, env)
            except ArchcalcError as exc:
                key = next((k for k in raw if isinstance(k, str) and f"'{k}'" in exc.message), None)
                raise exc.located(file=self.file, line=_line(item, key) if key else _line(item), path=path) from None
            known = attrs, list_items(attrs.values())
            if literal is not None:
                self.resolved[literal] = known
        attrs = dict(known[0])  # each node owns its attributes
        line = _line(item)
        try:
            call = rule.check_call(item.get("call", "module"), attrs)
        except ArchcalcError as exc:
            raise exc.located(file=self.file, line=_line(item, "call"), path=path) from None
        self._charge((), line, path, extra=known[1])
        if literal is not None and "call" not in item:
            self.plain.setdefault(literal, (rule, known[0], known[1], call))
        count = len(inputs)
        if count < rule.min_inputs or (rule.max_inputs is not None and count > rule.max_inputs):
            wanted = f"at least {rule.min_inputs}" if rule.max_inputs is None else str(rule.max_inputs)
            raise self.fail(f"{type_name} takes {wanted} input{'s' if wanted != '1' else ''}, got {count}"
                            + (" (list them under 'inputs')" if count < rule.min_inputs else ""),
                            _line(item, "inputs") or _line(item), path)  # fmt: skip
        if len(self.nodes) >= self.limits.max_layers:
            raise self.fail("the spec expands to too many layers; " + note(self.limits, "max_layers"),
                            line, path)  # fmt: skip
        try:
            weights = read_weights(item["weights"], env, self.limits) if "weights" in item else NO_WEIGHT_USE
        except ArchcalcError as exc:
            raise exc.located(file=self.file, line=_line(item, "weights"), path=path) from None
        try:
            over = read_over(item["over"]) if "over" in item else 0
        except ArchcalcError as exc:
            raise exc.located(file=self.file, line=_line(item, "over"), path=path) from None
        self.nodes.append(Node(path, type_name, attrs, inputs, line, self.file, weights, call, over))
        scope.names[local] = path
        return path

    def _block(self, item: dict, scope: Scope, env: dict, path: str, local: str, inputs: list[Any],
               depth: int, stack: tuple[str, ...]) -> Any:  # fmt: skip
        self._check_keys(item, BLOCK_ITEM_KEYS, "a block instance", path)
        name = item["block"]
        definition = self.blocks.get(name) if isinstance(name, str) else None
        if definition is None:
            raise self.fail(f"unknown block {brief(name)}{closest(name, [str(b) for b in self.blocks])}; "
                            f"defined blocks: {_listing(self.blocks)}", _line(item, "block"), path)  # fmt: skip
        if name in stack:
            raise self.fail(f"block {name!r} instantiates itself ({' -> '.join(stack + (name,))})",
                            _line(item, "block"), path)  # fmt: skip
        if not isinstance(definition, dict) or "layers" not in definition:
            raise self.fail(f"block {name!r} must be a mapping with 'layers'", _line(self.blocks, name), path)
        self._check_keys(definition, BLOCK_DEF_KEYS, f"block {name!r}", path)
        inner = block_env(self, name, definition, item, env, path)
        group = Scope(scope, self._single(inputs, item, path), path)
        scope.names[local] = group
        last = self._items(definition["layers"], group, inner, path + ".", group.input, depth + 1,
                           stack + (name,), _line(definition, "layers"))  # fmt: skip
        if "output" in definition:
            out_name = self._names(definition["output"], definition, "output")
            if len(out_name) != 1:
                raise self.fail(f"block {name!r}: 'output' names one layer, got {brief(out_name)}",
                                _line(definition, "output"), path)  # fmt: skip
            group.output = Ref(group, out_name[0], _line(definition, "output"), path)
        else:
            group.output = last
        return group.output

    def _spend(self, steps: int, what: str, line: int | None, path: str | None) -> None:
        self.work += steps
        if self.work > self.limits.max_layers:
            raise self.fail(f"{what}; " + note(self.limits, "max_layers"), line, path)

    def _charge(self, values: Any, line: int | None, path: str | None, extra: int = 0) -> None:
        """Count list items in evaluated values, those expressions touched, and `extra` as expansion work.

        Aliases let a 1 kB file hand every layer the same huge list, name or mapping: what an entry
        costs to expand must count, not just how many entries there are.
        """
        items = _limits.take_items() + extra + (list_items(values) if values else 0)
        if items > FREE_ITEMS:
            self._spend((items - FREE_ITEMS) // ITEMS_PER_STEP, "attributes, arguments and expressions handle "
                        "too many list items in all", line, path)  # fmt: skip

    def _eval(self, raw: Any, env: dict, item: Any, key: str, path: str) -> Any:
        try:
            value = read_value(raw, env, self.limits)
            self._charge([value], _line(item, key), path)
            return value
        except ArchcalcError as exc:
            raise exc.located(file=self.file, line=_line(item, key), path=path) from None

def build_graph(doc: Any, file: str | None, default_name: str, overrides: Mapping[str, Any] | None = None,
                limits: Limits = DEFAULT_LIMITS, input_shape: tuple[int, ...] | None = None,
                input_dtype: str | None = None) -> Graph:  # fmt: skip
    return Expander(doc, file, overrides or {}, limits, input_shape, input_dtype).run(default_name)
