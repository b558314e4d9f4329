"""The layer-type reference (docs/layers.md and `archcalc layers`), generated from the registry."""

from __future__ import annotations

from archcalc.layers import REGISTRY
from archcalc.layers.attrs import REQUIRED


def _attr_text(attr) -> str:
    if attr.default is REQUIRED:
        default = "required"
    elif attr.default is None:
        default = "optional"
    else:
        default = f"default {attr.default}"
    return f"`{attr.name}` ({default})"


def layer_reference_markdown() -> str:
    lines = [
        "# Layer types",
        "",
        "Generated from the registry by `archcalc layers --format markdown` (do not edit by hand).",
        "Formulas and conventions are in the docstring of each module in `archcalc/layers/`.",
        "`out` is the number of output elements per sample; counts are per sample (MACs, FLOPs and",
        "activations then scale with the batch). The backward column is the training rule (`report --train`).",
        "Besides its attributes a layer may say how it is invoked (`call:`, docs/spec-format.md): the forms",
        "other than `module` each type takes are listed after its attributes.",
        "",
        "| type | category | what | attributes | FLOPs | connections | backward |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in sorted(REGISTRY):
        rule = REGISTRY[name]
        attrs = ", ".join(_attr_text(a) for a in rule.attrs) or "none"
        if rule.calls:  # the forms a spec's `call:` may name besides module
            attrs += "; `call`: " + ", ".join(f"{call} ({callable_})" for call, callable_ in rule.calls.items())
        arity = "" if (rule.min_inputs, rule.max_inputs) == (1, 1) else f" ({rule.min_inputs}+ inputs)"
        lines.append(f"| `{name}` | {rule.category} | {rule.summary}{arity} | {attrs} | {rule.flops_rule} "
                     f"| {rule.connections_rule} | {rule.backward_rule} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def layer_reference_text() -> str:
    width = max(len(name) for name in REGISTRY)
    return "".join(f"{name:<{width}}  {REGISTRY[name].category:<11}  {REGISTRY[name].summary}\n"
                   for name in sorted(REGISTRY))  # fmt: skip
