"""The quick coverage scan's summary (benchmarks/real_models/scan.py): counts and the blockers' ranking,
from per-model records like the ones its children print (the scan itself needs timm: not in make test)."""

from __future__ import annotations

from benchmarks.real_models.scan import summary


def _gap(op: str, reason: str = "no import rule for it") -> dict:
    return {"op": op, "name": op.rsplit(".", 1)[-1], "where": "model.py:1", "reason": reason}


RESULTS = [
    {"key": "timm/a", "imports": True, "complete": True, "params": 10, "torch_params": 10, "unsupported": []},
    {"key": "timm/b", "imports": True, "complete": False, "params": 10, "torch_params": 12,
     "unsupported": [_gap("torch.roll"), _gap("torch.roll"), _gap("torch.stack")]},
    {"key": "timm/c", "imports": True, "complete": False, "params": 5, "torch_params": 5,
     "unsupported": [_gap("torch.roll")]},
    {"key": "timm/d", "imports": True, "complete": False, "params": 5, "torch_params": 5,
     "unsupported": [_gap("operator.add", "add takes 2+ tensor inputs, the call has 1")]},
    {"key": "timm/e", "imports": False, "error": "running the model on input [3, 8, 8] failed: boom"},
]  # fmt: skip


def test_summary_counts_and_ranks_blockers_by_models():
    text = summary(RESULTS)
    first = text.splitlines()[0]
    assert first == ("models 5: imported 4, complete 1, params exact 3 (1 of them complete), blocked only by "
                     "scalar operands (heuristic) 1")  # fmt: skip
    ranking = [line.split()[:2] for line in text.split("by models blocked")[1].splitlines()[1:4]]
    assert ranking == [["2", "torch.roll"], ["1", "operator.add"], ["1", "torch.stack"]]
    assert "models blocked by one operation only: torch.roll 1, operator.add 1" in text
    assert "params differ: timm/b 10 vs 12" in text
    assert "1  running the model on input [3, 8, 8] failed: boom" in text
