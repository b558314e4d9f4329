"""The real-models campaign's own machinery (benchmarks/real_models/), without torchvision or timm: its
environment's lock, the launcher's time limit and memory cap, and how results become the report's figures.
The campaign itself runs in .venv-real (`make realmodels`) and is not part of `make test`."""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from pathlib import Path

from benchmarks.real_models.launcher import fork_call, measure
from benchmarks.real_models.render import (added_mib, csv_text, markdown, model_row, summary_rows, unsupported_ranking,
                                           verdicts)  # fmt: skip
from benchmarks.real_models.worker import round_trip_difference

ROOT = Path(__file__).resolve().parents[1]


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"{path.name}: {line!r} is not an exact pin"
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    return pins


def test_the_campaign_environment_is_locked():
    """Everything .venv-real installs is pinned: the direct requirements, archcalc's own dependencies
    (archcalc goes in with --no-deps) and the torch build the Makefile installs first."""
    pins = _pins(ROOT / "requirements-realmodels.lock")
    wanted = re.findall(r"^([A-Za-z0-9_.-]+)", (ROOT / "benchmarks/real_models/requirements.in").read_text(), re.M)
    declared = re.findall(r'^\s*"([A-Za-z0-9_.-]+)\s*[<>=!~;\[]', (ROOT / "pyproject.toml").read_text(), re.M)
    project = (ROOT / "pyproject.toml").read_text().split("[project.optional-dependencies]")[0]
    runtime = re.findall(r'^\s*"([A-Za-z0-9_.-]+)\s*[<>=!~;\[]', project, re.M)
    assert len(wanted) >= 8 and len(runtime) >= 5 and set(runtime) <= set(declared)
    for name in wanted + runtime:
        assert re.sub(r"[-_.]+", "-", name).lower() in pins, f"{name} is not pinned in requirements-realmodels.lock"
    makefile = (ROOT / "Makefile").read_text()
    torch_line = re.search(r"^REAL_TORCH\s*:=\s*(.+)$", makefile, re.M).group(1).split()
    for requirement in torch_line:
        name, _, version = requirement.partition("==")
        assert pins[name] == version, f"the Makefile installs {requirement}, the lock pins {name}=={pins[name]}"


def test_launcher_measures_a_command():
    run = measure([sys.executable, "-c", "import sys; print('out'); sys.exit(3)"], 60, 1024, ROOT)
    assert (run.code, run.stdout.strip(), run.killed) == (3, "out", "")
    assert run.rss_mib > 1 and run.wall > 0


def test_launcher_kills_at_the_time_limit():
    run = measure([sys.executable, "-c", "import time; time.sleep(60)"], 1, 1024, ROOT)
    assert run.killed.startswith("time limit") and not run.ok and run.wall < 30
    assert run.error_line() == run.killed


def test_launcher_kills_at_the_memory_cap():
    hog = "import time; blocks = [bytearray(2**20) for _ in range(400)]; time.sleep(60)"
    run = measure([sys.executable, "-c", hog], 60, 100, ROOT)
    assert run.killed.startswith("memory cap") and run.wall < 30


def test_error_line_is_archcalcs_last_word():
    run = measure([sys.executable, "-c", "import sys; sys.stderr.write('noise\\narchcalc: error: bad\\nmore\\n'); "
                                         "sys.exit(2)"], 60, 1024, ROOT)  # fmt: skip
    assert run.error_line() == "archcalc: error: bad"


def _report(params: int, layers: list | None = None) -> dict:
    return {"totals": {"params": params, "macs": 10}, "complete": True,
            "layers": layers or [{"name": "conv", "type": "conv2d", "params": params}]}  # fmt: skip


