"""Constants expanded over the batch, read by a call with no rule for constants: ConViT's
`self.pos_proj(self.rel_indices.expand(B, -1, -1, -1))`, a linear run per sample on a table the forward made from
the input's shape (constants.py follows the table). The expanded table becomes a constant_table layer
(layers/constant_table.py) hanging off the network input, so that the reading call maps as the ordinary layer it
is, with its per-sample cost. Only a floating-point constant whose leading axis is the batch, stretched by
`expand` (stride 0: every sample reads the same table), qualifies; anything else stays unsupported, as before.
"""

from __future__ import annotations

from typing import Any

import torch

from archcalc.graph import INPUT, NO_WEIGHT_USE
from archcalc.importer.trace import Traced
from archcalc.layers import REGISTRY


def expanded_over_batch(t: torch.Tensor, batch: int) -> bool:
    return t.is_floating_point() and t.dim() >= 2 and t.shape[0] == batch and t.stride(0) == 0


def place_expanded(mapper: Any, call: Traced, operands: list[torch.Tensor]) -> None:
    """Make each constant operand expanded over the batch a constant_table layer (it then has a producer)."""
    for t in operands:
        if id(t) in mapper.producer or not mapper.constants.is_constant(t) or not expanded_over_batch(t, mapper.batch):
            continue
        attrs = REGISTRY["constant_table"].resolve_attrs({"shape": list(t.shape[1:])}, {})
        parent = call.path.rsplit(".", 1)[0] if call.is_module and "." in call.path else "" if call.is_module else call.path
        made = Traced(torch.Tensor.expand, False, (), {}, t, parent, "constant_table", call.file, call.line)
        use = mapper.hold_tables(NO_WEIGHT_USE, [t])
        mapper.add(made, "constant_table", attrs, [INPUT], t, use)
