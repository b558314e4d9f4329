"""The JSON Schema of the spec format, generated from the layer registry (so it never drifts)."""

from __future__ import annotations

from archcalc.graph import WEIGHT_KEYS
from archcalc.layers import REGISTRY
from archcalc.layers.over import MAX_OVER
from archcalc.limits import MAX_INPUT_RANK
from archcalc.spec.expand import BLOCK_DEF_KEYS

_EXPR = {"type": "string", "description": "an expression over the spec's variables"}
_NAMES = {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}]}
_COMMON = {
    "name": {"oneOf": [{"type": "string"}, {"type": "integer"}], "description": "local name (no dots)"},
    "inputs": _NAMES | {"description": "names of earlier or later nodes; default: the previous item"},
    "when": {"description": "keep the item only when this is true; otherwise references mean its input"},
    "repeat": {"oneOf": [{"type": "integer", "minimum": 1}, _EXPR], "description": "instances name.0, name.1, ..."},
    "note": {"type": "string"},
}
_WEIGHTS = {"type": "object", "additionalProperties": False,
            "properties": {key: {"type": "integer", "minimum": 0} for key in WEIGHT_KEYS},
            "description": "frozen, pruning-mask and shared weight elements (imports write it; docs/spec-format.md)"}

_OVER = {"type": "integer", "minimum": 0, "maximum": MAX_OVER,
         "description": "apply the layer to each slice of this many leading axes on its own (docs/spec-format.md)"}


def _layer_schema(name: str) -> dict:
    rule = REGISTRY[name]
    properties = dict(_COMMON)
    properties["type"] = {"const": name, "description": rule.summary}
    properties["weights"] = _WEIGHTS
    properties["over"] = _OVER
    forms = {"module": "an nn.Module", **rule.calls}
    properties["call"] = {"enum": list(forms), "description": "how the reference implementation invokes it: "
                          + "; ".join(f"{call}: {callable_}" for call, callable_ in forms.items())}
    for attr in rule.attrs:
        for key in (attr.name,) + attr.aliases:
            properties[key] = dict(attr.kind.schema) | {"description": attr.doc or attr.kind.describe}
    required = ["type"] + [a.name for a in rule.attrs if a.required]
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


def spec_schema() -> dict:
    layer_types = sorted(REGISTRY)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://archcalc.dev/spec.schema.json",
        "title": "archcalc spec",
        "type": "object",
        "required": ["input", "layers"],
        "additionalProperties": False,
        "properties": {
            "name": {"type": "string"},
            "description": {"type": "string"},
            "source": {"type": "string"},
            "notes": {},
            "input": {"type": "array", "minItems": 1, "maxItems": MAX_INPUT_RANK,
                      "items": {"oneOf": [{"type": "integer", "minimum": 1}, _EXPR]},
                      "description": "[features], [C, L] (or tokens [L, E]), [C, H, W] or [C, D, H, W]"},  # fmt: skip
            "input_dtype": {"enum": ["float32", "int64"],
                            "description": "what the input holds: numbers, or int64 token ids (text models)"},
            "variables": {"type": "object", "additionalProperties": {
                "oneOf": [{"type": "number"}, {"type": "boolean"}, _EXPR, {"type": "array"}]}},  # fmt: skip
            "blocks": {"type": "object", "additionalProperties": {"$ref": "#/$defs/block"}},
            "layers": {"$ref": "#/$defs/items"},
            "outputs": _NAMES,
            "unused": {"type": "array", "description": "weights no layer uses (aux heads): counted in the totals",
                       "items": {"type": "object", "required": ["name"], "additionalProperties": False,
                                 "properties": {"name": {"type": "string", "minLength": 1},
                                                **{key: {"type": "integer", "minimum": 0}
                                                   for key in ("params", "frozen", "buffers")}}}},
        },
        "$defs": {
            "items": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/item"}},
            "item": {"oneOf": [
                {"type": "string", "enum": layer_types, "description": "a layer type with default attributes"},
                {"$ref": "#/$defs/layer"}, {"$ref": "#/$defs/instance"}, {"$ref": "#/$defs/group"},
            ]},  # fmt: skip
            "layer": {"type": "object", "required": ["type"], "properties": {"type": {"enum": layer_types}},
                      "allOf": [{"if": {"properties": {"type": {"const": n}}}, "then": {"$ref": f"#/$defs/type_{n}"}}
                                for n in layer_types]},  # fmt: skip
            **{f"type_{n}": _layer_schema(n) for n in layer_types},
            "instance": {"type": "object", "required": ["block"], "additionalProperties": False,
                         "properties": _COMMON | {"block": {"type": "string"}, "args": {"type": "object"}}},  # fmt: skip
            "group": {"type": "object", "required": ["layers"], "additionalProperties": False,
                      "properties": _COMMON | {"layers": {"$ref": "#/$defs/items"}}},  # fmt: skip
            "block": {"type": "object", "required": ["layers"], "additionalProperties": False,
                      "properties": {key: {} for key in BLOCK_DEF_KEYS} | {
                          "params": {"type": "object", "description": "parameter: default (null = required)"},
                          "layers": {"$ref": "#/$defs/items"},
                          "output": {"type": "string"}}},  # fmt: skip
        },
    }
