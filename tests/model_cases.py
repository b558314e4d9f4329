"""Shared steps of the tests that import hand-written stand-ins of library blocks (tests/models/*.py, each with
a MODELS table of name -> (factory, input shape)): import, build the real module, round trip and check."""

from __future__ import annotations

from typing import Callable

import torch

from archcalc import analyse, load_spec_text
from archcalc.check import check
from archcalc.importer import import_model
from archcalc.spec.export import export_spec, graph_difference


def imported(models: dict, name: str):
    """The imported graph of `models[name]`."""
    factory, shape = models[name]
    return import_model(factory, shape).graph


def real(models: dict, name: str) -> Callable[[str], torch.nn.Module]:
    """`make_module(device)` for tests.peer_check.tool_totals: the model itself, seeded, in eval mode."""

    def make(device: str) -> torch.nn.Module:
        torch.manual_seed(0)
        with torch.device(device):
            return models[name][0]().eval()

    return make


def assert_graph_round_trips_and_checks(graph, name: str) -> None:
    """export-spec loads back to the same graph and totals, and `check` finds no difference on it."""
    again = load_spec_text(export_spec(graph), name)
    assert graph_difference(graph, again) is None
    assert analyse(again).totals == analyse(graph).totals
    verdicts = check(again).totals
    assert all(v.status != "differ" for v in verdicts), verdicts
