"""Constants: tensors that no input value determines, and the position tables looked up with them.

Text and vision transformers compute bookkeeping from the input's *shape* inside their forward: position
ids (`torch.arange(L)`, or a slice of a `position_ids` buffer), BERT's all-zero token-type ids, RoPE's
cos/sin tables (from the `inv_freq` buffer), causal masks, an empty KV cache. None of it depends on the
input's values, so it is computed once per shape, not per sample, and no layer type stands for it.

A call is a constant when none of its tensor operands is a layer output and none is a parameter: only
buffers, other constants, Python values, or nothing (a factory); or when it is a mask compared from the
token ids themselves (RoBERTa's padding-aware position ids), which computes no float. A factory whose output
has the batch axis in front (`torch.randn(B, ...)`: noise) is not: it stays unsupported, as before (one filled with a
single value, torch.ones / zeros / full, is the same for every sample: a constant).
Constants make no layer; the calls that read them decide what they mean:

- an import rule with `constant_operands` (Hugging Face attention classes: cos/sin and the mask are
  the attention's own RoPE and causal mask, which the layer type counts) reads them as part of the layer;
- an `nn.Embedding` looked up with constant ids gives a **table** (GPT-2's `wpe(position_ids)`, BERT's
  position and token-type tables); the table added to the tokens is a `positional_embedding` (as many
  rows as tokens or more) or, with fewer rows than tokens, a `token_type_embedding` (every token takes
  one segment's row). The counts of the two are the same: rows·E parameters, one add per element;
- an empty constant (an empty KV cache concatenated with new keys) is no operand at all;
- anything else that reads a constant is unsupported, as an operation on a constant tensor.

The buffers a constant is made from (position ids, RoPE's inverse frequencies) are index and angle
tables, not weights: the first layer that reads the constant holds them (`WeightUse.tables`, shown as
buffers), so the totals equal `sum(b.numel())` and no note calls them unused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from archcalc.layers.elementwise import addition_functions


# Calls that pass a table through unchanged (GPT-2's `position_embeds.to(inputs_embeds.device)`).
_SAME = {torch.Tensor.to, torch.Tensor.contiguous, torch.Tensor.float, torch.Tensor.type_as}
# A cast to another tensor's dtype and device: that tensor is read for neither values nor shape.
_CASTS = {torch.Tensor.to, torch.Tensor.type_as}
# Factories of one value everywhere: with the batch axis in front they are still the same for every sample (timm's
# Gemma 4 makes an all-true patch_valid mask `torch.ones(B, N, dtype=torch.bool)`), unlike noise (torch.randn).
_FILLED = {torch.ones, torch.zeros, torch.full}


@dataclass
class Table:
    """`embedding(ids)` with constant ids: the table's rows, added to the tokens later."""

    module: Any  # the nn.Embedding
    weight: torch.Tensor
    buffers: list[torch.Tensor]  # what the ids were made from


