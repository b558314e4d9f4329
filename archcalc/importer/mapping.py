"""A trace (calls with real tensors) -> a Graph of registry layers: the dispatcher.

Tensors are followed by identity: each call's tensor operands are looked up among the outputs of
earlier calls (or the model input). For each call with tensor outputs:

1. find the rules for its module class or function (`rules.RuleTable`), take the first whose `when`
   accepts it, read the attributes and let the layer type validate them;
2. check the layer type against what torch did: arity, the output shape, and for modules the
   parameter and buffer counts of the module itself;
3. if anything fails, or no rule exists, the call becomes an `unsupported` layer with the traced
   shape, the parameters it owns, its qualified name, where it appears and why. Nothing is dropped.

Plumbing that computes nothing (taking an element of a tuple, reading `.shape` or `.size()`) makes
no layer. A call returning several tensors maps only when its rule says which one is the layer's
(`ImportRule.other_outputs`: nn.LSTM's output, not its final states); a later call that reads one of
the others becomes unsupported, naming what it read.
"""

from __future__ import annotations

import operator
from typing import Any

import torch

from archcalc.errors import ArchcalcError
from archcalc.graph import INPUT, Graph, Node, topological_order
from archcalc.importer.rules import Call, CannotMap, RuleTable, qualified_name
from archcalc.importer.trace import Trace, Traced
from archcalc.layers import REGISTRY


def tensors(value: Any) -> list[torch.Tensor]:
    """Tensors inside nested tuples, lists and dicts, in order."""
    out: list[torch.Tensor] = []
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, torch.Tensor):
            out.append(item)
        elif isinstance(item, (tuple, list)):
            pending.extend(reversed(item))
        elif isinstance(item, dict):
            pending.extend(reversed(list(item.values())))
    return out


def own_counts(module: torch.nn.Module) -> tuple[int, int, int]:
    """(trainable, frozen, buffer elements) of a module, as torch counts them."""
    params = list(module.parameters())
    return (sum(p.numel() for p in params if p.requires_grad), sum(p.numel() for p in params if not p.requires_grad),
            sum(b.numel() for b in module.buffers()))  # fmt: skip


class Names:
    """Unique hierarchical node names: a leaf never doubles as a group, nothing is called `input`."""

    def __init__(self) -> None:
        self.leaves: set[str] = set()
        self.groups: set[str] = set()

    def claim(self, wanted: str) -> str:
        parts = [("input_" if part == INPUT else part) or "_" for part in wanted.split(".")]
        for cut in range(1, len(parts)):
            if ".".join(parts[:cut]) in self.leaves:
                parts = parts[: cut - 1] + ["_".join(parts[cut - 1 :])]
                break
        base = name = ".".join(parts)
        count = 1
        while name in self.leaves or name in self.groups:
            name, count = f"{base}_{count}", count + 1
        self.leaves.add(name)
        pieces = name.split(".")
        self.groups.update(".".join(pieces[:cut]) for cut in range(1, len(pieces)))
        return name


