"""The JSON contract of `archcalc report --format json`.

Contract keys come first, in the documented order; extra keys follow. Shapes exclude the batch
axis; every count is an exact integer. Layers are written one per line: readable, diff-friendly,
and fast (each line goes through json's C encoder; an indented dump of a 100,000-layer report
would take the pure-Python encoder several seconds).
"""

from __future__ import annotations

import json

from archcalc.analysis.results import LayerResult, Report

LAYER_KEYS = ("name", "type", "inputs", "output_shape", "params", "macs", "flops", "connections", "activations",
              "receptive_field", "effective_stride", "effective_padding")  # fmt: skip
LAYER_EXTRAS = ("trainable_params", "non_trainable_params", "buffers", "rf_aligned", "category")
TOTAL_KEYS = ("params", "trainable_params", "non_trainable_params", "buffers", "macs", "flops", "connections",
              "activations", "param_bytes", "activation_bytes", "neurons", "peak_activation_bytes")  # fmt: skip


def layer_dict(layer: LayerResult) -> dict:
    data = layer.__dict__
    return {key: data[key] for key in LAYER_KEYS + LAYER_EXTRAS}


def _with_count(data: dict, convention_count: int) -> dict:
    data["convention_count"] = convention_count
    return data


def report_dict(report: Report, depth: int | str | None = None) -> dict:
    """The report's convention (`--convention`) goes in `convention`, totals and each layer; default archcalc's."""
    # archcalc's own convention is its MACs: no need to load the convention tables for it.
    convention = report.convention
    name, total = (convention.convention, convention.total) if convention else ("archcalc", report.totals.macs)
    counts = convention.layers if convention else [layer.macs for layer in report.layers]
    totals = report.totals.__dict__
    data = {
        "name": report.name,
        "input_shape": report.input_shape,
        "batch": report.batch,
        "dtype": report.dtype,
        "totals": {**{key: totals[key] for key in TOTAL_KEYS}, "convention_total": total},
        "layers": [_with_count(layer_dict(layer), count) for layer, count in zip(report.layers, counts)],
        "outputs": report.outputs,
        "depth": report.depth,
        "description": report.description,
        "source": report.source,
        "variables": report.variables,
        "complete": report.complete,
        "unsupported": [dict(gap.__dict__) for gap in report.unsupported],
        "convention": name,
    }
    if report.training is not None:
        from archcalc.render.training import training_dict

        data["training"] = training_dict(report.training)
    if report.llm is not None:
        from archcalc.render.llm import llm_dict

        data["llm"] = llm_dict(report.llm)
    if depth is not None:  # `--depth N`: the block tree with subtotals, N levels deep
        from archcalc.analysis.hierarchy import block_dict, block_tree, resolve_depth

        tree = block_tree(report)
        data["depth_shown"] = resolve_depth(tree, depth)
        data["blocks"] = block_dict(tree, data["depth_shown"])
    return data


def dumps_layered(data: dict) -> str:
    """Indented JSON with the elements of every list of objects on one line each."""
    compact = json.JSONEncoder(separators=(", ", ": ")).encode
    lines = ["{"]
    items = list(data.items())
    for position, (key, value) in enumerate(items):
        comma = "," if position < len(items) - 1 else ""
        if isinstance(value, list) and value and isinstance(value[0], dict):
            lines.append(f"  {compact(key)}: [")
            lines.extend(f"    {compact(item)}," for item in value[:-1])
            lines.append(f"    {compact(value[-1])}")
            lines.append(f"  ]{comma}")
        elif isinstance(value, dict) and value:
            inner = json.dumps(value, indent=2).replace("\n", "\n  ")
            lines.append(f"  {compact(key)}: {inner}{comma}")
        else:
            lines.append(f"  {compact(key)}: {compact(value)}{comma}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render_json(report: Report, depth: int | str | None = None) -> str:
    return dumps_layered(report_dict(report, depth))
