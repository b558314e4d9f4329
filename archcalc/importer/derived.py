"""Weight-derived values: tensors computed from parameters and buffers alone, followed rather than made layers.

Attention blocks gather a bias from a learned table with an index buffer on every call and add it to the scores
(layers/relative_position.py lists the models):

    self.relative_position_bias_table[self.relative_position_index.view(-1)].view(N, N, -1).permute(2, 0, 1)
    self.attention_biases[:, self.attention_bias_idxs]

No input value reaches such a tensor: it has no batch axis and its cost does not grow with the batch, so it is
no layer. The importer records it here instead (`Gathered`: the table, the index buffer, the table axis the index
selects, and the tensor's shape now), follows it through calls that only rearrange it (view, reshape, permute,
transpose, unsqueeze, expand, contiguous, ...: weight_views.VIEW_CALLS), and lets the call that combines it
with an activation map through the import rules that accept a gathered operand (`call.weights` holds the
`Gathered` records, for rules with `gathered_operands`): `scores + bias` is a relative_position_bias
layer holding the table (parameters) and the index (a buffer, never a parameter).

What qualifies as a gather: `table[index]` or `table[:, index]` (one integer tensor, every other key a full
slice) on a parameter (or a reshaped view of one), with an index that is a buffer, or a constant made from
exactly one buffer of as many elements (`relative_position_index.view(-1)`: constants.py; torch.fx may leave
that view out of the trace, and then it is known by its `_base`). `bias[h]` on LeViT's [H, *index] gather
(EfficientViT adds one head's bias per cascaded head) is head h's bias: the first layer holds the table, the
others share it. Anything else that reads a parameter stays what it was (unsupported unless a rule maps it),
and a call that reads a gathered bias but no rule accepts becomes unsupported, saying so and holding the
table and index.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, replace
from typing import Any

import torch

from archcalc.errors import ArchcalcError
from archcalc.importer.derived_mlp import CoordinateMlp, passes, step
from archcalc.importer.layout import FRONT, follow, sample_shape
from archcalc.importer.one_hot_table import one_hot_step
from archcalc.importer.outputs import tensors
from archcalc.importer.rules import Call, CannotMap, call_form
from archcalc.importer.weight_views import is_view_call
from archcalc.layers import REGISTRY

T = torch.Tensor
_GETITEM = (operator.getitem, T.__getitem__)
_SIGMOID = (torch.sigmoid, T.sigmoid)
_MUL = (operator.mul, torch.mul, T.mul, T.__mul__, T.__rmul__)


@dataclass(frozen=True)
class Gathered:
    """A tensor gathered from a parameter table by an index buffer (then perhaps rearranged)."""

    gathered_from: torch.Tensor  # the parameter
    table_shape: tuple[int, ...]  # the table as indexed (a view of the parameter may reshape it)
    index: torch.Tensor  # the buffer the index is (or is made from)
    axis: int  # the table axis the index selects
    shape: tuple[int, ...]  # this tensor's shape
    # The gather's own output with the table's other axis first ([H, *index]: LeViT's `attention_biases[:, idxs]`),
    # where `bias[h]` is head h's bias (EfficientViT's cascaded heads); None after anything rearranges it.
    heads_first: bool = False
    head: int | None = None  # the head `bias[h]` took
    mlp: CoordinateMlp | None = None  # the table is this MLP's output (derived_mlp.py), not a parameter
    gain: int | None = None  # gain·sigmoid(the MLP's gathered bias), Swin V2's 16·sigmoid; None: neither

    def weights(self) -> tuple[torch.Tensor, ...]:
        """The parameters and buffers the bias is computed from."""
        table = self.mlp.weights if self.mlp is not None else (self.gathered_from,)
        return table + (self.index,)


class WeightDerived:
    def __init__(self, producer: dict[int, str], bases: dict[int, torch.Tensor], buffer_ids: set[int],
                 constants: Any) -> None:  # fmt: skip
        self.producer, self.bases, self.buffer_ids, self.constants = producer, bases, buffer_ids, constants
        self.values: dict[int, Gathered] = {}
        self.mlps: dict[int, CoordinateMlp] = {}  # position-bias MLPs on a coordinate buffer, followed so far

    def absorb(self, call: Any, outputs: list[torch.Tensor]) -> bool:
        """Record the call's output when it gathers from a table or rearranges a gathered value."""
        operands = tensors((call.args, call.kwargs))
        if len(outputs) != 1 or not operands or any(id(t) in self.producer for t in operands):
            return False
        out = outputs[0]
        lookup = one_hot_step(call, self.values, self.constants, self.bases, out)  # Gemma 4's position table
        if lookup is not None:
            self.values[id(out)] = lookup
            return True
        if call.is_module:
            return self._module(call.target, operands, out)
        if is_view_call(call.target):
            own = operands[:1] if call.target in (T.expand_as, T.type_as) else operands
            if len(own) == 1 and id(own[0]) in self.values:
                self.values[id(out)] = replace(self.values[id(own[0])], shape=tuple(out.shape), heads_first=False)
                return True
            if len(own) == 1 and id(own[0]) in self.mlps:
                self.mlps[id(out)] = replace(self.mlps[id(own[0])], shape=tuple(out.shape))
                return True
            return False
        if call.target in _SIGMOID + _MUL and len(operands) == 1 and id(operands[0]) in self.values:
            return self._squashed(call, self.values[id(operands[0])], out)
        if call.target in _GETITEM and len(call.args) == 2 and id(call.args[0]) in self.values:
            return self._head(self.values[id(call.args[0])], call.args[1], out)
        if call.target not in _GETITEM or len(call.args) != 2 or call.kwargs:
            return False
        gathered = self._gather(call.args[0], call.args[1])
        if gathered is None:
            return False
        self.values[id(out)] = replace(gathered, shape=tuple(out.shape))
        return True

    def _squashed(self, call: Any, gathered: Gathered, out: torch.Tensor) -> bool:
        """Swin V2's `16 * torch.sigmoid(bias)` on a bias an MLP computed: the gain and the sigmoid."""
        if gathered.mlp is None or call.kwargs or tuple(out.shape) != gathered.shape:
            return False
        if call.target in _SIGMOID and gathered.gain is None and len(call.args) == 1:
            self.values[id(out)] = replace(gathered, gain=1, heads_first=False)
            return True
        gains = [a for a in call.args if isinstance(a, int) and not isinstance(a, bool)]
        if call.target in _MUL and gathered.gain == 1 and len(call.args) == 2 and len(gains) == 1 and gains[0] > 0:
            self.values[id(out)] = replace(gathered, gain=gains[0])
            return True
        return False

    def _module(self, module: Any, operands: list[torch.Tensor], out: torch.Tensor) -> bool:
        """A step of a position-bias MLP on a coordinate buffer, or a pass-through module on a gathered bias."""
        if len(operands) != 1:
            return False
        source = operands[0]
        if id(source) in self.values and passes(module):  # timm's bias_act = nn.Identity()
            self.values[id(out)] = replace(self.values[id(source)], shape=tuple(out.shape), heads_first=False)
            return True
        base = self.bases.get(id(source))
        coordinates = base is not None and id(base) in self.buffer_ids
        followed = step(module, source, coordinates, self.mlps.get(id(source)), out)
        if followed is None:
            return False
        self.mlps[id(out)] = followed
        return True

    def _gather(self, source: Any, key: Any) -> Gathered | None:
        mlp = self.mlps.get(id(source)) if isinstance(source, torch.Tensor) else None
        if mlp is not None:
            if not mlp.complete() or len(mlp.shape) != 2:
                return None
            table = source
        elif not isinstance(source, torch.Tensor) or id(source) not in self.bases:
            return None
        else:
            table = self.bases[id(source)]
            if id(table) in self.buffer_ids:
                return None  # a fixed table is a buffer lookup, not a learned bias
        keys = key if isinstance(key, tuple) else (key,)
        found = [axis for axis, k in enumerate(keys) if isinstance(k, torch.Tensor)]
        full = all(k == slice(None) for k in keys if not isinstance(k, torch.Tensor))
        if len(found) != 1 or not full:
            return None
        index = keys[found[0]]
        if index.is_floating_point() or index.dtype == torch.bool:
            return None
        base = self.bases.get(id(index))
        if base is None and index._base is not None:
            base = self.bases.get(id(index._base))
        if base is not None and id(base) in self.buffer_ids:  # a buffer, or a view torch.fx left out of the trace
            buffers = [base]
        elif self.constants.is_constant(index):
            buffers = self.constants.sources([index])
        else:
            return None
        if len(buffers) != 1 or buffers[0].numel() != index.numel():
            return None
        if mlp is not None and found[0] != 0:
            return None
        heads_first = len(source.shape) == 2 and found[0] == 1
        return Gathered(table, tuple(source.shape), buffers[0], found[0], (), heads_first, mlp=mlp)

    def _head(self, gathered: Gathered, key: Any, out: torch.Tensor) -> bool:
        """`bias[h]` on LeViT-style biases [H, *index]: head h's bias."""
        if not gathered.heads_first or isinstance(key, bool) or not isinstance(key, int):
            return False
        heads = gathered.table_shape[0]
        if not -heads <= key < heads:
            return False
        self.values[id(out)] = replace(gathered, shape=tuple(out.shape), heads_first=False, head=key % heads)
        return True

    def reads(self, operands: list[torch.Tensor]) -> bool:
        return any(id(t) in self.values for t in operands)

    def sources(self, operands: list[torch.Tensor]) -> list[torch.Tensor]:
        """The tables and index buffers behind the gathered operands (an unsupported reader holds them)."""
        return [w for t in operands if id(t) in self.values for w in self.values[id(t)].weights()]

    def map(self, mapper: Any, call: Any, outputs: list[torch.Tensor], operands: list[torch.Tensor]) -> None:
        """The call combining activations with gathered values, through a rule that accepts them."""
        gathered = [self.values[id(t)] for t in operands if id(t) in self.values]
        activations = [t for t in operands if id(t) in self.producer]
        if call.is_module or len(outputs) != 1 or len(gathered) + len(activations) != len(operands):
            raise CannotMap("an operand is a bias gathered from a parameter table (computed from weights alone), "
                            "read together with other parameters or constants")  # fmt: skip
        # where the batch is (layout.py): in front, or merged with the windows (B·nW) of Swin-style attention
        plan = follow(call.target, False, call.args, call.kwargs, activations,
                      [mapper.layouts.get(id(t), FRONT) for t in activations], outputs, mapper.batch,
                      mapper.guessed)  # fmt: skip
        mapper.planned = {id(outputs[0]): plan.outputs[0]} if not plan.outputs[0].front else {}
        shapes = [mapper.sample(t) for t in activations]
        out = sample_shape(tuple(outputs[0].shape), plan.outputs[0], mapper.batch)
        if out is None or any(shape is None for shape in shapes):
            raise CannotMap(plan.reason or f"a tensor has no batch axis of {mapper.batch} in front")
        view = Call(call.target, call.args, call.kwargs, False, shapes, out, [out], gathered)  # type: ignore[arg-type]
        rules = [r for r in mapper.table.function_rules(call.target)
                 if r.gathered_operands and (r.when is None or r.when(view))]  # fmt: skip
        if not rules:
            raise CannotMap("an operand is a bias gathered from a parameter table (computed from weights alone); "
                            "no rule for this call reads one (an add to the scores does: relative_position_bias)")
        rule, layer = rules[0], REGISTRY[rules[0].layer]
        try:
            attrs = layer.resolve_attrs({k: v for k, v in rule.read(view).items() if v is not None}, {})
            shape = tuple(layer.shape(attrs, shapes))
        except ArchcalcError as exc:
            raise CannotMap(f"{rule.layer}: {exc.message}") from None
        if shape != out:
            raise CannotMap(f"the {rule.layer} rule gives shape {list(shape)}, torch gives {list(out)}")
        weights = list({id(w): w for g in gathered for w in g.weights()}.values())
        use = mapper.weight_use(call, weights, layer.params(attrs, shapes, shape), rule.layer)
        form = rule.form or call_form(call.target)
        form = form if form in layer.calls else "module"
        mapper.add(call, rule.layer, attrs, [mapper.producer[id(t)] for t in activations], outputs[0], use, form)
        if not plan.outputs[0].front:
            mapper.layouts[id(outputs[0])] = plan.outputs[0]
