"""Invariants over every built-in spec: per-layer values sum to the totals; the graph is well formed."""

from __future__ import annotations

import pytest

from archcalc import analyse, load_spec
from archcalc.analysis.results import DTYPE_BYTES
from archcalc.graph import INPUT
from archcalc.spec import builtin_specs

SPECS = sorted(builtin_specs())
SUMMED = ("params", "trainable_params", "non_trainable_params", "buffers", "macs", "flops", "connections",
          "activations")  # fmt: skip


@pytest.mark.parametrize("spec", SPECS)
def test_per_layer_values_sum_to_totals(spec):
    graph = load_spec(spec)
    for batch in (1, 3):
        report = analyse(graph, batch=batch)
        for key in SUMMED:
            assert sum(getattr(layer, key) for layer in report.layers) == getattr(report.totals, key), key
        t = report.totals
        assert t.params == t.trainable_params + t.non_trainable_params
        assert t.param_bytes == (t.params + t.buffers) * DTYPE_BYTES[report.dtype]
        assert t.activation_bytes == t.activations * DTYPE_BYTES[report.dtype]
        assert t.peak_activation_bytes <= t.activation_bytes + batch * 4 * _numel(report.input_shape)
        assert t.neurons <= t.activations


@pytest.mark.parametrize("spec", SPECS)
def test_graph_is_topologically_ordered(spec):
    graph = load_spec(spec)
    seen = {INPUT}
    for node in graph.nodes:
        assert all(name in seen for name in node.inputs), node.name
        seen.add(node.name)
    assert len(seen) == len(graph.nodes) + 1  # names are unique
    assert all(name in seen for name in graph.outputs)


@pytest.mark.parametrize("spec", SPECS)
def test_costs_are_non_negative_and_flops_cover_macs(spec):
    for layer in analyse(load_spec(spec)).layers:
        assert min(layer.params, layer.macs, layer.flops, layer.connections, layer.activations) >= 0, layer.name
        if layer.category in ("conv", "linear"):
            assert layer.flops >= layer.macs, layer.name


def _numel(shape):
    out = 1
    for size in shape:
        out *= size
    return out
