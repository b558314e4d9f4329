"""What every hand-written library block must show once imported (tests/models/): complete, params and buffers
equal to torch's, `--convention fvcore` / `--convention torch` equal to fvcore and FlopCounterMode on the model
itself, and an exported spec that loads back to the same totals and passes `check`."""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from archcalc import analyse, load_spec_text
from archcalc.check import CheckOptions, check
from archcalc.conventions.peers import run_peer
from archcalc.importer import import_model
from archcalc.spec.export import export_spec


def seeded(factory: Callable[[], nn.Module]) -> nn.Module:
    torch.manual_seed(0)
    return factory().eval()


def assert_complete_and_equal_to_the_tools(factory: Callable[[], nn.Module], shape: tuple[int, ...],
                                           batches: tuple[int, ...] = (1, 3)) -> None:  # fmt: skip
    model = seeded(factory)
    graph = import_model(model, shape).graph
    report = analyse(graph)
    assert report.complete, [(gap.op, gap.reason) for gap in report.unsupported]
    assert report.totals.params == sum(p.numel() for p in model.parameters())
    assert report.totals.buffers == sum(b.numel() for b in model.buffers())
    for batch in batches:
        for convention in ("fvcore", "torch"):
            ours = analyse(graph, batch=batch, convention=convention).convention.total
            assert ours == run_peer(convention, model, shape, batch=batch), (convention, batch)


def assert_round_trips_and_check_passes(factory: Callable[[], nn.Module], shape: tuple[int, ...]) -> None:
    graph = import_model(seeded(factory), shape).graph
    spec = load_spec_text(export_spec(graph))
    assert analyse(spec).totals == analyse(graph).totals and analyse(spec).complete
    outcome = check(spec, CheckOptions(batch=2, fvcore=True, rf_budget=0))
    assert outcome.agrees, [(layer.name, [str(v) for v in layer.verdicts]) for layer in outcome.differing]


def block_tests(cases: dict[str, tuple[Callable[[], nn.Module], tuple[int, ...]]]) -> tuple[Callable, Callable]:
    """The two parametrised tests over `cases` (name -> (factory, input shape)), for a test module to bind:
    `test_imports_complete_and_equal_to_the_tools, test_round_trips_and_check_passes = block_tests(CASES)`."""
    import pytest

    @pytest.mark.parametrize("case", list(cases))
    def complete_and_equal(case):
        assert_complete_and_equal_to_the_tools(*cases[case])

    @pytest.mark.parametrize("case", list(cases))
    def round_trips(case):
        assert_round_trips_and_check_passes(*cases[case])

    return complete_and_equal, round_trips