def test_round_trip_names_the_first_difference():
    assert round_trip_difference(_report(5), _report(5)) == ""
    assert round_trip_difference(_report(5), _report(6)) == "params 6 vs 5"
    other = _report(5, [{"name": "conv", "type": "linear", "params": 5}])
    assert round_trip_difference(_report(5), other) == "the layers differ: conv"
    two = [{"name": "a", "type": "relu"}, {"name": "b", "type": "relu", "inputs": ["input"]}]
    assert round_trip_difference(_report(0, two), _report(0, two[::-1])) == ""  # another topological order


RESULTS = [
    {"key": "torchvision/a", "category": "torchvision-classification", "input": [3, 8, 8], "imports": True,
     "complete": True, "unsupported": [], "archcalc_params": 10, "torch_params": 10, "archcalc_buffers": 2,
     "torch_buffers": 2, "archcalc_fvcore": 7, "fvcore": 7, "archcalc_torch": 14, "torch": 14,
     "round_trip": "identical", "check_exit": 0, "import_s": 1.0, "import_rss_mib": 900, "baseline_rss_mib": 800, "total_s": 10},
    {"key": "torchvision/b", "category": "torchvision-classification", "input": [3, 8, 8], "imports": True,
     "complete": False, "unsupported": [{"op": "torch.roll", "name": "r", "reason": "no import rule for it"},
                                        {"op": "torch.roll", "name": "r_1", "reason": "no import rule for it"}],
     "archcalc_params": 12, "torch_params": 10, "archcalc_buffers": 2, "torch_buffers": 2, "archcalc_fvcore": 5,
     "fvcore": 7, "archcalc_torch": 10, "torch": 14, "round_trip": "identical", "import_s": 3.0,
     "import_rss_mib": 1000, "total_s": 20},
    {"key": "timm/c", "category": "timm", "input": [3, 8, 8], "imports": False,
     "import_error": "=archcalc: error: Cannot copy out of meta tensor 12", "torch_params": 3, "total_s": 30},
]  # fmt: skip


def test_verdicts_compare_like_with_like():
    assert verdicts(RESULTS[0]) == {"imports": True, "complete": True, "params": True, "buffers": True,
                                    "fvcore": True, "torch": True, "round_trip": True}  # fmt: skip
    assert verdicts(RESULTS[1])["params"] is False and verdicts(RESULTS[1])["round_trip"] is None
    assert set(verdicts(RESULTS[2]).values()) == {False, None}  # nothing measured on a model that does not import


def test_summary_counts_over_what_was_measured():
    rows = {row[0]: row for row in summary_rows(RESULTS)}
    assert rows["torchvision-classification"][1:7] == ["2", "2 / 2", "1 / 2", "1 / 2", "2 / 2", "1 / 2"]
    assert rows["torchvision-classification"][7] == "1 / 1"  # fvcore equal on complete models
    assert rows["all"][2] == "2 / 3" and rows["all"][-2] == "2.0"  # median import time over imported models


def test_unsupported_operations_rank_by_models_blocked():
    assert unsupported_ranking(RESULTS) == [("torch.roll", 1, 2, "no import rule for it", ["torchvision/b"])]


def test_reports_render_every_model_and_keep_csv_cells_inert():
    env = {"versions": {"torch": "x"}, "commit": "abc", "python": "3", "cpu": "cpu"}
    text = markdown(RESULTS, env)
    assert all(r["key"] in text for r in RESULTS) and "| all | 3 | 2 / 3 |" in text
    rows = list(csv.DictReader(io.StringIO(csv_text(RESULTS))))
    assert [r["key"] for r in rows] == ["torchvision/a", "torchvision/b", "timm/c"]
    assert rows[2]["import_error"].startswith("'=") and rows[1]["unsupported_ops"] == "torch.roll"


