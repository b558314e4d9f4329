"""The import-rule format: how a layer type says which torch modules and functions map to it.

Each layer type lists its rules in `LayerType.torch_import` (next to its `build_torch`); the importer
(archcalc/importer/) traces a model and looks calls up in a table of these rules. They live here, beside
the layer types, so that the layers never import the importer: nothing points up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

Shape = tuple[int, ...]


class CannotMap(Exception):
    """Raised by a reader when the call uses something the layer type cannot express."""


@dataclass
class Call:
    """One traced call, as a reader sees it.

    `target` is the nn.Module instance (module calls) or the function. Shapes exclude the batch axis;
    `in_shapes` lists the tensor operands in the order they become the layer's inputs.
    """

    target: Any
    args: tuple
    kwargs: dict
    is_module: bool
    in_shapes: list[Shape] = field(default_factory=list)
    out_shape: Shape = ()
    out_shapes: list[Shape] = field(default_factory=list)  # every output tensor's (per_output rules)
    # The operands that are parameters or buffers, or reshaped views of one (`gamma.reshape(1, -1, 1, 1)`),
    # as the call received them (weight_operands rules).
    weights: list = field(default_factory=list)
    # Where the first input holds the batch (archcalc/importer/layout.py): an axis, merged as the outermost
    # factor of that axis or standalone. Shapes above are per sample either way; `axis()` translates dims.
    batch_axis: int = 0
    batch_merged: bool = False
    # Per weight operand (by id): how many of its elements are buffers, not parameters (a buffer: all; BEiT's
    # torch.cat((q_bias, k_bias, v_bias)) with k_bias a buffer: k_bias's; importer/joined_weights.py).
    buffer_parts: dict = field(default_factory=dict)

    @property
    def module(self) -> Any:
        return self.target if self.is_module else None

    def bind(self, *names: str, **defaults: Any) -> dict[str, Any]:
        """Match the call's arguments to parameter `names` (in positional order); `defaults` fill the
        rest. An argument the rule does not know about is a CannotMap, never silently ignored."""
        if len(self.args) > len(names):
            raise CannotMap(f"takes {len(self.args)} positional arguments, the rule knows {len(names)}")
        bound = dict(zip(names, self.args))
        for key, value in self.kwargs.items():
            if key not in names:
                raise CannotMap(f"argument {key!r} is not understood")
            if key in bound:
                raise CannotMap(f"argument {key!r} given twice")
            bound[key] = value
        for name in names:
            if name not in bound:
                if name not in defaults:
                    raise CannotMap(f"argument {name!r} is missing")
                bound[name] = defaults[name]
        return bound

    def axis(self, dim: int, rank: int | None = None) -> int:
        """A torch dim (counting the batch axis) as a sample axis; the batch axis itself cannot map."""
        if self.batch_axis or self.batch_merged:  # the batch is not in front: through the layout
            rank = len(self.in_shapes[0]) + (not self.batch_merged)
            if not -rank <= dim < rank:
                raise CannotMap(f"dim {dim} is out of range")
            if dim % rank == self.batch_axis:
                raise CannotMap("works across the batch axis" + (" (merged into that axis)" if self.batch_merged
                                                                else ""))  # fmt: skip
            return dim % rank - (not self.batch_merged and dim % rank > self.batch_axis)
        rank = (len(self.in_shapes[0]) if self.in_shapes else len(self.out_shape)) + 1 if rank is None else rank
        if not -rank <= dim < rank:
            raise CannotMap(f"dim {dim} is out of range")
        if dim % rank == 0:
            raise CannotMap("works across the batch axis")
        return dim if dim < 0 else dim - 1  # counting from the end means the same without the batch axis


def readable(read: Callable[["Call"], Any], call: "Call") -> bool:
    """Whether `read` maps the call: a `when` that narrows a rule to what its reader takes, so that the next rule
    for the same function gets the rest (`x * gamma`: layer_scale's per-channel shapes, parameter_op's others)."""
    try:
        read(call)
    except CannotMap:
        return False
    return True


def _no_attrs(call: Call) -> dict:
    return {}


@dataclass(frozen=True)
class ImportRule:
    """Maps torch `modules` (classes) and/or `functions` to the registry layer type `layer`.

    `read(call)` returns the layer's attributes as a spec would write them (validated afterwards by
    the layer type; None means "the default"); it raises CannotMap for configurations the type cannot
    express. `when(call)`
    narrows the rule (for example, archcalc's Padded wrapper maps to conv2d only around a Conv2d).
    `per_output`, `unique_operands`, `weight_operands`, `constant_operands` and `other_outputs` change how the call's tensors
    become layers, inputs and weights (see their comments).
    """

    layer: str
    modules: tuple[type, ...] = ()
    functions: tuple[Callable, ...] = ()
    read: Callable[[Call], dict] = _no_attrs
    when: Callable[[Call], bool] | None = None
    note: str = ""  # the condition in words, for docs/import.md
    # A module that returns a tuple (nn.LSTM's output and final states): the layer is its first tensor, and
    # this names the others, which are not modelled (a later call that reads one is unsupported, saying so).
    other_outputs: str = ""
    # One layer per output tensor (torch.chunk, unbind): `read` returns a list of attribute dicts, in order.
    per_output: bool = False
    # The same tensor given twice is one input (nn.MultiheadAttention(x, x, x) is self-attention on x).
    unique_operands: bool = False
    # Parameter and buffer operands are the layer's own weights (F.layer_norm(x, shape, weight, bias)): they
    # are not inputs, and the layer type's parameter count must equal theirs.
    weight_operands: bool = False
    # Operands made inside forward from the input's shape or buffers (position tables, masks, RoPE's cos/sin:
    # archcalc/importer/constants.py) are part of what the layer type counts: they are not inputs.
    constant_operands: bool = False
    # Operands gathered from a parameter table by an index buffer (a relative-position bias: the importer's
    # weight-derived values, archcalc/importer/derived.py) are the layer's own weights, held through `call.weights`.
    # A string names another kind of weight-derived value it takes instead ("position_table": a table interpolated
    # or tiled from parameters, importer/derived_tables.py).
    gathered_operands: bool | str = False
    # Classes and functions of libraries the user's model comes from (transformers, torchvision), by dotted
    # name ("transformers.pytorch_utils.Conv1D"): they join `modules` / `functions` when that library is
    # already imported, so archcalc never imports or needs it.
    foreign: tuple[str, ...] = ()
    # How the call invokes the layer (graph.CALLS) when its spelling says otherwise: torch.mean(x, dims) is
    # the method form x.mean(dims), not the layer's function form. Empty: from the callable's name.
    form: str = ""


def spec_sides(torch_pad: Any, rank: int = 2) -> list[int]:
    """torch's F.pad order (last axis first: (left, right, top, bottom, front, back)) -> the spec's
    (before, after) per spatial axis, first axis first: [top, bottom, left, right] for two axes.

    A pad that names fewer axes leaves the leading spatial axes unpadded; one that pads more than `rank`
    axes (channels or batch) cannot map, unless it pads them by nothing (Swin's
    `F.pad(x, (0, 0, 0, pad_w, 0, pad_h))` and CoaT's `(0, 0, 1, 0, 0, 0)` name an axis with zeros).
    """
    torch_pad = list(torch_pad)
    while len(torch_pad) > 2 * rank and len(torch_pad) % 2 == 0 and not any(torch_pad[-2:]):
        torch_pad = torch_pad[:-2]
    if len(torch_pad) % 2 or len(torch_pad) > 2 * rank:
        raise CannotMap(f"pads {len(torch_pad) // 2} axes; only the {rank} spatial axes map")
    pairs = [(int(torch_pad[i]), int(torch_pad[i + 1])) for i in range(0, len(torch_pad), 2)]
    pairs += [(0, 0)] * (rank - len(pairs))
    return [side for before, after in reversed(pairs) for side in (before, after)]
