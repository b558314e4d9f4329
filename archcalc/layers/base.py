"""The layer-type contract and the registry.

One `LayerType` subclass per layer kind declares everything about it, in the style of ONNX's
one-schema-per-op and fvcore's handle table:

- `attrs`: attributes with defaults and validation;
- `shape`: the output shape rule;
- `params`, `macs`, `flops`, `connections`: the counting rules (per sample; the analysers scale by batch,
  except the part `per_call` names: work done once per call, whatever the batch);
- `explain_shape`, `explain_counts`: the same rules as formulas with the numbers filled in (`archcalc
  explain`; see layers/formula.py). Tests check that they give the rules' numbers for every layer type;
- `backward`: the training rule, backward MACs and FLOPs per sample (`report --train`);
- `receptive_field`: kernel, stride, padding and dilation per spatial axis, or IDENTITY / None;
- `workspace`: elements of intermediate tensors kept besides the output (attention's score matrix),
  counted as activation memory; `input_kind`: whether the inputs are numbers, token ids or either;
- `embedding_params`: how many of its parameters are embedding tables (token, position and segment
  tables: what Kaplan et al. 2020 leave out of N); `attention`: an attention's sizes (its geometry, which
  the LLM arithmetic reads: KV cache, a decoding step, the quadratic terms), None for other layers;
- public facts other modules read instead of the rules' internals (conventions, check, importer):
  `category`, `family`, `spatial_rank`, `data_movement`, `dense_macs`, `window(a, in_shape)` and
  `reduction_axis(a, shape)`;
- `build_torch`: the torch module that computes the same thing (torch is imported lazily);
- `torch_import`: the torch modules and functions that map back to this type (`archcalc --module`).

Shapes exclude the batch dimension and put channels first, as torch does: `(F,)` for features,
`(C, L)` for sequences and audio, `(C, H, W)` for images, `(C, D, H, W)` for video and volumes. The
axes after the first are the spatial axes (their number is the spatial rank). Token sequences
`(L, E)` have rank 2 too: layers that act on the last axis (linear, layernorm) read them as torch does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Mapping, NamedTuple

from archcalc.errors import ArchcalcError, brief, closest
from archcalc.graph import CALLS
from archcalc.graph import REGISTRY as GRAPH_REGISTRY
from archcalc.layers.attrs import Attr
from archcalc.layers.axes import axis_names, axis_word, rank_text, spatial_names  # noqa: F401 - re-exported
from archcalc.layers.formula import Const, Expr, Formula, Term, counts, product

if TYPE_CHECKING:
    from archcalc.layers.attention_cost import AttentionGeometry
    from archcalc.layers.geometry import Window

Shape = tuple[int, ...]
Attrs = dict[str, Any]


def numel(shape: Shape) -> int:
    return math.prod(shape)


@dataclass(frozen=True)
class Params:
    """Parameter counts of one layer: torch's `parameters()` split by requires_grad, plus `buffers()`."""

    trainable: int = 0
    non_trainable: int = 0
    buffers: int = 0

    @property
    def total(self) -> int:
        return self.trainable + self.non_trainable


NO_PARAMS = Params()


class _Step(NamedTuple):
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...]
    dilation: tuple[int, ...]


class RFStep(_Step):
    """The receptive-field geometry of one layer, one entry per spatial axis (L; H, W; D, H, W).

    `padding` is the padding before the first element (top, left, front); the effective kernel of a
    dilated window is (kernel - 1) * dilation + 1. Stride, padding and dilation default to 1, 0 and 1
    on every axis. `IDENTITY` (no axes at all) keeps every position where it is, whatever the rank.
    A tuple: 100,000 of them cost little.
    """

    __slots__ = ()

    def __new__(cls, kernel: tuple[int, ...], stride: tuple[int, ...] = (), padding: tuple[int, ...] = (),
                dilation: tuple[int, ...] = ()) -> "RFStep":  # fmt: skip
        rank = len(kernel)
        return super().__new__(cls, tuple(kernel), tuple(stride) or (1,) * rank, tuple(padding) or (0,) * rank,
                               tuple(dilation) or (1,) * rank)  # fmt: skip

    @property
    def rank(self) -> int:
        return len(self.kernel)

    def for_rank(self, rank: int) -> "RFStep":
        """This step on `rank` spatial axes (IDENTITY becomes 1-wide windows on each)."""
        if not self.kernel:
            return _identity(rank)
        if len(self.kernel) != rank:
            raise ValueError(f"a receptive-field step on {len(self.kernel)} axes applied to {rank} spatial axes")
        return self


