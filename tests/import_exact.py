"""What every imported stand-in of a library block must show (tests/test_import_timm_*.py): complete, params,
trainable params and buffers equal to torch's, `--convention fvcore` / `--convention torch` equal to fvcore and
FlopCounterMode on the model itself at batch 1 and 2 (at inference on the CPU, as users run them), and an
exported spec that loads back to the same totals and passes `check`."""

from __future__ import annotations

import torch

from archcalc import analyse, load_spec_text
from archcalc.check import CheckOptions, check
from archcalc.conventions.peers import run_peer
from archcalc.importer import import_model
from archcalc.spec.export import export_spec


def seeded(factory):
    torch.manual_seed(0)
    return factory().eval()


def assert_complete_and_exact(factory, shape: tuple[int, ...]):
    """The import's report, after checking it against torch and the tools."""
    graph = import_model(seeded(factory), shape).graph
    report = analyse(graph)
    assert report.complete, [(gap.op, gap.reason) for gap in report.unsupported]
    model = seeded(factory)
    assert report.totals.params == sum(p.numel() for p in model.parameters())
    assert report.totals.buffers == sum(b.numel() for b in model.buffers())
    assert report.totals.trainable_params == sum(p.numel() for p in model.parameters() if p.requires_grad)
    for batch in (1, 2):
        for convention in ("fvcore", "torch"):
            ours = analyse(graph, batch=batch, convention=convention).convention.total
            assert ours == run_peer(convention, model, shape, batch=batch), (convention, batch)
    return report


def assert_round_trip_and_check(factory, shape: tuple[int, ...]) -> None:
    graph = import_model(seeded(factory), shape).graph
    spec = load_spec_text(export_spec(graph))
    assert analyse(spec).totals == analyse(graph).totals and analyse(spec).complete
    outcome = check(spec, CheckOptions(batch=2, fvcore=True, rf_budget=0))
    assert outcome.agrees, [(layer.name, [str(v) for v in layer.verdicts]) for layer in outcome.differing]
