"""Same input and options, byte-identical output, in every format, whatever the hash seed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.hostile_support import run

from archcalc.render import FORMATS

ROOT = Path(__file__).resolve().parents[1]
# Blocks, variables, groups and merges: the specs with the most ways to come out in another order.
SPECS = ("vgg16", "alexnet_original", "examples/stem_3x3x3", "examples/depthwise_separable")
CLI = "import sys; from archcalc.cli import main; sys.argv[0] = 'archcalc'; main()"


@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize("fmt", FORMATS)
def test_two_runs_in_one_process(spec: str, fmt: str) -> None:
    first, second = run("report", spec, "--format", fmt), run("report", spec, "--format", fmt)
    assert first.exit_code == 0 and first.stdout
    assert first.stdout == second.stdout


def test_hash_seeds_do_not_change_the_output(tmp_path: Path) -> None:
    outputs = {}
    for seed in ("0", "4242"):
        env = dict(os.environ, PYTHONHASHSEED=seed, COLUMNS="60")  # COLUMNS: the table has a fixed width
        for fmt in FORMATS:
            done = subprocess.run([sys.executable, "-c", CLI, "report", "alexnet_original", "--format", fmt],
                                  capture_output=True, env=env, cwd=tmp_path, check=True)  # fmt: skip
            outputs.setdefault(fmt, set()).add(done.stdout)
    assert all(len(variants) == 1 for variants in outputs.values()), {f: len(v) for f, v in outputs.items()}


def test_error_messages_are_deterministic(tmp_path: Path) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text("input: [3, 8, 8]\nlayers:\n  - {name: a, type: relu, inputs: b}\n"
                    "  - {name: b, type: relu, inputs: a}\n")  # fmt: skip
    messages = set()
    for seed in ("0", "7"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        done = subprocess.run([sys.executable, "-c", CLI, "report", str(spec)], capture_output=True, env=env)
        assert done.returncode == 2
        messages.add(done.stderr)
    assert len(messages) == 1 and b"inputs form a cycle" in messages.pop()
