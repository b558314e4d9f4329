"""A learned position map added to a feature map: PiT's `x + self.pos_embed` (timm/models/pit.py, 1.0.31), a
parameter of shape [1, C, *S] on a [C, *S] map (channels first, any number of spatial axes).

position_map on [C, *S]
    params       C * prod(S): one learned value per element of the map (an embedding table: Kaplan et al.
                 leave it out of N, as ViT's position table)
    flops        numel(out): one add per element
    connections  2 * numel(out): the input element and its table entry
    RF           position-wise (identity)
Only an exact [1, *input shape] parameter imports as it; a table broadcast over an axis is not this type.
"""

from __future__ import annotations

from archcalc.errors import ArchcalcError
from archcalc.layers.base import IDENTITY, Attrs, LayerType, Params, Shape, elements, numel, register, same_shape
from archcalc.layers.elementwise import addition_functions
from archcalc.layers.formula import counts
from archcalc.layers.imports import ImportRule


def is_position_map(call) -> bool:
    """tensor + a parameter of shape [1, *the tensor's sample shape], on a map with spatial axes."""
    if len(call.in_shapes) != 1 or len(call.weights) != 1 or len(call.in_shapes[0]) < 3:
        return False
    return tuple(call.weights[0].shape) == (1,) + tuple(call.in_shapes[0])


@register
class PositionMap(LayerType):
    name = "position_map"
    summary = "a learned position map [C, *S] added to a channels-first map (PiT's pos_embed)"
    category = "elementwise"
    flops_rule = "out: one add per element"
    connections_rule = "2 * out: the input element and its table entry"

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        if len(ins[0]) < 2:
            raise ArchcalcError(f"{self.name} needs a [C, *S] map with spatial axes, got shape {list(ins[0])}")
        return ins[0]

    def params(self, a: Attrs, ins: list[Shape], out: Shape) -> Params:
        return Params(trainable=numel(ins[0]))

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return numel(out)

    def connections(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return 2 * numel(out)

    def embedding_params(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return numel(ins[0])

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape):
        return same_shape(ins[0])

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape):
        table, outputs = elements(ins[0]), elements(out, "_out")
        return counts(params=table, flops=outputs, connections=2 * outputs,
                      notes={"params": "one learned value per element of the map", "FLOPs": "one add per element"})

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape):
        return IDENTITY

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc.torch_convs import PositionMap as Module

        return Module(ins[0])

    def torch_import(self) -> tuple:
        from archcalc.torch_convs import PositionMap as Module

        return (ImportRule(self.name, modules=(Module,)),
                ImportRule(self.name, functions=addition_functions(), weight_operands=True, when=is_position_map,
                           note="a map + a [1, C, *S] parameter"))  # fmt: skip