class Mapper:
    def __init__(self, trace: Trace, batch: int, table: RuleTable, model: torch.nn.Module) -> None:
        self.trace, self.batch, self.table = trace, batch, table
        self.producer: dict[int, str] = {id(trace.input): INPUT}
        self.weights = {id(t) for t in list(model.parameters()) + list(model.buffers())}
        self.counted: set[int] = set()  # parameters and buffers already in some layer's count
        self.names = Names()
        self.nodes: list[Node] = []
        self.calls_per_module: dict[int, int] = {}
        self.notes: list[str] = []
        self.unmodelled: dict[int, str] = {}  # tensors a mapped call returns beside its layer's output

    def sample(self, t: torch.Tensor) -> tuple[int, ...] | None:
        """The shape without the batch axis, or None for a tensor without one."""
        return tuple(t.shape[1:]) if t.dim() >= 2 and t.shape[0] == self.batch else None

    def run(self) -> list[Node]:
        for call in self.trace.calls:
            outputs = tensors(call.output)
            if not outputs or (call.target is operator.getitem and not isinstance(call.args[0], torch.Tensor)):
                continue  # plumbing: sizes, shapes, picking a tensor out of a tuple
            if call.is_module:
                self.calls_per_module[id(call.target)] = self.calls_per_module.get(id(call.target), 0) + 1
            try:
                self.mapped(call, outputs)
            except CannotMap as exc:
                self.unsupported(call, outputs, str(exc))
        return self.nodes

    def name(self, call: Traced) -> str:
        if call.is_module:
            return self.names.claim(call.path or type(call.target).__name__.lower())
        return self.names.claim(f"{call.path}.{call.op}" if call.path else call.op)

    def mapped(self, call: Traced, outputs: list[torch.Tensor]) -> None:
        rules = self.table.module_rules(call.target) if call.is_module else self.table.function_rules(call.target)
        unmodelled = [t for t in tensors((call.args, call.kwargs)) if id(t) in self.unmodelled]
        if unmodelled:  # reads a final state (h_n) that the layer which returned it does not model
            raise CannotMap(self.unknown_operand(unmodelled[0]))
        if not rules:
            raise CannotMap("no import rule for it" + (" (register one: docs/import.md)" if call.is_module else ""))
        operands = tensors((call.args, call.kwargs))
        inputs = []
        for t in operands:
            if id(t) not in self.producer:
                raise CannotMap(self.unknown_operand(t))
            inputs.append(self.producer[id(t)])
        several = len(outputs) != 1 or not isinstance(call.output, torch.Tensor)
        if several and not any(r.other_outputs for r in rules):
            raise CannotMap(f"returns {len(outputs)} tensors")
        shapes = [self.sample(t) for t in operands]
        out_shape = self.sample(outputs[0])
        if out_shape is None or any(shape is None for shape in shapes):
            raise CannotMap(f"a tensor has no batch axis of {self.batch} in front")
        view = Call(call.target, call.args, call.kwargs, call.is_module, shapes, out_shape)  # type: ignore[arg-type]
        rule = None
        try:
            rule = next((r for r in rules if (r.when is None or r.when(view)) and (r.other_outputs or not several)),
                        None)  # fmt: skip
            if rule is None:
                raise CannotMap(f"returns {len(outputs)} tensors" if several else "no rule accepts this configuration")
            layer = REGISTRY[rule.layer]
            raw = {key: value for key, value in rule.read(view).items() if value is not None}  # None: the default
            attrs = layer.resolve_attrs(raw, {})
            if len(inputs) < layer.min_inputs or (layer.max_inputs is not None and len(inputs) > layer.max_inputs):
                raise CannotMap(f"{rule.layer} takes {layer.min_inputs}+ tensor inputs, the call has {len(inputs)}")
            shape = tuple(layer.shape(attrs, shapes))  # type: ignore[arg-type]
        except CannotMap:
            raise
        except ArchcalcError as exc:
            raise CannotMap(f"{rule.layer if rule else 'rule'}: {exc.message}") from None
        except Exception as exc:  # noqa: BLE001 - a rule broken by an odd configuration must not stop the import
            detail = " ".join(str(exc).split())[:200]
            raise CannotMap(f"its import rule failed ({type(exc).__name__}: {detail})") from None
        if shape != out_shape:
            raise CannotMap(f"the {rule.layer} rule gives shape {list(shape)}, torch gives {list(out_shape)}")
        if call.is_module:
            counted = layer.params(attrs, shapes, shape)  # type: ignore[arg-type]
            own = own_counts(call.target)
            if (counted.trainable, counted.non_trainable, counted.buffers) != own:
                mine = f"{counted.trainable}/{counted.non_trainable}/{counted.buffers}"
                raise CannotMap(f"the {rule.layer} rule counts {mine} params/frozen/buffers, the module has "
                                f"{own[0]}/{own[1]}/{own[2]}")  # fmt: skip
            self.note_shared(call, own)
        name = self.add(call, rule.layer, attrs, inputs, outputs[0])
        for other in outputs[1:]:
            self.unmodelled[id(other)] = f"{rule.other_outputs} of {name}"

    def unknown_operand(self, t: torch.Tensor) -> str:
        if id(t) in self.unmodelled:
            return f"an operand is {self.unmodelled[id(t)]}, which archcalc does not model as an output"
        if id(t) in self.weights:
            return "an operand is a parameter or buffer, not a layer output"
        if self.trace.method == "forward hooks":
            return "cannot place it in the graph: an input tensor comes from code the hooks did not see"
        return "an operand is a constant tensor, not a layer output"

    def note_unused(self, model: torch.nn.Module) -> None:
        unused = sum(t.numel() for t in list(model.parameters()) + list(model.buffers()) if id(t) not in self.counted)
        if unused:
            self.notes.append(f"{unused:,} parameter and buffer elements of the model are not used by its forward "
                              "for this input; they are not counted")  # fmt: skip

    def note_shared(self, call: Traced, own: tuple[int, int, int]) -> None:
        """Counting per layer counts shared weights again; say so (once per module)."""
        weights = [id(t) for t in list(call.target.parameters()) + list(call.target.buffers())]
        if self.calls_per_module[id(call.target)] == 2 and any(own):
            self.notes.append(f"module {call.path} is called more than once; its parameters are counted at "
                              "every call (torch counts them once)")  # fmt: skip
        elif self.calls_per_module[id(call.target)] == 1 and any(w in self.counted for w in weights):
            self.notes.append(f"module {call.path} shares parameters with an earlier layer; they are counted "
                              "again (torch counts them once)")  # fmt: skip
        self.counted.update(weights)

    def add(self, call: Traced, layer: str, attrs: dict, inputs: list[str], output: torch.Tensor) -> str:
        name = self.name(call)
        # A spec layer always has an input; a tensor made from nothing (torch.zeros in forward) hangs
        # off the network input, which changes no count.
        inputs = inputs or [INPUT]
        self.nodes.append(Node(name, layer, attrs, inputs, call.line, call.file))
        self.producer[id(output)] = name
        return name

    def unsupported(self, call: Traced, outputs: list[torch.Tensor], reason: str) -> None:
        """An `unsupported` layer per output tensor; the first one carries the parameters the call owns."""
        owned = list(call.target.parameters()) + list(call.target.buffers()) if call.is_module else []
        owned += [t for t in tensors((call.args, call.kwargs)) if id(t) in self.weights]
        fresh = {id(t): t for t in owned if id(t) not in self.counted}
        self.counted.update(fresh)
        buffers = {id(b) for b in call.target.buffers()} if call.is_module else set()
        counts = {"params": sum(t.numel() for k, t in fresh.items() if k not in buffers and t.requires_grad),
                  "non_trainable": sum(t.numel() for k, t in fresh.items() if k not in buffers and not t.requires_grad),
                  "buffers": sum(t.numel() for k, t in fresh.items() if k in buffers)}  # fmt: skip
        inputs = list(dict.fromkeys(self.producer[id(t)] for t in tensors((call.args, call.kwargs))
                                    if id(t) in self.producer))  # fmt: skip
        for position, output in enumerate(outputs):
            shape = self.sample(output)
            note = "" if shape is not None else f"; its output {list(output.shape)} has no batch axis in front"
            attrs = {"shape": shape if shape is not None else (tuple(output.shape) or (1,)),
                     "op": qualified_name(call.target, call.is_module), "where": call.where, "reason": reason + note}
            attrs |= counts if position == 0 else {}
            self.add(call, "unsupported", REGISTRY["unsupported"].resolve_attrs(attrs, {}), inputs, output)


def to_graph(trace: Trace, input_shape: tuple[int, ...], batch: int, table: RuleTable, model: torch.nn.Module,
             name: str, source: str) -> tuple[Graph, list[str]]:  # fmt: skip
    """The graph of a trace, and notes worth telling the user."""
    mapper = Mapper(trace, batch, table, model)
    nodes = mapper.run()
    mapper.note_unused(model)
    outputs = []
    for t in tensors(trace.output):
        producer = mapper.producer.get(id(t))
        if producer == INPUT:
            raise ArchcalcError("the model returns its input unchanged; there is nothing to analyse")
        if producer is not None and producer not in outputs:
            outputs.append(producer)
    if not nodes or not outputs:
        raise ArchcalcError("the model's output is not computed from its input; there is nothing to analyse")
    graph = Graph(name=name, input_shape=input_shape, nodes=topological_order(nodes), outputs=outputs, source=source)
    return graph, mapper.notes
