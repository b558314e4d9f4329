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
that view out of the trace, and then it is known by its `_base`), or a constant made from no buffer at all:
an index computed from sizes (SAM's and MViTv2's `rel_pos_h[dist_h.long()]` with `dist_h` from torch.arange,
`index` None), which the layer holds as nothing (no buffer; it costs nothing per sample). SAM's and MViTv2's
decomposed relative positions multiply such rows with the queries: `einsum("bhwc,hkc->bhwk", q, rel_h)` is a
relative_position_product layer holding the table (layers/relative_position_product.py). T5's `nn.Embedding(buckets, H)` looked up with a constant [L, S]
of buckets, one per query-key pair (constants.py's table, computed from the sizes alone: no index buffer,
`index_buffer: false`) is such a gather too, once something rearranges it. A gathered bias plus a constant made
from the sizes alone (Hugging Face Swin's shifted-window mask, expanded to the batch's windows) is that bias
with an additive `mask`, which relative_position_attention reads per sample. `bias[h]` on LeViT's
[H, *index] gather (EfficientViT adds one head's bias per cascaded head) is head h's bias: the first layer holds
the table, the others share it. Anything else that reads a parameter stays what it was (unsupported unless a
rule maps it), and a call that reads a gathered bias but no rule accepts becomes unsupported, saying so and
holding the table and index.

A parameter computed on element by element before use (Swin V2's `clamp(logit_scale, max=log 100).exp()`,
ConViT's `sigmoid(gating)`, EfficientViM's `sigmoid(alpha).view(4, -1, 1, 1)[i]`) is the other kind of
weight-derived value: derived_math.py records it (`Computed`), and parameter_op's rule reads it.
Position tables interpolated or tiled from parameters on every call (NaFlexViT, Hiera) are weight-derived values
too, of another kind (`kind`): derived_tables.py follows them into the same record, and only rules naming that
kind (ImportRule.gathered_operands) read them.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass, replace
from typing import Any

import torch

from archcalc.errors import ArchcalcError
from archcalc.importer.derived_math import Computed, further, fresh, row_of, softmax_group, step_of
from archcalc.importer.derived_mlp import CoordinateMlp, passes, step
from archcalc.importer.derived_readers import mask_per_sample, takes
from archcalc.importer.derived_tables import PositionTable, TableFollower
from archcalc.importer.derived_resize import Resized, resized
from archcalc.importer.layout import FRONT, follow, sample_shape
from archcalc.importer.one_hot_table import one_hot_step
from archcalc.importer.outputs import tensors
from archcalc.importer.rules import Call, CannotMap, call_form
from archcalc.importer.weight_views import is_view_call
from archcalc.layers import REGISTRY
from archcalc.layers.elementwise import addition_functions

T = torch.Tensor
_GETITEM = (operator.getitem, T.__getitem__)
_SIGMOID = (torch.sigmoid, T.sigmoid)
_MUL = (operator.mul, torch.mul, T.mul, T.__mul__, T.__rmul__)


@dataclass(frozen=True)
class Gathered:
    """A tensor gathered from a parameter table by an index buffer (then perhaps rearranged)."""

    gathered_from: torch.Tensor  # the parameter
    table_shape: tuple[int, ...]  # the table as indexed (a view of the parameter may reshape it)
    # the buffer the index is (or is made from); None: the whole MLP table, no gather, or an index computed from
    # the sizes alone (`computed_index`, T5's buckets)
    index: torch.Tensor | None
    axis: int  # the table axis the index selects
    shape: tuple[int, ...]  # this tensor's shape
    # The gather's own output with the table's other axis first ([H, *index]: LeViT's `attention_biases[:, idxs]`),
    # where `bias[h]` is head h's bias (EfficientViT's cascaded heads); None after anything rearranges it.
    heads_first: bool = False
    head: int | None = None  # the head `bias[h]` took
    mlp: CoordinateMlp | None = None  # the table is this MLP's output (derived_mlp.py), not a parameter
    gain: int | None = None  # gain·sigmoid(the MLP's gathered bias), Swin V2's 16·sigmoid; None: neither
    computed_index: tuple[int, ...] = ()  # the index's shape when no buffer holds it (`index` None)
    # A constant added to the bias (Hugging Face Swin's shifted-window mask, expanded to the batch): its shape as
    # torch has it, then (in `map`) per sample; and the bias's shape before it.
    mask: tuple[int, ...] | None = None
    unmasked: tuple[int, ...] | None = None
    kind: str = "gathered"  # what the reading rules look for (derived_math.Computed is "computed")
    resized_from: int | None = None  # the table's own rows, resized on every call to table_shape[0] (derived_resize.py)

    @property
    def index_shape(self) -> tuple[int, ...] | None:
        """The index's shape; None when there is none (the whole table is the bias)."""
        return tuple(self.index.shape) if self.index is not None else (self.computed_index or None)

    def weights(self) -> tuple[torch.Tensor, ...]:
        """The parameters and buffers the bias is computed from."""
        table = self.mlp.weights if self.mlp is not None else (self.gathered_from,)
        return table + ((self.index,) if self.index is not None else ())


def what(found: list) -> str:
    """The weight-derived operands in words, for a reason."""
    if any(isinstance(f, Computed) for f in found):
        steps = next(f.steps for f in found if isinstance(f, Computed))
        return f"a function of a parameter ({', '.join(steps)})"
    return "a bias gathered from a parameter table"


class WeightDerived:
    def __init__(self, producer: dict[int, str], bases: dict[int, torch.Tensor], buffer_ids: set[int],
                 constants: Any) -> None:  # fmt: skip
        self.producer, self.bases, self.buffer_ids, self.constants = producer, bases, buffer_ids, constants
        self.values: dict[int, Gathered | Computed] = {}  # gathered biases; tensors computed from a parameter
        self.mlps: dict[int, CoordinateMlp] = {}  # position-bias MLPs on a coordinate buffer, followed so far
        self.chains: set[int] = set()  # the computed tensors (derived_math.Computed.chain) a reader counted
        self.tables = TableFollower(self.values, bases, buffer_ids)  # position tables resized: derived_tables.py
        self.resized: dict[int, Resized] = {}  # tables interpolated to other rows in forward (derived_resize.py)

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
        # SAM's rel-pos rows resized linearly (derived_resize.py) before position tables (derived_tables.py)
        table = resized(call, operands, out, self.bases, self.buffer_ids)
        if table is not None:
            self.resized[id(out)] = table
            return True
        if self.tables.absorb(call, operands, out, is_view_call(call.target)):
            return True
        if any(isinstance(self.values.get(id(t)), PositionTable) for t in operands):
            return False  # a position table nothing above follows
        if is_view_call(call.target):
            own = operands[:1] if call.target in (T.expand_as, T.type_as) else operands
            if len(own) == 1 and id(own[0]) in self.constants.tables:
                return self._pairwise_lookup(self.constants.tables[id(own[0])], own[0], out)
            if len(own) == 1 and id(own[0]) in self.values:
                known = self.values[id(own[0])]
                self.values[id(out)] = (further(known, None, out) if isinstance(known, Computed)
                                        else replace(known, shape=tuple(out.shape), heads_first=False))  # fmt: skip
                return True
            if len(own) == 1 and id(own[0]) in self.mlps:
                self.mlps[id(out)] = replace(self.mlps[id(own[0])], shape=tuple(out.shape))
                return True
            if len(own) == 1 and id(own[0]) in self.resized:
                self.resized[id(out)] = replace(self.resized[id(own[0])], shape=tuple(out.shape))
                return True
            return False
        if call.target in addition_functions() and len(operands) == 2 and len(call.args) == 2 and not call.kwargs:
            return self._masked(operands, out)
        known = self.values.get(id(operands[0])) if len(operands) == 1 else None
        if isinstance(known, Computed) or (known is None and len(operands) == 1 and self._parameter(operands[0])):
            return self._computed(call, known, operands[0], out)
        if call.target in _SIGMOID + _MUL and known is not None:
            return self._squashed(call, known, out)
        if call.target in _GETITEM and len(call.args) == 2 and id(call.args[0]) in self.values:
            return self._head(self.values[id(call.args[0])], call.args[1], out)
        if call.target not in _GETITEM or len(call.args) != 2 or call.kwargs:
            return False
        gathered = self._gather(call.args[0], call.args[1])
        if gathered is None:
            return False
        self.values[id(out)] = replace(gathered, shape=tuple(out.shape))
        return True

    def _parameter(self, t: torch.Tensor) -> bool:
        """A parameter, or a reshaped view of one (weight_views.py)."""
        base = self.bases.get(id(t))
        return base is not None and id(base) not in self.buffer_ids and base.is_floating_point()

    def _computed(self, call: Any, known: Computed | None, operand: torch.Tensor, out: torch.Tensor) -> bool:
        """A function of a parameter, or of a tensor computed from one, or a row of it (derived_math.py)."""
        if call.target in _GETITEM:
            row = row_of(known, call.args[1], operand, out) if known is not None and len(call.args) == 2 else None
            if row is not None:
                self.values[id(out)] = row
            return row is not None
        group = softmax_group(call.target, call.args, call.kwargs, operand)
        name = "softmax" if group is not None else step_of(call.target, call.args, call.kwargs, operand)
        if name is None or not out.is_floating_point():
            return False
        self.values[id(out)] = (further(known, name, out, group) if known is not None
                                else fresh(self.bases[id(operand)], name, out, group))  # fmt: skip
        return True

    def _squashed(self, call: Any, gathered: Gathered | Computed, out: torch.Tensor) -> bool:
        """Swin V2's `16 * torch.sigmoid(bias)` on a bias an MLP computed: the gain and the sigmoid."""
        if isinstance(gathered, Computed) or gathered.mlp is None or call.kwargs or tuple(out.shape) != gathered.shape:
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
        resize = self.resized.get(id(source)) if isinstance(source, torch.Tensor) else None
        if resize is not None:  # rows of a table resized in forward: [R, C] as the parameter [rows, C] is
            if tuple(source.shape) != (resize.rows, resize.table.shape[1]):
                return None
            table = resize.table
        elif mlp is not None:
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
        elif self.constants.folded(index):  # torch.fx ran `torch.arange(5)` while tracing: a tensor constant
            buffers = []
        else:
            return None
        if mlp is not None and found[0] != 0:
            return None
        if not buffers and mlp is None:  # an index computed from sizes alone (arange): no buffer to hold
            return Gathered(table, tuple(source.shape), None, found[0], (), False, computed_index=tuple(index.shape),
                            resized_from=int(table.shape[0]) if resize is not None else None)
        if resize is not None:
            return None
        if len(buffers) != 1 or buffers[0].numel() != index.numel():
            return None
        heads_first = len(source.shape) == 2 and found[0] == 1
        return Gathered(table, tuple(source.shape), buffers[0], found[0], (), heads_first, mlp=mlp)

    def _masked(self, operands: list[torch.Tensor], out: torch.Tensor) -> bool:
        """`bias + mask` (Hugging Face's SwinAttention: the gathered bias plus the shifted-window mask, a constant
        made from the sizes alone and expanded to the batch's windows): the bias with an additive mask."""
        biases = [self.values[id(t)] for t in operands if isinstance(self.values.get(id(t)), Gathered)]
        masks = [t for t in operands if self.constants.is_constant(t) and t.is_floating_point()]
        if len(biases) != 1 or len(masks) != 1 or biases[0].mask is not None or self.constants.sources(masks):
            return False
        bias = biases[0]
        self.values[id(out)] = replace(bias, shape=tuple(out.shape), heads_first=False, mask=tuple(masks[0].shape),
                                       unmasked=bias.shape)  # fmt: skip
        return True

    def _pairwise_lookup(self, table: Any, looked_up: torch.Tensor, out: torch.Tensor) -> bool:
        """T5's relative-position bias: `nn.Embedding(buckets, H)` looked up with a constant [L, S] of buckets (one
        per query-key pair, computed from the sizes alone, or made from one buffer of as many elements), then
        rearranged (`.permute([2, 0, 1]).unsqueeze(0)`): a bias gathered along the table's rows. A lookup with
        position ids ([L] or [1, L]) stays a position table (constants.py), added to the tokens."""
        ids = tuple(looked_up.shape[:-1])
        if len(ids) < 2 or ids[0] == 1 or len(table.buffers) > 1 or id(table.weight) in self.buffer_ids:
            return False
        index = table.buffers[0] if table.buffers else None
        if index is not None and index.numel() != math.prod(ids):
            return False
        self.values[id(out)] = Gathered(table.weight, tuple(table.weight.shape), index, 0, tuple(out.shape),
                                        computed_index=() if index is not None else ids)  # fmt: skip
        return True

    def _head(self, gathered: Gathered | Computed, key: Any, out: torch.Tensor) -> bool:
        """`bias[h]` on LeViT-style biases [H, *index]: head h's bias."""
        if isinstance(gathered, Computed) or not gathered.heads_first or isinstance(key, bool) or not isinstance(key, int):
            return False
        heads = gathered.table_shape[0]
        if not -heads <= key < heads:
            return False
        self.values[id(out)] = replace(gathered, shape=tuple(out.shape), heads_first=False, head=key % heads)
        return True

    def value(self, t: torch.Tensor) -> Gathered | Computed | None:
        """What `t` is: a gathered bias, a tensor computed from a parameter, or a position-bias MLP's whole output
        (Swin V2-CR's `meta_mlp(coordinates).transpose(1, 0).reshape(H, N, N)`: no index gathers it, a
        `Gathered` without one); None for anything else."""
        if id(t) in self.values:
            return self.values[id(t)]
        mlp = self.mlps.get(id(t))
        if mlp is None or mlp.steps != ("linear", "relu", "linear"):  # complete, however it is rearranged
            return None
        heads = mlp.linears[1][1]
        rows = math.prod(mlp.coordinates.shape) // mlp.linears[0][0]
        return Gathered(mlp.coordinates, (rows, heads), None, 0, tuple(t.shape), mlp=mlp)

    def _paid(self, found: Gathered | Computed) -> Gathered | Computed:
        """A computed tensor whose chain an earlier reader counted is `reused` (counted once)."""
        if not isinstance(found, Computed):
            return found
        return replace(found, reused=found.chain in self.chains)

    def reason(self, call: Any, reason: str) -> str:
        """A clearer reason for a call that computes on a parameter alone with a function not followed
        (`torch.tanh(self.scale)`): it has no batch axis because no input reaches it, not because of a layout."""
        operands = tensors((call.args, call.kwargs))
        if call.is_module or "no batch axis" not in reason or not operands or any(
                not self._parameter(t) and not isinstance(self.values.get(id(t)), Computed) for t in operands):  # fmt: skip
            return reason
        return ("computes on parameters alone with a function archcalc does not follow on weights (it follows "
                "sigmoid, exp, log, clamp, softmax, c - w, c * w and w + c of one parameter: docs/import.md)")

    def reads(self, operands: list[torch.Tensor]) -> bool:
        return any(self.value(t) is not None or id(t) in self.resized for t in operands)

    def sources(self, operands: list[torch.Tensor]) -> list[torch.Tensor]:
        """The tables and index buffers behind the gathered operands (an unsupported reader holds them)."""
        return [w for t in operands for w in (self.value(t).weights() if self.value(t) is not None else ())] + [
            self.resized[id(t)].table for t in operands if id(t) in self.resized]

    def map(self, mapper: Any, call: Any, outputs: list[torch.Tensor], operands: list[torch.Tensor]) -> None:
        """The call combining activations with gathered values, through a rule that accepts them."""
        if any(id(t) in self.resized for t in operands):
            raise CannotMap("an operand is a table resized in forward (F.interpolate on a parameter); only rows "
                            "gathered from it by a computed index are followed")  # fmt: skip
        gathered = [self._paid(found) for found in map(self.value, operands) if found is not None]
        activations = [t for t in operands if id(t) in self.producer]
        if call.is_module or len(outputs) != 1 or len(gathered) + len(activations) != len(operands):
            raise CannotMap(f"an operand is {what(gathered)} (computed from weights alone), read together with "
                            "other parameters or constants")  # fmt: skip
        # where the batch is (layout.py): in front, or merged with the windows (B·nW) of Swin-style attention
        plan = follow(call.target, False, call.args, call.kwargs, activations,
                      [mapper.layouts.get(id(t), FRONT) for t in activations], outputs, mapper.batch,
                      mapper.guessed)  # fmt: skip
        mapper.planned = {id(outputs[0]): plan.outputs[0]} if not plan.outputs[0].front else {}
        shapes = [mapper.sample(t) for t in activations]
        out = sample_shape(tuple(outputs[0].shape), plan.outputs[0], mapper.batch)
        if out is None or any(shape is None for shape in shapes):
            raise CannotMap(plan.reason or f"a tensor has no batch axis of {mapper.batch} in front")
        gathered = [mask_per_sample(g, activations[0], plan.input, mapper.batch) for g in gathered]
        view = Call(call.target, call.args, call.kwargs, False, shapes, out, [out], gathered,  # type: ignore[arg-type]
                    plan.input.axis, plan.input.merged)  # fmt: skip
        kinds = {getattr(g, "kind", "gathered") for g in gathered}
        rules = [r for r in mapper.table.function_rules(call.target)
                 if takes(r.gathered_operands, kinds) and (r.when is None or r.when(view))]
        if not rules and kinds == {"position_table"}:
            raise CannotMap(f"{gathered[0].what()}; no rule for this call reads one (an add to [L, E] tokens does)")
        if not rules:
            raise CannotMap(f"an operand is {what(gathered)} (computed from weights alone); no rule for this call "
                            "reads one (an add to the scores does: relative_position_bias; a product or sum with an "
                            "activation: parameter_op)")  # fmt: skip
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
        self.chains.update(g.chain for g in gathered if isinstance(g, Computed))  # counted here, once
        if not plan.outputs[0].front:
            mapper.layouts[id(outputs[0])] = plan.outputs[0]