_IDENTITIES: dict[int, RFStep] = {}


def _identity(rank: int) -> RFStep:
    step = _IDENTITIES.get(rank)
    if step is None:
        step = _IDENTITIES[rank] = RFStep((1,) * rank)
    return step


IDENTITY = RFStep(())

# Categories group layer types for conventions and breakdowns.
CATEGORIES = ("conv", "linear", "recurrent", "norm", "activation", "pool", "elementwise", "structure", "other")


class LayerType:
    """Base class: override what differs. Defaults describe a parameter-free, cost-free layer."""

    name: ClassVar[str]
    summary: ClassVar[str]
    category: ClassVar[str] = "other"
    attrs: ClassVar[tuple[Attr, ...]] = ()
    min_inputs: ClassVar[int] = 1
    max_inputs: ClassVar[int | None] = 1
    # Output elements of these layers are "neurons" in the classic sense (units with weights).
    neurons: ClassVar[bool] = False
    # MACs are all multiply-accumulates of convolutions or matrix products: the only ops fvcore and torch's
    # FlopCounterMode count, so `archcalc check` compares them with those witnesses layer by layer.
    dense_macs: ClassVar[bool] = False
    # Rules for the FLOPs/connections columns, shown in the docs table.
    flops_rule: ClassVar[str] = "0"
    connections_rule: ClassVar[str] = "0"
    backward_rule: ClassVar[str] = "≈ forward; 0 when no gradient flows through or into it"
    # Public facts about the type, read by conventions, check and docs (never the rules' internals):
    # the family several rank-specific types share (conv for conv1d, conv2d, conv3d; default: the name),
    family: ClassVar[str] = ""
    # the spatial axes the type reads (conv2d: 2), or None when it takes any rank (relu, batchnorm),
    spatial_rank: ClassVar[int | None] = None
    # and whether its torch build only moves or selects data (no arithmetic for any tool to count).
    data_movement: ClassVar[bool] = False
    # What its inputs hold: "float" (numbers: every computing layer), "tokens" (integer token ids: the
    # embedding lookups), "any" (passed through unchanged, ids stay ids: data movement) or "unknown" (an
    # imported operation without a rule: not checked, and its output is not either). None: "any" for data
    # movement, else "float". archcalc.analysis.shapes refuses ids where numbers are needed.
    input_kind: ClassVar[str | None] = None
    # Whether its torch build runs a fused kernel (F.scaled_dot_product_attention, nn.MultiheadAttention's
    # native path): what fvcore and FlopCounterMode see of it then depends on the device and on autograd.
    fused_kernel: ClassVar[bool] = False
    # Whether fvcore counts exactly its MACs when they are dense: not through a fused kernel, nor for an
    # einsum (fvcore rounds numpy's count to four digits). `check` compares the others with FlopCounterMode only.
    fvcore_exact: ClassVar[bool] = True
    # The type torch modules import as, when it is not this one (batchnorm2d: torch's BatchNorm2d imports
    # as `batchnorm`, which takes the rank of its input); None: this type's own `torch_import` rules.
    imported_as: ClassVar[str | None] = None
    # How else a reference implementation may invoke it than as a module (graph.CALLS: "function", "method",
    # "operator"), each with the torch callable it means, for the docs and errors: {"function": "F.relu"}.
    # A spec's `call:` may name only these; archcalc's build then runs `build_invoked` outside any module hook.
    calls: ClassVar[Mapping[str, str]] = {}

    def __init__(self) -> None:
        self._by_name: dict[str, Attr] = {}
        for attr in self.attrs:
            self._by_name[attr.name] = attr
            for alias in attr.aliases:
                self._by_name[alias] = attr
        self._parsed_defaults: dict[str, Any] = {}

    # ----- attributes -------------------------------------------------------------------------
    def resolve_attrs(self, raw: Mapping[str, Any], scope: Mapping[str, Any]) -> Attrs:
        """Parse the spec's attribute values; fill defaults; reject unknown or missing ones."""
        out: Attrs = {}
        for key, value in raw.items():
            attr = self._by_name.get(key)
            if attr is None:
                known = sorted(self._by_name)
                raise ArchcalcError(
                    f"{self.name} has no attribute '{key}'{closest(key, known)}"
                    f"; its attributes: {', '.join(a.name for a in self.attrs) or 'none'}"
                )
            if attr.name in out:
                raise ArchcalcError(f"attribute '{attr.name}' is given twice (as '{key}' and an alias)")
            out[attr.name] = attr.kind.parse(attr.name, value, scope)
        for attr in self.attrs:
            if attr.name in out:
                continue
            if attr.required:
                raise ArchcalcError(f"{self.name} needs attribute '{attr.name}' ({attr.kind.describe})")
            if attr.name not in self._parsed_defaults:
                default = attr.default
                self._parsed_defaults[attr.name] = (
                    None if default is None else attr.kind.parse(attr.name, default, {})
                )
            out[attr.name] = self._parsed_defaults[attr.name]
        self.validate(out)
        return out

    def validate(self, a: Attrs) -> None:
        """Checks that involve more than one attribute (shape-independent)."""

    # ----- rules ------------------------------------------------------------------------------
    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        return ins[0]

    def params(self, a: Attrs, ins: list[Shape], out: Shape) -> Params:
        return NO_PARAMS

    def macs(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return 0

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return 0

    def connections(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return 0

    def per_call(self, a: Attrs, ins: list[Shape], out: Shape) -> tuple[int, int]:
        """(MACs, FLOPs) of work done once per call whatever the batch (Swin V2's position-bias MLP, computed
        from the weights alone), included in the per-sample `macs` and `flops`: a batch of B costs
        B·(macs − these) + these, as torch computes it. Default: none."""
        return 0, 0

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        """One formula per output axis (C_out, H_out, W_out). Default: the input's shape, unchanged."""
        return same_shape(ins[0])

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        """Formulas for params, MACs, FLOPs and connections per sample. Default: nothing is computed."""
        return counts(notes={"FLOPs": "only moves data"})

    def workspace(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        """Elements per sample of the intermediate tensors the layer materialises besides its output (the
        attention score matrix), counted as activation memory. Default: none."""
        return 0

    def embedding_params(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        """How many of its parameters are embedding tables: token, position or segment rows looked up or
        added by position, not multiplied with activations (Kaplan et al. 2020's "embedding parameters").
        Default: none."""
        return 0

    def attention(self, a: Attrs, ins: list[Shape]) -> "AttentionGeometry | None":
        """The sizes of an attention (layers/attention_cost.py), or None for a layer that does not attend."""
        return None

    def reads(self) -> str:
        """What the inputs hold: "float", "tokens" or "any" (see `input_kind`)."""
        return self.input_kind or ("any" if self.data_movement else "float")

    def backward(self, a: Attrs, ins: list[Shape], out: Shape, input_grad: bool) -> tuple[int, int]:
        """(MACs, FLOPs) of the backward pass per sample; `input_grad`: a layer before this one is trained.

        Default: about the forward cost, and nothing when no gradient has to flow through or into it.
        """
        if not input_grad and not self.params(a, ins, out).trainable:
            return 0, 0
        return self.macs(a, ins, out), self.flops(a, ins, out)

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape) -> RFStep | None:
        """IDENTITY for layers that keep each position where it is; None where RF stops being defined."""
        return IDENTITY

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape) -> Any:
        raise NotImplementedError(f"{self.name} has no torch builder")

    def build_invoked(self, a: Attrs, ins: list[Shape], out: Shape, call: str) -> Any:
        """The torch module whose `forward` is the `call` form of the layer (one of `calls`); archcalc's build
        runs that forward without the module's hooks (torch_modules.Invoked). Default: `build_torch`, whose
        forward is that very function (nn.ReLU.forward is F.relu)."""
        return self.build_torch(a, ins, out)

    def check_call(self, call: Any, a: Attrs) -> str:
        """`call` if the type may be invoked so (graph.CALLS) with these attributes, else an error."""
        if not isinstance(call, str) or call not in CALLS:
            hint = closest(call, CALLS) if isinstance(call, str) else ""
            raise ArchcalcError(f"'call' must be one of {', '.join(CALLS)}, got {brief(call)}{hint}")
        if call != "module" and call not in self.calls:
            taken = ", ".join(f"{kind} ({callable_})" for kind, callable_ in self.calls.items())
            raise ArchcalcError(f"{self.name} is not invoked as a {call} here: archcalc builds and counts it as a "
                                f"module" + (f" or as {taken}" if taken else " only"))  # fmt: skip
        refused = self.call_refused(a, call)
        if refused:
            raise ArchcalcError(refused)
        return call

    def call_refused(self, a: Attrs, call: str) -> str | None:
        """Why these attributes cannot be computed by the `call` form (one of `calls`), or None."""
        return None

    def torch_import(self) -> tuple:
        """`archcalc.importer.ImportRule`s: the torch modules and functions this type reads back.

        Each rule names torch module classes and/or functions and how to read this type's attributes
        from a traced call (see docs/import.md). Import torch inside the method.
        """
        return ()

    def window(self, a: Attrs, in_shape: Shape) -> "Window | None":
        """The sliding window (kernel, stride, per-side padding, dilation, ceil mode) of convolutions and
        pools, resolved for this input; None for layers without one."""
        return None

    def reduction_axis(self, a: Attrs, shape: Shape) -> int | None:
        """The sample axis a softmax-like layer normalises over (non-negative), or None."""
        return None

    def fvcore_hidden(self, a: Attrs) -> bool:
        """Whether this node's build runs its dense MACs through an aten op fvcore has no handle for (a conv
        whose padding torch gets as a string: aten::_convolution_mode), so fvcore counts 0 for them."""
        return False

    def incomplete(self, a: Attrs) -> dict | None:
        """None when the rules count this layer fully; else what is missing (`op`, `where`, `reason`)."""
        return None


# The registry is the graph's table of layer types (archcalc.graph.REGISTRY): every entry registers there.
REGISTRY: dict[str, LayerType] = GRAPH_REGISTRY


def register(cls: type[LayerType]) -> type[LayerType]:
    """Class decorator: add one instance of the layer type to the registry."""
    if cls.name in REGISTRY:
        raise RuntimeError(f"layer type {cls.name!r} registered twice")
    if cls.category not in CATEGORIES:
        raise RuntimeError(f"layer type {cls.name!r} has unknown category {cls.category!r}")
    instance = cls()
    if not instance.family:
        instance.family = cls.name  # a type of its own: its family is itself
    REGISTRY[cls.name] = instance
    return cls


def register_ranks(family: type[LayerType], names: dict[int, str], summaries: dict[int, str] | None = None) -> None:
    """Register one rank-generic entry under each of its torch names: {1: "conv1d", 2: "conv2d", ...}."""
    for rank, name in names.items():
        members: dict = {"name": name, "spatial_rank": rank, "__module__": family.__module__}
        if hasattr(family, "rank_attrs"):  # attributes whose form depends on the rank ([k_d, k_h, k_w])
            members["attrs"] = family.rank_attrs(rank)
        if summaries:
            members["summary"] = summaries[rank]
        register(type(family.__name__.strip("_") + str(rank), (family,), members))


def torch_class(prefix: str, rank: int) -> Any:
    """nn.Conv2d, nn.MaxPool3d, ...: torch's module class of a family at one spatial rank (imports torch)."""
    from torch import nn

    return getattr(nn, f"{prefix}{rank}d")


def elements(shape: Shape, suffix: str = "", start: int = 0) -> Expr:
    """C×H×W (C_out×H_out×W_out with suffix '_out'; H×W with start 1): a tensor's elements, as a formula."""
    named = list(zip(axis_names(len(shape)), shape))[start:]
    return product([Term(name + suffix, size) for name, size in named]) if named else Const(1)


def same_shape(shape: Shape) -> list[Formula]:
    """C_out = C = 64, H_out = H = 112, ...: a layer that keeps its input's shape."""
    return [Formula(f"{name}_out", Term(name, size)) for name, size in zip(axis_names(len(shape)), shape)]


WEIGHTS_BACKWARD_RULE = ("MACs: weight grad = forward MACs, input grad = forward MACs (none before any trained "
                         "layer); FLOPs: 2 per MAC + out")


def weights_backward(forward_macs: int, input_grad: bool, bias_outputs: int) -> tuple[int, int]:
    """Backward of a layer with trained weights (conv, transposed conv, linear), per sample:

    gradient wrt the weights costs the forward MACs again; gradient wrt the input costs them once more,
    unless no layer before it is trained (the first conv: nothing upstream needs it, as in autograd).
    FLOPs = 2 per backward MAC, plus one add per output element for the bias gradient.
    """
    macs = forward_macs * (2 if input_grad else 1)
    return macs, 2 * macs + bias_outputs


def require_rank(layer: str, shape: Shape, rank: int) -> None:
    if len(shape) != rank:
        what = rank_text(rank)
        raise ArchcalcError(
            f"{layer} needs a {what} input, got shape {list(shape)}"
            + (" (add a flatten layer first?)" if rank == 1 else "")
        )