class Constants:
    def __init__(self, producer: dict[int, str], weights: set[int], buffer_ids: set[int], batch: int,
                 traced: set[int] | None = None) -> None:  # fmt: skip
        self.producer, self.weights, self.buffer_ids, self.batch = producer, weights, buffer_ids, batch
        # torch.fx runs code on concrete values while tracing (DINOv3's RoPE grid from Python ints) and keeps
        # the result as a tensor constant: there, a tensor that no traced call returned (`traced`: the ids of
        # every call's outputs and the input) cannot depend on the input. None: forward hooks, which miss code.
        self.traced = traced
        self.made_from: dict[int, list[torch.Tensor]] = {}  # constant -> the buffers it is computed from
        self.tables: dict[int, Table] = {}

    def is_constant(self, t: torch.Tensor) -> bool:
        return id(t) in self.made_from

    def empty(self, t: torch.Tensor) -> bool:
        return id(t) in self.made_from and t.numel() == 0

    def absorb(self, call: Any, outputs: list[torch.Tensor], operands: list[torch.Tensor]) -> bool:
        """Record the call's outputs as constants (or a table) when it computes nothing from the input."""
        readers = [t for t in operands if id(t) in self.producer]
        if readers and not self._index_bookkeeping(call, outputs, operands, readers):
            return False
        if call.is_module:
            return self._lookup(call, outputs, operands)
        if call.target in _CASTS and len(operands) == 2 and id(operands[0]) in self.made_from and not call.kwargs:
            operands = operands[:1]  # `one_hot.to(table)`: the parameter gives the dtype and device only
        if any(id(t) in self.weights and id(t) not in self.buffer_ids for t in operands):
            return False  # reads a parameter (a class token expanded to the batch): not bookkeeping
        if operands and all(id(t) in self.tables for t in operands) and call.target in _SAME and len(operands) == 1:
            self.tables[id(outputs[0])] = self.tables[id(operands[0])]  # the table, moved or cast
            return len(outputs) == 1
        if any(id(t) in self.tables for t in operands):
            return False
        known = all(id(t) in self.made_from or self._buffer(t) is not None or id(t) in self.producer
                    or self.folded(t) for t in operands)  # fmt: skip
        if not known:
            return False  # an operand from code the tracer did not see
        if not operands and call.target not in _FILLED and any(t.dim() and t.shape[0] == self.batch for t in outputs):
            return False  # noise or a state made for each sample: a factory, unsupported as before
        sources = self.sources(operands)
        for t in outputs:
            self.made_from[id(t)] = sources
        return True

    def _index_bookkeeping(self, call: Any, outputs: list, operands: list, readers: list) -> bool:
        """A mask made from the token ids themselves (RoBERTa's padding-aware position ids start with
        `input_ids.ne(padding_idx)`; the `cumsum` and products that follow read only that constant): no float is
        computed, and no peer counts it. Only a comparison qualifies: `embed(ids + 1)` looks the ids up, and
        its `ids + 1` stays an operation on the input (unsupported on an integer tensor, saying so)."""
        from archcalc.graph import INPUT

        return (not call.is_module and all(self.producer[id(t)] == INPUT for t in readers)
                and not any(t.is_floating_point() or t.is_complex() for t in operands)
                and all(t.dtype == torch.bool for t in outputs))  # fmt: skip

    def sources(self, operands: list[torch.Tensor]) -> list[torch.Tensor]:
        found: dict[int, torch.Tensor] = {}
        for t in operands:
            buffer = self._buffer(t)
            if buffer is not None:
                found[id(buffer)] = buffer
            for source in self.made_from.get(id(t), ()):
                found[id(source)] = source
            if id(t) in self.tables:
                found.update((id(b), b) for b in self.tables[id(t)].buffers)
        return list(found.values())

    def folded(self, t: torch.Tensor) -> bool:
        """A tensor torch.fx computed while tracing: no traced call returned it, and it is no parameter."""
        return self.traced is not None and id(t) not in self.traced and id(t) not in self.weights

    def _buffer(self, t: torch.Tensor) -> torch.Tensor | None:
        """The buffer `t` is, or a view of (torch.fx folds `self.periods[None, None, :]` into a constant)."""
        if id(t) in self.buffer_ids:
            return t
        base = t._base
        return base if base is not None and id(base) in self.buffer_ids else None

    def _lookup(self, call: Any, outputs: list[torch.Tensor], operands: list[torch.Tensor]) -> bool:
        """nn.Embedding on constant ids (GPT-2's `wpe(position_ids)`): a table, placed where it is added."""
        module = call.target
        if type(module) is not torch.nn.Embedding or len(operands) != 1 or len(outputs) != 1:
            return False
        ids = operands[0]
        if not (id(ids) in self.made_from or id(ids) in self.buffer_ids) or module.max_norm is not None:
            return False
        self.tables[id(outputs[0])] = Table(module, module.weight, self.sources([ids]))
        return True

    def table_addition(self, call: Any, operands: list[torch.Tensor]) -> Table | None:
        """The table of `tokens + table` (either order), when that is what the call is."""
        if call.is_module or call.target not in addition_functions() or len(operands) != 2 or call.kwargs:
            return None
        if len(call.args) != 2:
            return None
        first, second = operands
        if id(second) in self.tables and id(first) in self.producer:
            return self.tables[id(second)]
        if id(first) in self.tables and id(second) in self.producer and call.target is not torch.Tensor.add_:
            return self.tables[id(first)]
        return None
