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
from dataclasses import replace
from typing import Any

import torch

from archcalc.errors import ArchcalcError
from archcalc.graph import INPUT, NO_WEIGHT_USE, Node, UnusedWeights, WeightUse
from archcalc.importer.constants import Constants, Table
from archcalc.importer.derived import WeightDerived
from archcalc.importer.expanded import place_expanded
from archcalc.importer.folded import folded_view, whole_or_sliced
from archcalc.importer.layout import FRONT, Layout, follow, sample_shape
from archcalc.importer.names import Names, factory, pruning_masks
from archcalc.importer.outputs import tensors
from archcalc.importer.rules import Call, CannotMap, RuleTable, call_form, qualified_name, unwrap
from archcalc.importer.stacked import map_stacked
from archcalc.importer.trace import Trace, Traced
from archcalc.importer.unused import made_in_forward, unused_weights
from archcalc.importer.joined_weights import joined_of
from archcalc.importer.weight_views import spare_buffers, view_of
from archcalc.layers import REGISTRY, Params


class Mapper:
    def __init__(self, trace: Trace, batch: int, table: RuleTable, model: torch.nn.Module) -> None:
        self.trace, self.batch, self.table, self.model = trace, batch, table, model
        self.producer: dict[int, str] = {id(trace.input): INPUT}
        # A buffer the forward put in place of the one handed over (ConViT's rel_indices, made from the input's
        # shape) is a constant it made, not a weight; the replaced one counts as unused (unused.py).
        self.made, self.replaced = made_in_forward(model, trace.handed)
        self.buffer_ids = {id(t) for t in model.buffers() if id(t) not in self.made}
        self.counted: set[int] = set()  # parameters and buffers already in some layer's count
        self.names = Names()
        self.nodes: list[Node] = []
        self.notes: list[str] = []
        self.unmodelled: dict[int, str] = {}  # tensors a mapped call returns beside its layer's output
        self.stacks: dict[int, list[torch.Tensor]] = {}  # torch.stack(branches) in front of the batch axis
        # Parameters and buffers, and reshaped views of them (weight_views.py): id -> the parameter itself.
        self.bases = {id(t): t for t in list(model.parameters()) + list(model.buffers()) if id(t) not in self.made}
        self.joined: dict[int, list[torch.Tensor]] = {}
        # position ids, masks, RoPE tables: made from the input's shape, not its values (constants.py)
        traced = {id(t) for call in trace.calls for t in tensors(call.output)} | {id(trace.input)}
        self.constants = Constants(self.producer, self.bases, self.buffer_ids, batch,
                                   traced if trace.method == "torch.fx" else None)
        # relative-position biases gathered from a table by an index buffer: computed from weights alone (derived.py)
        self.derived = WeightDerived(self.producer, self.bases, self.buffer_ids, self.constants)
        self.layouts: dict[int, Layout] = {}  # outputs whose batch is not in front (layout.py)
        self.guessed: set[int] = set()  # outputs of unmapped calls: a leading 2 there may not be the batch

    def sample(self, t: torch.Tensor) -> tuple[int, ...] | None:
        """The shape without the batch axis, or None for a tensor without one."""
        return sample_shape(tuple(t.shape), self.layouts.get(id(t), FRONT), self.batch)

    def run(self) -> list[Node]:
        for call in self.trace.calls:
            outputs = tensors(call.output)
            if not outputs or (call.target is operator.getitem and not isinstance(call.args[0], torch.Tensor)):
                continue  # plumbing: sizes, shapes, picking a tensor out of a tuple
            if self.same_input(call, outputs):
                continue
            if self.constants.absorb(call, outputs, tensors((call.args, call.kwargs))):
                continue
            if all(t.numel() == 0 for t in outputs):
                continue  # an empty tensor (an empty KV cache) holds nothing to count; its users see a constant
            if map_stacked(self, call, outputs):
                continue
            base = None if call.is_module else view_of(call.target, tensors((call.args, call.kwargs)), self.bases,
                                                       call.output)  # fmt: skip
            if base is not None:  # a parameter reshaped for the call that uses it: that call holds it
                self.bases[id(call.output)] = base
                continue
            parts = None if call.is_module else joined_of(call.target, call.args, call.kwargs, self.bases, self.joined)
            if parts is not None:  # parameters and buffers joined end to end (BEiT's qkv bias): joined_weights.py
                self.joined[id(call.output)] = parts
                continue
            self.planned: dict[int, Layout] = {}
            if self.derived.absorb(call, outputs):
                continue
            try:
                self.mapped(call, outputs)
            except CannotMap as exc:
                self.layouts.update(self.planned)  # unmapped, its outputs still hold the batch where it was followed
                self.guessed.update(id(t) for t in outputs if id(t) not in self.planned)
                self.unsupported(call, outputs, self.derived.reason(call, str(exc)))
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
        if not rules and not call.is_module and factory(call):
            raise CannotMap("makes a tensor inside forward (a tensor factory): archcalc follows what is computed "
                            "from the input, and no layer type stands for a made-up tensor")  # fmt: skip
        if not rules:
            raise CannotMap("no import rule for it" + (" (register one: docs/import.md)" if call.is_module else ""))
        operands = [t for t in tensors((call.args, call.kwargs)) if not self.constants.empty(t)]
        if call.is_module and any(r.constant_operands for r in rules):
            self.buffers_as_constants(call.target, operands)
        table = self.constants.table_addition(call, operands)
        if table is not None:
            return self.table_layer(call, outputs, table, operands)
        if self.derived.reads(operands):
            return self.derived.map(self, call, outputs, operands)
        if not any(r.constant_operands for r in rules):  # a table expanded over the batch (ConViT): expanded.py
            place_expanded(self, call, operands)
        activations = [t for t in operands if id(t) in self.producer]
        weights = list({id(w): w for t in operands if id(t) not in self.producer and not self.constants.is_constant(t)
                        for w in self.weights_of(t)}.values())  # fmt: skip
        constants = [t for t in operands if self.constants.is_constant(t) and id(t) not in self.producer]
        for t in operands:
            if id(t) not in self.producer and not self.weights_of(t) and not self.constants.is_constant(t):
                raise CannotMap(self.unknown_operand(t))
        if constants and not any(r.constant_operands for r in rules):
            raise CannotMap("an operand is made inside forward from the input's shape or a buffer (positions, a "
                            "mask), and no rule for this call reads one")  # fmt: skip
        several = len(outputs) != 1  # (out, None) from nn.MultiheadAttention is one tensor
        extra: list[torch.Tensor] = []
        if several and any(r.other_outputs for r in rules):  # nn.LSTM's (output, (h_n, c_n)): the output
            outputs, extra, several = outputs[:1], outputs[1:], False
        plan = follow(call.target, call.is_module, call.args, call.kwargs, activations,
                      [self.layouts.get(id(t), FRONT) for t in activations], outputs, self.batch,
                      self.guessed)  # fmt: skip
        self.planned = {id(t): layout for t, layout in zip(outputs, plan.outputs) if not layout.front}
        if self.planned and any(id(t) in self.guessed for t in activations):
            raise CannotMap("an operand comes from a call archcalc could not map, so where its batch is is unknown")
        if plan.target is not None:  # per sample, a reshape (layout.py)
            target, rules = plan.target, self.table.function_rules(plan.target)
        shapes = [self.sample(t) for t in activations]
        out_shapes = [sample_shape(tuple(t.shape), layout, self.batch) for t, layout in zip(outputs, plan.outputs)]
        if any(shape is None for shape in shapes + out_shapes):
            raise CannotMap(plan.reason or f"a tensor has no batch axis of {self.batch} in front")
        view = Call(target, plan.args, plan.kwargs, call.is_module, shapes, out_shapes[0], out_shapes,  # type: ignore
                    [t for t in operands if id(t) not in self.producer], plan.input.axis, plan.input.merged,
                    {id(t): sum(w.numel() for w in self.weights_of(t) if id(w) in self.buffer_ids) for t in operands
                     if id(t) not in self.producer})  # fmt: skip
        choice = dict(weights=weights, several=several, extra=extra, constants=constants, outputs=outputs)
        shapes = list(shapes)  # the view's own list may be narrowed by a rule (unique_operands)
        # A call that reads axis 0 as its batch, given windows or heads folded into it ([B·s, C, H, W]): the layer
        # applied over the leading axis of the sample [s, C, H, W] (`over: 1`, layers/over.py), when the type's
        # rules refuse the whole sample or would read its leading axis as theirs (importer/folded.py).
        sliced = folded_view(view, shapes, [self.layouts.get(id(t), FRONT) for t in activations], plan.outputs)
        over, (rule, layer, layers, activations, shapes), use = whole_or_sliced(self, call, view, sliced, rules,
                                                                                activations, choice)  # fmt: skip
        use = self.hold_tables(use, constants)
        inputs = [self.producer[id(t)] for t in activations]
        form = rule.form or form
        form = form if form in layer.calls else "module"  # a form the type does not declare: counted as a module
        for position, ((attrs, _), output) in enumerate(zip(layers, outputs)):
            name = self.add(call, rule.layer, attrs, inputs, output, use if position == 0 else NO_WEIGHT_USE, form,
                            over)  # fmt: skip
            if not plan.outputs[position].front:
                self.layouts[id(output)] = plan.outputs[position]
        for other in extra:  # returned beside the layer's output, not modelled: a reader is told so
            self.unmodelled[id(other)] = f"{rule.other_outputs} of {name}"

    def held(self, call: Traced, weights: list, layer: Any, layers: list, shapes: list, name: str) -> WeightUse:
        """How the layer holds the weights of a module call or weight operands (weight_use), else none."""
        if not (call.is_module or weights):
            return NO_WEIGHT_USE
        attrs, shape = layers[0]
        return self.weight_use(call, weights, layer.params(attrs, shapes, shape), name)

    def chosen(self, view: Call, rules: list, activations: list[torch.Tensor], over: int, weights: list,
               several: bool, extra: list, constants: list, outputs: list[torch.Tensor]) -> tuple:  # fmt: skip
        """(rule, layer type, [(attrs, shape)] per output, activations, their shapes) of the first rule that maps
        the call as `view` sees it; `over`: the view is one slice of the leading `over` axes (layers/over.py)."""
        shapes, out_shapes = view.in_shapes, view.out_shapes
        rule = None
        try:
            rule = next((r for r in rules if (r.when is None or r.when(view)) and (r.weight_operands or not weights)
                         and (r.per_output or not several) and (r.other_outputs or not extra)
                         and (r.constant_operands or not constants)), None)  # fmt: skip
            if rule is None:
                if weights:
                    raise CannotMap(self.unknown_operand(weights[0]))
                returned = len(outputs) + len(extra)
                raise CannotMap(f"returns {returned} tensors" if several or extra
                                else "no rule accepts this configuration")  # fmt: skip
            if rule.unique_operands:
                activations = list({id(t): t for t in activations}.values())
                shapes = [self.sample(t)[over:] for t in activations]  # type: ignore[index]
                view.in_shapes = shapes  # type: ignore[assignment]
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
        return rule, layer, layers, activations, shapes

    def buffers_as_constants(self, module: torch.nn.Module, operands: list[torch.Tensor]) -> None:
        """A buffer handed to a module from outside it (EVA's cached RoPE table, `rope.pos_embed`), or a tensor
        torch.fx computed while tracing, is a constant for a rule that reads constants: made from that buffer."""
        own = {id(t) for t in module.buffers()}
        for t in operands:
            if id(t) in self.producer or self.constants.is_constant(t):
                continue
            base = self.weight_of(t)
            if base is not None and id(base) in self.buffer_ids and id(base) not in own:
                self.constants.made_from[id(t)] = [base]
            elif base is None and self.constants.folded(t):
                self.constants.made_from[id(t)] = []

    def same_input(self, call: Traced, outputs: list[torch.Tensor]) -> bool:
        """`input_ids.view(-1, L)` (GPT-2) on ids already of that shape is the input itself: no layer, so the token
        table reads the input, as a spec's does."""
        if call.target not in (torch.Tensor.view, torch.Tensor.reshape, torch.reshape) or len(outputs) != 1:
            return False
        source = call.args[0] if call.args else None
        if not isinstance(source, torch.Tensor) or self.producer.get(id(source)) != INPUT:
            return False
        if tuple(source.shape) != tuple(outputs[0].shape):
            return False
        self.producer[id(outputs[0])] = INPUT
        return True

    def hold_tables(self, use: WeightUse, constants: list[torch.Tensor]) -> WeightUse:
        """The buffers the layer's constant operands were made from, if no layer holds them yet."""
        fresh = {id(t): t for t in self.constants.sources(constants) if id(t) not in self.counted}
        self.counted.update(fresh)
        size = sum(t.numel() for t in fresh.values())
        return replace(use, tables=use.tables + size) if size else use

    def table_layer(self, call: Traced, outputs: list[torch.Tensor], table: Table, operands: list) -> None:
        """tokens + embedding(constant ids): a position table (rows >= L) or a segment table (fewer rows)."""
        tokens = next(t for t in operands if id(t) in self.producer)
        shape, out = self.sample(tokens), self.sample(outputs[0]) if len(outputs) == 1 else None
        looked_up = tuple(next(t for t in operands if t is not tokens).shape[-2:])
        if shape is None or out != shape or len(shape) != 2 or looked_up != shape:
            raise CannotMap(f"a table lookup of shape {list(looked_up)} is added to tokens {list(shape or ())}, not "
                            "one row per token")  # fmt: skip
        rows = table.weight.shape[0]
        if rows >= shape[0]:
            layer, raw = "positional_embedding", {"mode": "learned", "max_len": rows}
        else:
            layer, raw = "token_type_embedding", {"types": rows}
        entry = REGISTRY[layer]
        attrs = entry.resolve_attrs(raw, {})
        use = self.weight_use(call, [table.weight], entry.params(attrs, [shape], shape), layer)
        use = self.hold_tables(use, [t for t in operands if t is not tokens])
        self.add(call, layer, attrs, [self.producer[id(tokens)]], outputs[0], use, "module")

    def weight_use(self, call: Traced, weights: list[torch.Tensor], counted: Params, layer: str) -> WeightUse:
        """How the layer holds the weights torch gave it: the layer type's count must equal them, up to
        parameters with requires_grad=False (frozen), pruning masks (extra buffers) and weights an earlier
        layer already holds (shared: the totals count them once)."""
        if call.is_module:
            params, buffers = list(call.target.parameters()), list(call.target.buffers())
        else:
            params = [t for t in weights if id(t) not in self.buffer_ids]
            buffers = [t for t in weights if id(t) in self.buffer_ids]
            if sum(t.numel() for t in buffers) < counted.buffers:  # F.batch_norm leaves num_batches_tracked out
                buffers += spare_buffers(self.model, call.path, weights, self.counted)
        masks = pruning_masks(call.target) if call.is_module else set()
        frozen = sum(t.numel() for t in params if not t.requires_grad) - counted.non_trainable
        own = (sum(t.numel() for t in params), sum(t.numel() for t in buffers if id(t) not in masks))
        if own != (counted.total, counted.buffers) or not 0 <= frozen <= counted.trainable:
            trainable = sum(t.numel() for t in params if t.requires_grad)
            raise CannotMap(f"the {layer} rule counts {counted.trainable}/{counted.non_trainable}/{counted.buffers} "
                            f"params/frozen/buffers, the {'module' if call.is_module else 'call'} has {trainable}/"
                            f"{own[0] - trainable}/{own[1]}")  # fmt: skip
        use = WeightUse(frozen=frozen, masks=sum(t.numel() for t in buffers if id(t) in masks),
                        shared=sum(t.numel() for t in params if id(t) in self.counted),
                        shared_buffers=sum(t.numel() for t in buffers if id(t) in self.counted))  # fmt: skip
        self.counted.update(id(t) for t in params + buffers)
        return use

    def weight_of(self, t: torch.Tensor) -> torch.Tensor | None:
        """The parameter or buffer `t` is, or is a view of (`self.relative_position_index.view(-1)`, which
        torch.fx can leave out of the trace as a constant): the weight a call reads."""
        if id(t) in self.bases:
            return self.bases[id(t)]
        base = t._base
        return self.bases.get(id(base)) if base is not None else None

    def weights_of(self, t: torch.Tensor) -> list[torch.Tensor]:
        """The parameters and buffers `t` is, is a view of, or joins (joined_weights.py)."""
        if id(t) in self.joined:
            return self.joined[id(t)]
        weight = self.weight_of(t)
        return [] if weight is None else [weight]

    def unknown_operand(self, t: torch.Tensor) -> str:
        if id(t) in self.unmodelled:
            return f"an operand is {self.unmodelled[id(t)]}, which archcalc does not model as an output"
        if self.weight_of(t) is not None:
            return "an operand is a parameter or buffer, not a layer output"
        if self.trace.method == "forward hooks":
            return "cannot place it in the graph: an input tensor comes from code the hooks did not see"
        return "an operand is a constant tensor, not a layer output"

    def unused(self, model: torch.nn.Module) -> tuple[UnusedWeights, ...]:
        """Weights no call read (aux heads in eval mode): the totals count them, the report lists them."""
        found = unused_weights(model, self.counted | self.made, self.replaced)
        if self.replaced:
            names = list(self.replaced)
            self.notes.append(f"the forward replaced {len(names)} weight{'s' * (len(names) > 1)} with tensors it made "
                              f"({', '.join(names[:3])}{', ...' if len(names) > 3 else ''}): archcalc counts the "
                              "model as handed over, and the tensors made as computed in the forward")  # fmt: skip
        if found:
            elements = sum(u.params + u.buffers for u in found)
            self.notes.append(f"{elements:,} parameter and buffer elements of the model are not used by its forward "
                              f"for this input ({', '.join(u.name for u in found[:4])}{', ...' if len(found) > 4 else ''}); "
                              "they are counted in the totals, not in any row")  # fmt: skip
        return found

    def add(self, call: Traced, layer: str, attrs: dict, inputs: list[str], output: torch.Tensor,
            weights: WeightUse = NO_WEIGHT_USE, form: str = "module", over: int = 0) -> str:  # fmt: skip
        name = self.name(call)
        # A spec layer always has an input; a tensor made from nothing (torch.zeros in forward) hangs
        # off the network input, which changes no count.
        inputs = inputs or [INPUT]
        self.nodes.append(Node(name, layer, attrs, inputs, call.line, call.file, weights, form, over))
        self.producer[id(output)] = name
        return name

    def unsupported(self, call: Traced, outputs: list[torch.Tensor], reason: str) -> None:
        """An `unsupported` layer per output tensor; the first one carries the parameters the call owns."""
        owned = list(call.target.parameters()) + list(call.target.buffers()) if call.is_module else []
        owned += [w for t in tensors((call.args, call.kwargs)) for w in self.weights_of(t)]
        owned += self.constants.sources(tensors((call.args, call.kwargs)))  # index buffers behind constants
        owned += self.derived.sources(tensors((call.args, call.kwargs)))  # the table and index of a gathered bias
        owned += [self.constants.tables[id(t)].weight for t in tensors((call.args, call.kwargs))
                  if id(t) in self.constants.tables]  # a position table whose add could not map
        fresh = {id(t): t for t in owned if id(t) not in self.counted}
        self.counted.update(fresh)
        buffers = self.buffer_ids  # a buffer read by a function (HF's position_ids) is a buffer too
        counts = {"params": sum(t.numel() for k, t in fresh.items() if k not in buffers and t.requires_grad),
                  "non_trainable": sum(t.numel() for k, t in fresh.items() if k not in buffers and not t.requires_grad),
                  "buffers": sum(t.numel() for k, t in fresh.items() if k in buffers)}  # fmt: skip
        inputs = list(dict.fromkeys(self.producer[id(t)] for t in tensors((call.args, call.kwargs))
                                    if id(t) in self.producer))  # fmt: skip
        # A tensor with nothing in it (an empty box list) has no shape a layer can have; a reader of it
        # sees a constant. The call is still listed, through its other outputs or a stand-in of shape [1].
        kept = [t for t in outputs if t.numel()] or outputs[:1]
        for position, output in enumerate(kept):
            shape = self.sample(output) if output.numel() else None
            if not output.numel():
                shape, reason = (1,), reason + f"; its output {list(output.shape)} is empty"
            note = "" if shape is not None else f"; its output {list(output.shape)} has no batch axis in front"
            attrs = {"shape": shape if shape is not None else (tuple(output.shape) or (1,)),
                     "op": qualified_name(call.target, call.is_module), "where": call.where, "reason": reason + note}
            attrs |= counts if position == 0 else {}
            self.add(call, "unsupported", REGISTRY["unsupported"].resolve_attrs(attrs, {}), inputs, output)
