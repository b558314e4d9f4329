"""The JSON contract of `archcalc report --format json`.

Contract keys come first, in the documented order; extra keys follow. Shapes exclude the batch
axis; every count is an exact integer.
"""

from __future__ import annotations

import json
from dataclasses import asdict

from archcalc.analysis.results import LayerResult, Report

LAYER_KEYS = ("name", "type", "inputs", "output_shape", "params", "macs", "flops", "connections", "activations",
              "receptive_field", "effective_stride", "effective_padding")  # fmt: skip
LAYER_EXTRAS = ("trainable_params", "non_trainable_params", "buffers", "rf_aligned", "category")
TOTAL_KEYS = ("params", "trainable_params", "non_trainable_params", "buffers", "macs", "flops", "connections",
              "activations", "param_bytes", "activation_bytes", "neurons", "peak_activation_bytes")  # fmt: skip


def layer_dict(layer: LayerResult) -> dict:
    data = asdict(layer)
    return {key: data[key] for key in LAYER_KEYS + LAYER_EXTRAS}


def report_dict(report: Report) -> dict:
    totals = asdict(report.totals)
    return {
        "name": report.name,
        "input_shape": report.input_shape,
        "batch": report.batch,
        "dtype": report.dtype,
        "totals": {key: totals[key] for key in TOTAL_KEYS},
        "layers": [layer_dict(layer) for layer in report.layers],
        "outputs": report.outputs,
        "depth": report.depth,
        "description": report.description,
        "source": report.source,
        "variables": report.variables,
        "complete": report.complete,
        "unsupported": [asdict(gap) for gap in report.unsupported],
    }


def render_json(report: Report) -> str:
    return json.dumps(report_dict(report), indent=2) + "\n"
