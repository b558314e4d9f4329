"""What a convention profile is: one peer tool's counting rules, keyed by archcalc layer type.

A profile predicts, layer by layer, the number a peer tool (fvcore, ptflops, thop, torchinfo,
torch's FlopCounterMode) adds to its headline total when it analyses archcalc's torch build of a
spec (`archcalc.torch_build.build_module`). Like fvcore's handle table, it is a table: layer type ->
`Rule`. Every profile names a rule for every registered layer type (tests/test_conventions_rules.py
fails when one is missing), so adding a layer type forces a decision for each tool; a missing entry
at run time is an error, never a silent zero.

A rule sees a `LayerView` (the node's attributes, its input and output shapes, the batch and
archcalc's MACs) and returns the count, either as one integer (booked to the item of the layer's
category) or split into breakdown items (a conv's multiply-adds and its bias). Counts include the
batch, as the tools count a whole input batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Union

from archcalc.layers import LayerType, Shape, numel

# Breakdown items, in display order, with their labels.
ITEMS = ("macs", "bias", "norm", "activation", "pool", "elementwise", "other")
ITEM_LABELS = {
    "macs": "conv/linear MACs", "bias": "bias", "norm": "norm", "activation": "activation", "pool": "pooling",
    "elementwise": "elementwise add/mul", "other": "other",
}  # fmt: skip
# A layer's count goes to the item of its category unless its rule splits it.
CATEGORY_ITEM = {
    "conv": "macs", "linear": "macs", "norm": "norm", "activation": "activation", "pool": "pool",
    "elementwise": "elementwise", "structure": "other", "other": "other",
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
    """One tool's counting convention."""

    name: str  # the --convention value
    tool: str  # the package and the version its rules were read from
    headline: str  # the call whose number the profile reproduces
    unit: str  # what the number counts, in the tool's words
    rules: Mapping[str, Rule]

    def layer_count(self, type_name: str, view: LayerView, category: str) -> dict[str, int]:
        """The tool's count for one layer, by breakdown item."""
        from archcalc.errors import ArchcalcError

        rule = self.rules.get(type_name)
        if rule is None:
            raise ArchcalcError(f"the {self.name} convention has no rule for layer type '{type_name}'")
        counted = rule.count(view)
        if isinstance(counted, Mapping):
            return {item: value for item, value in counted.items() if value}
        return {CATEGORY_ITEM[category]: counted} if counted else {}


def same_for(types: tuple[str, ...], rule: Rule) -> dict[str, Rule]:
    """One rule for several layer types (the table stays explicit about which ones)."""
    return {name: rule for name in types}


# Layer types whose torch build only moves or selects data: every tool sees no arithmetic there.
DATA_MOVEMENT = ("identity", "dropout", "flatten", "reshape", "concat", "channel_shuffle", "pixel_shuffle",
                 "pixel_unshuffle", "pad", "crop", "slice")  # fmt: skip

# An operation an import could not map (the `unsupported` layer type): nobody knows what it costs, and
# the report says it is incomplete. Every profile leaves it out rather than guess; on archcalc's torch
# build (a placeholder that returns zeros) the real tools count nothing for it either.
UNKNOWN = {"unsupported": Rule(lambda v: 0, "unknown: left out, and the report is marked incomplete")}
