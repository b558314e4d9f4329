"""What a convention profile is: one peer tool's counting rules for archcalc's layer types.

A profile predicts, layer by layer, the number a peer tool (fvcore, ptflops, thop, torchinfo,
torch's FlopCounterMode) adds to its headline total when it analyses archcalc's torch build of a
spec (`archcalc.torch_build.build_module`). It has two parts:

- `default(layer)`: the rule the tool applies to a layer type it has no special handling for, derived
  only from the registry entry's public facts (`category`, `dense_macs`, `data_movement`, `family`,
  its parameters, its `window`): "fvcore counts the MACs of dense conv and linear layers, nothing
  else", "torchinfo multiplies the parameters by the batch". A new layer type gets these without
  touching any profile;
- `table`: the layer types (by type name, or by `family` for every rank at once) the tool treats
  specially, like fvcore's handle table.

A layer its reference implementation invokes as a function, a Tensor method or an operator (a spec's
`call:`, graph.CALLS) is looked up first in `invoked` (keys "function:relu", "method:global_avg_pool",
or by family), then `invoked_default`: the module hook tools see no module there (thop, torchinfo: 0;
ptflops: only its patched functionals), while the tools that trace or dispatch aten ops (fvcore,
FlopCounterMode) see the same ops as the module's, which is their module rule (`invoked_default` None).

Every registered type resolves to a rule (tests/test_conventions_rules.py runs every one against the
real tool); a type with no rule at run time is an error, never a silent zero.

A rule sees a `LayerView` (the node's attributes, its input and output shapes, the batch and
archcalc's MACs) and returns the count, either as one integer (booked to the item of the layer's
category) or split into breakdown items (a conv's multiply-adds and its bias). Counts include the
batch, as the tools count a whole input batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Union

from archcalc.layers import REGISTRY, LayerType, Shape, numel

# Breakdown items, in display order, with their labels.
ITEMS = ("macs", "bias", "norm", "activation", "pool", "elementwise", "other")
ITEM_LABELS = {
    "macs": "conv/linear MACs", "bias": "bias", "norm": "norm", "activation": "activation", "pool": "pooling",
    "elementwise": "elementwise add/mul", "other": "other",
}  # fmt: skip
# A layer's count goes to the item of its category unless its rule splits it.
CATEGORY_ITEM = {
    "conv": "macs", "linear": "macs", "recurrent": "macs", "norm": "norm", "activation": "activation",
    "pool": "pool", "elementwise": "elementwise", "structure": "other", "other": "other",
}  # fmt: skip

Count = Union[int, Mapping[str, int]]


@dataclass(frozen=True)
class LayerView:
    """One node as a rule sees it: its registry entry, resolved attributes and shapes (batch excluded).
    `macs` is archcalc's MACs for the whole batch."""

    layer: LayerType
    attrs: Mapping[str, Any]
    ins: list[Shape]
    out: Shape
    batch: int
    macs: int

    @property
    def out_elems(self) -> int:
        """Output elements of the whole batch."""
        return numel(self.out) * self.batch

    @property
    def in_elems(self) -> int:
        """Elements of the (first) input of the whole batch."""
        return numel(self.ins[0]) * self.batch

    @property
    def spatial_out(self) -> int:
        """Output positions per map of the whole batch (N x H_out x W_out)."""
        return numel(self.out[1:]) * self.batch

    @property
    def params(self) -> int:
        """archcalc's parameter count of the layer (trainable and fixed; buffers excluded)."""
        return self.layer.params(self.attrs, self.ins, self.out).total  # type: ignore[arg-type]

    @property
    def bias(self) -> bool:
        return bool(self.attrs.get("bias", False))

    @property
    def window(self) -> Any:
        """The layer's sliding window (kernel, stride, per-side padding, dilation), from its entry."""
        return self.layer.window(self.attrs, self.ins[0])  # type: ignore[arg-type]

    @property
    def kernel_elements(self) -> int:
        """Taps of the kernel attribute: k_h k_w for a 2-D kernel."""
        return numel(self.attrs["kernel"])

    @property
    def reduction_axis(self) -> int | None:
        """The sample axis a softmax-like layer reduces over, from its entry."""
        return self.layer.reduction_axis(self.attrs, self.ins[0])  # type: ignore[arg-type]

    @property
    def spatial_rank(self) -> int:
        """Spatial axes of the (first) input: 1 for [C, L], 2 for [C, H, W], 3 for [C, D, H, W]."""
        return len(self.ins[0]) - 1