def test_a_detector_row_says_in_one_line_why_it_is_not_complete():
    # The importer's words (importer/data_dependent.py), shortened to the call and where it happened.
    where = "torch.where at module rpn, /x/worker.py:43"
    incomplete = {"key": "torchvision/det", "input": [3, 8, 8], "imports": True, "complete": False,
                  "unsupported": [{"op": "nms"}], "notes": [f"archcalc: note: sizes in the forward depend on the "
                                                            f"values after {where}: the layers after it ..."]}
    refused = {"key": "torchvision/det2", "input": [3, 8, 8], "imports": False,
               "import_error": "archcalc: error: the model's output depends on its input's values, not only its "
                               "shape: torch.Tensor.__getitem__ at the top-level forward, /x/worker.py:43 keeps"}
    assert model_row(incomplete)[2] == "incomplete (1): data-dependent after torch.where at module rpn"
    assert model_row(refused)[2] == "no import: data-dependent after torch.Tensor.__getitem__ at the top-level forward"
    assert model_row({**incomplete, "notes": []})[2] == "incomplete (1)"


def test_a_partial_rerun_keeps_the_commit_each_row_was_measured_at(tmp_path):
    from benchmarks.real_models.run import _stamp_commit

    results = tmp_path / "results.jsonl"
    results.write_text("".join(json.dumps(r) + "\n" for r in RESULTS[:2]) + json.dumps(RESULTS[2] | {"commit": "new"}) + "\n")
    _stamp_commit(results, "old")  # the rows measured before this run get the earlier run's commit
    stamped = [json.loads(line) for line in results.read_text().splitlines()]
    assert [r["commit"] for r in stamped] == ["old", "old", "new"]
    env = {"versions": {"torch": "x"}, "commit": "new", "python": "3", "cpu": "cpu"}
    assert "archcalc as of commits old (2 models), new (1 model)" in markdown(stamped, env)
    assert "archcalc as of commit new (" in markdown(RESULTS, env)  # rows from before per-row commits
    assert [r["commit"] for r in csv.DictReader(io.StringIO(csv_text(stamped)))] == ["old", "old", "new"]


def _prints(text: str) -> None:
    print(text)


def _sleeps() -> None:
    import time

    time.sleep(60)


def _raises() -> None:
    raise ValueError("broken model")


def test_fork_call_runs_a_function_in_its_own_process():
    import os
    import resource

    # The child starts with this test worker's pages (torch and all): its cap is above what it inherits.
    cap = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024 + 1024
    run = fork_call(_prints, (f"from {os.getpid()}",), 60, cap)
    assert run.ok and run.stdout.strip() == f"from {os.getpid()}"
    failed = fork_call(_raises, (), 60, cap)
    assert failed.code == 1 and "ValueError: broken model" in failed.stderr
    slow = fork_call(_sleeps, (), 1, cap)
    assert slow.killed.startswith("time limit") and slow.wall < 30


def test_memory_column_is_what_the_import_added():
    assert added_mib({"import_rss_mib": 950, "baseline_rss_mib": 800}) == 150
    assert added_mib({"import_rss_mib": 950}) is None


def test_the_torch_peer_runs_on_the_cpu_model_as_the_torch_convention_describes(tmp_path):
    """FlopCounterMode on the CPU model under no_grad: nn.MultiheadAttention takes its native path, which it does
    not count (archcalc/conventions/torch_rules.py). On the meta device the math path would run and count every
    product, which is not what people measure, nor what `--convention torch` predicts."""
    from benchmarks.real_models.peers import measure as peer_measure

    factory = tmp_path / "attention.py"
    factory.write_text("import torch\n\nclass Model(torch.nn.Module):\n    def __init__(self):\n        super().__init__()\n"
                       "        self.attn = torch.nn.MultiheadAttention(16, 4, batch_first=True)\n"
                       "        self.fc = torch.nn.Linear(16, 3)\n\n    def forward(self, x):\n"
                       "        return self.fc(self.attn(x, x, x, need_weights=False)[0])\n\n\n"
                       "def build():\n    return Model()\n")  # fmt: skip
    out = peer_measure(str(factory), (6, 16), 0, fvcore=False)
    assert out["torch_device"] == "cpu"
    assert out["torch"] == 2 * 6 * 16 * 3  # the Linear only: the attention's native path counts nothing
