"""Functions a model applies element by element to a parameter before using it (parameter_op's `fn`).

Swin V2's cosine attention scales the scores by `torch.clamp(self.logit_scale, max=log(100)).exp()`, ConViT
gates two attention maps by `torch.sigmoid(gating)` and `1 - torch.sigmoid(gating)`, EfficientViM scales its
branches by `torch.sigmoid(self.alpha)` ... The result is computed from the parameter alone: no input value
reaches it, so a batch of B computes it once, not B times (`per_call`). The importer follows such a tensor
(archcalc/importer/derived_math.py) to the call that multiplies or adds it into an activation, which becomes a
parameter_op whose `fn` lists the functions in the order they run:

    {type: parameter_op, op: mul, shape: [3, 1, 1], fn: [clamp_max, exp]}     x * exp(min(w, c))
    {type: parameter_op, op: mul, shape: [4, 1, 1], fn: [sigmoid, rsub]}      x * (1 - sigmoid(w))

FLOPs per element of the parameter (the conventions of layers/pointwise_math.py and activation.py: each
elementary operation once, a transcendental function as one):

    sigmoid 4 (negate, exp, add, divide)    exp 1    log 1
    clamp_min 1, clamp_max 1 (one comparison), clamp 2 (both bounds)
    rsub 1 (c − w, a number minus the weight)    scale 1 (c·w, a number times the weight)    shift 1 (w + c)
    softmax (E/N)·(3N − 1) for E elements in groups of N (N exps, N − 1 adds, N divides, as layer softmax),
            over the rows (`rows`, EfficientViM's `self.weights.softmax(-1)[i]` of a [R] parameter) or else
            over the last axis of `shape`

The chain runs once on the whole parameter (E = rows·numel(shape) elements). A reader of a result an earlier
reader computed (`reused: true`: EfficientViM's `sigmoid(alpha)` is computed once and read as four rows)
counts none of it; ConViT computes `torch.sigmoid(gating)` twice, so both of its readers count it.

The numbers c and the clamp bounds change no count, so the spec does not carry them. The peers count none of
it: fvcore has no handle for aten::sigmoid / exp / clamp / rsub / mul (skipped), FlopCounterMode registers none,
ptflops and thop see no module, torchinfo no parameter named weight or bias.
"""

from __future__ import annotations

from typing import Any, Mapping

from archcalc.errors import ArchcalcError, brief, closest
from archcalc.layers.attrs import Kind

# name -> (FLOPs per element, what it computes)
FUNCTIONS: dict[str, tuple[int, str]] = {
    "sigmoid": (4, "1 / (1 + exp(-w))"),
    "exp": (1, "exp(w)"),
    "log": (1, "log(w)"),
    "clamp_min": (1, "max(w, c)"),
    "clamp_max": (1, "min(w, c)"),
    "clamp": (2, "min(max(w, a), b)"),
    "rsub": (1, "c - w"),
    "scale": (1, "c * w"),
    "shift": (1, "w + c"),
    "softmax": (0, "softmax(w)"),  # not per element: softmax_flops
}


def Functions() -> Kind:
    """A list of FUNCTIONS names, applied in order (empty: the parameter as it is)."""

    def parse(name: str, value: Any, scope: Mapping[str, Any]) -> tuple[str, ...]:
        if not isinstance(value, (list, tuple)):
            raise ArchcalcError(f"attribute '{name}' must be a list of functions ({', '.join(FUNCTIONS)}), got "
                                f"{brief(value)}")  # fmt: skip
        for item in value:
            if not isinstance(item, str) or item not in FUNCTIONS:
                hint = closest(item, tuple(FUNCTIONS)) if isinstance(item, str) else ""
                raise ArchcalcError(f"attribute '{name}' lists {brief(item)}, not one of {', '.join(FUNCTIONS)}"
                                    f"{hint}")  # fmt: skip
        return tuple(value)

    schema = {"type": "array", "items": {"type": "string", "enum": list(FUNCTIONS)}}
    return Kind(parse, schema, "list of " + " | ".join(FUNCTIONS))


def per_element(steps: tuple[str, ...]) -> int:
    """FLOPs per element of the element-wise functions of the chain (softmax is counted by softmax_flops)."""
    return sum(FUNCTIONS[step][0] for step in steps)


def softmax_flops(steps: tuple[str, ...], elements: int, group: int) -> int:
    """(E/N)·(3N − 1) for each softmax of the chain, E elements in groups of N."""
    return steps.count("softmax") * (elements // group) * (3 * group - 1)


def chain_flops(steps: tuple[str, ...], elements: int, group: int) -> int:
    """The whole chain on a parameter of `elements` elements (softmax over groups of `group`)."""
    return per_element(steps) * elements + softmax_flops(steps, elements, group)


def describe(steps: tuple[str, ...]) -> str:
    """`exp(min(w, c))`-style text for notes."""
    text = "w"
    for step in steps:
        text = FUNCTIONS[step][1].replace("w", text, 1)
    return text


def apply(steps: tuple[str, ...], weight: Any, softmax_dim: int = -1) -> Any:
    """The chain on a torch tensor (archcalc's builds: the numbers are placeholders, no count depends on them)."""
    import torch

    for step in steps:
        weight = {"sigmoid": torch.sigmoid, "exp": torch.exp, "log": torch.log,
                  "clamp_min": lambda w: torch.clamp(w, min=-4.0), "clamp_max": lambda w: torch.clamp(w, max=4.6),
                  "clamp": lambda w: torch.clamp(w, -4.0, 4.6), "rsub": lambda w: 1.0 - w,
                  "scale": lambda w: 2.0 * w, "shift": lambda w: w + 1.0,
                  "softmax": lambda w: torch.softmax(w, dim=softmax_dim)}[step](weight)  # fmt: skip
    return weight