@dataclass(frozen=True)
class Rule:
    """How one tool counts one layer type: a function of the layer and the rule in words (for the docs)."""

    count: Callable[[LayerView], Count]
    text: str


def zero(why: str) -> Rule:
    """The tool counts nothing for this layer; `why` says what it sees (for the docs table)."""
    return Rule(lambda v: 0, f"0: {why}")


def per_output(factor: int, text: str) -> Rule:
    return Rule(lambda v: factor * v.out_elems, text)


def per_input(factor: int, text: str) -> Rule:
    return Rule(lambda v: factor * v.in_elems, text)


@dataclass(frozen=True)
class Profile:
    """One tool's counting convention: the special `table` first, then the `default` derived from the entry."""

    name: str  # the --convention value
    tool: str  # the package and the version its rules were read from
    headline: str  # the call whose number the profile reproduces
    unit: str  # what the number counts, in the tool's words
    table: Mapping[str, Rule]  # layer types (or families) the tool treats specially
    default: Callable[[LayerType], Rule] | None = None  # the rule for any other type, from its public facts
    invoked: Mapping[str, Rule] = field(default_factory=dict)  # "function:relu", "method:global_avg_pool", ...
    invoked_default: Rule | None = None  # any other call form; None: the module's rule (the same aten ops)

    def rule(self, type_name: str, call: str = "module") -> Rule:
        """The rule for one layer type invoked as `call`; an error (never a zero) when the profile has none."""
        from archcalc.errors import ArchcalcError

        layer = REGISTRY.get(type_name)
        if call != "module":
            family = layer.family if layer is not None else type_name
            for key in (f"{call}:{type_name}", f"{call}:{family}"):
                if key in self.invoked:
                    return self.invoked[key]
            if self.invoked_default is not None:
                return self.invoked_default
        if type_name in self.table:
            return self.table[type_name]
        if layer is not None and layer.family in self.table:
            return self.table[layer.family]
        if layer is None or self.default is None:
            raise ArchcalcError(f"the {self.name} convention has no rule for layer type '{type_name}'")
        return self.default(layer)

    @property
    def rules(self) -> dict[str, Rule]:
        """Every registered layer type's rule (for the docs)."""
        return {name: self.rule(name) for name in REGISTRY}

    @property
    def invoked_rules(self) -> dict[tuple[str, str], Rule]:
        """The rule of every (layer type, call form) its entry declares besides the module (for the docs)."""
        return {(name, call): self.rule(name, call) for name, layer in REGISTRY.items() for call in layer.calls}

    def layer_count(self, type_name: str, view: LayerView, category: str, call: str = "module") -> dict[str, int]:
        """The tool's count for one layer invoked as `call`, by breakdown item."""
        counted = self.rule(type_name, call).count(view)
        if isinstance(counted, Mapping):
            return {item: value for item, value in counted.items() if value}
        return {CATEGORY_ITEM[category]: counted} if counted else {}


def same_for(types: tuple[str, ...], rule: Rule) -> dict[str, Rule]:
    """One rule for several layer types (the table stays explicit about which ones)."""
    return {name: rule for name in types}


# An operation an import could not map (the `unsupported` layer type): nobody knows what it costs, and
# the report says it is incomplete. Every profile leaves it out rather than guess; on archcalc's torch
# build (a placeholder that returns zeros) the real tools count nothing for it either.
UNKNOWN = {"unsupported": Rule(lambda v: 0, "unknown: left out, and the report is marked incomplete")}
