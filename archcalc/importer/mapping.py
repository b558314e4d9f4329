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
from archcalc.importer.rules import Call, CannotMap, RuleTable, call_form, qualified_name, unwrap
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
        self.buffer_ids = {id(t) for t in model.buffers()}
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
            if all(t.numel() == 0 for t in outputs):
                continue  # an empty tensor (an empty KV cache) holds nothing to count; its users see a constant
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
        target, form = unwrap(call.target) if call.is_module else (call.target, call_form(call.target))
        unmodelled = [t for t in tensors((call.args, call.kwargs)) if id(t) in self.unmodelled]
        if unmodelled:  # reads a final state (h_n) that the layer which returned it does not model
            raise CannotMap(self.unknown_operand(unmodelled[0]))
        if not rules:
            raise CannotMap("no import rule for it" + (" (register one: docs/import.md)" if call.is_module else ""))
        operands = tensors((call.args, call.kwargs))
        activations = [t for t in operands if id(t) in self.producer]
        weights = [t for t in operands if id(t) not in self.producer and id(t) in self.weights]
        for t in operands:
            if id(t) not in self.producer and id(t) not in self.weights:
                raise CannotMap(self.unknown_operand(t))
        several = len(outputs) != 1  # (out, None) from nn.MultiheadAttention is one tensor
        extra: list[torch.Tensor] = []
        if several and any(r.other_outputs for r in rules):  # nn.LSTM's (output, (h_n, c_n)): the output
            outputs, extra, several = outputs[:1], outputs[1:], False
        shapes = [self.sample(t) for t in activations]
        out_shapes = [self.sample(t) for t in outputs]
        if any(shape is None for shape in shapes + out_shapes):
            raise CannotMap(f"a tensor has no batch axis of {self.batch} in front")
        view = Call(target, call.args, call.kwargs, call.is_module, shapes, out_shapes[0], out_shapes)  # type: ignore
        rule = None
        try:
            rule = next((r for r in rules if (r.when is None or r.when(view)) and (r.weight_operands or not weights)
                         and (r.per_output or not several) and (r.other_outputs or not extra)), None)  # fmt: skip
            if rule is None:
                if weights:
                    raise CannotMap(self.unknown_operand(weights[0]))
                returned = len(outputs) + len(extra)
                raise CannotMap(f"returns {returned} tensors" if several or extra
                                else "no rule accepts this configuration")  # fmt: skip
            if rule.unique_operands:
                activations = list({id(t): t for t in activations}.values())
                view.in_shapes = shapes = [self.sample(t) for t in activations]  # type: ignore[misc]
            layer = REGISTRY[rule.layer]
            read = rule.read(view)
            listed = read if rule.per_output else [read]
            if len(listed) != len(outputs):
                raise CannotMap(f"the {rule.layer} rule reads {len(listed)} layers for {len(outputs)} outputs")
            layers = []
            for raw, out_shape in zip(listed, out_shapes):
                attrs = layer.resolve_attrs({key: value for key, value in raw.items() if value is not None}, {})
                if len(activations) < layer.min_inputs or (layer.max_inputs is not None
                                                           and len(activations) > layer.max_inputs):  # fmt: skip
                    raise CannotMap(f"{rule.layer} takes {layer.min_inputs}+ tensor inputs, the call has "
                                    f"{len(activations)}")  # fmt: skip
                shape = tuple(layer.shape(attrs, shapes))  # type: ignore[arg-type]
                if shape != out_shape:
                    raise CannotMap(f"the {rule.layer} rule gives shape {list(shape)}, torch gives {list(out_shape)}")
                layers.append((attrs, shape))
        except CannotMap:
            raise
        except ArchcalcError as exc:
            raise CannotMap(f"{rule.layer if rule else 'rule'}: {exc.message}") from None
        except Exception as exc:  # noqa: BLE001 - a rule broken by an odd configuration must not stop the import
            detail = " ".join(str(exc).split())[:200]
            raise CannotMap(f"its import rule failed ({type(exc).__name__}: {detail})") from None
        owned = own_counts(call.target) if call.is_module else self.weight_counts(weights)
        if call.is_module or weights:
            attrs, shape = layers[0]
            counted = layer.params(attrs, shapes, shape)  # type: ignore[arg-type]
            if (counted.trainable, counted.non_trainable, counted.buffers) != owned:
                mine = f"{counted.trainable}/{counted.non_trainable}/{counted.buffers}"
                raise CannotMap(f"the {rule.layer} rule counts {mine} params/frozen/buffers, the "
                                f"{'module' if call.is_module else 'call'} has {owned[0]}/{owned[1]}/{owned[2]}")
        if call.is_module:
            self.note_shared(call, owned)
        self.counted.update(id(t) for t in weights)
        inputs = [self.producer[id(t)] for t in activations]
        form = form if form in layer.calls else "module"  # a form the type does not declare: counted as a module
        for (attrs, _), output in zip(layers, outputs):
            name = self.add(call, rule.layer, attrs, inputs, output, form)
        for other in extra:  # returned beside the layer's output, not modelled: a reader is told so
            self.unmodelled[id(other)] = f"{rule.other_outputs} of {name}"

    def weight_counts(self, weights: list[torch.Tensor]) -> tuple[int, int, int]:
        """(trainable, frozen, buffer elements) of parameter and buffer operands."""
        buffers = [t for t in weights if id(t) in self.buffer_ids]
        params = [t for t in weights if id(t) not in self.buffer_ids]
        return (sum(t.numel() for t in params if t.requires_grad), sum(t.numel() for t in params if not t.requires_grad),
                sum(t.numel() for t in buffers))  # fmt: skip

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

    def add(self, call: Traced, layer: str, attrs: dict, inputs: list[str], output: torch.Tensor,
            form: str = "module") -> str:  # fmt: skip
        name = self.name(call)
        # A spec layer always has an input; a tensor made from nothing (torch.zeros in forward) hangs
        # off the network input, which changes no count.
        inputs = inputs or [INPUT]
        self.nodes.append(Node(name, layer, attrs, inputs, call.line, call.file, form))
        self.producer[id(output)] = name
        return name

    def unsupported(self, call: Traced, outputs: list[torch.Tensor], reason: str) -> None:
        """An `unsupported` layer per output tensor; the first one carries the parameters the call owns."""
        owned = list(call.target.parameters()) + list(call.target.buffers()) if call.is_module else []
        owned += [t for t in tensors((call.args, call.kwargs)) if id(t) in self.weights]
        fresh = {id(t): t for t in owned if id(t) not in self.counted}
        self.counted.update(fresh)
        buffers = self.buffer_ids  # a buffer read by a function (HF's position_ids) is a buffer too
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
    returned = list(tensors(trace.output))
    for t in returned:
        producer = mapper.producer.get(id(t))
        if producer is not None and producer != INPUT and producer not in outputs:
            outputs.append(producer)  # the input returned beside results (a dict of outputs) is not one
    if returned and not outputs and all(mapper.producer.get(id(t)) == INPUT for t in returned):
        raise ArchcalcError("the model returns its input unchanged; there is nothing to analyse")
    if not nodes or not outputs:
        raise ArchcalcError("the model's output is not computed from its input; there is nothing to analyse")
    graph = Graph(name=name, input_shape=input_shape, nodes=topological_order(nodes), outputs=outputs, source=source)
    return graph, mapper.notes
