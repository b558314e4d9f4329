"""Layers that work along one axis of the sample, named by `axis` (softmax, F.normalize): the axis resolved
against the shape, the shape kept, and groups·(3N - 1) FLOPs over N elements along the axis. A mixin, not a
layer type: it registers nothing."""

from __future__ import annotations

from archcalc.errors import ArchcalcError
from archcalc.layers.base import Attrs, Shape, numel


class AlongOneAxis:
    name: str

    def reduction_axis(self, a: Attrs, shape: Shape) -> int:
        """The sample axis the layer works along, counted from 0 (an error when out of range)."""
        axis = a["axis"]
        if not -len(shape) <= axis < len(shape):
            raise ArchcalcError(f"{self.name}: axis {axis} is out of range for shape {list(shape)}")
        return axis % len(shape)

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        self.reduction_axis(a, ins[0])
        return ins[0]

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        n = out[self.reduction_axis(a, out)]
        return numel(out) // n * (3 * n - 1)
