"""Every malformed spec either loads or fails cleanly: exit 2, one short line naming file, line and layer;
never exit 3, never a traceback.

The corpus is generated at test time from a fixed seed (generate_corpus.py mutates every spec under
specs/), about CASES cases in all, one test per spec; `make fuzz-long` (ARCHCALC_FUZZ_CASES) asks for
many more. tests/fuzz/regressions/ keeps, by name, the generated inputs that once found a bug (found by
running the first saved corpus against the code before the hostile-input work); they run every time.
With ARCHCALC_FUZZ_TALLY=FILE each case appends a line (spec, kind, exit code, seconds) to FILE.
"""

from __future__ import annotations

import json
import os
import random
import re
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

import archcalc.cli
from tests.fuzz import generate_corpus

REGRESSIONS = Path(__file__).resolve().parent / "regressions"
# name -> (the damage sits in a layer, what the input once did)
REGRESSION_CASES = {
    "huge_repeat_ran_away.yaml": (True, "repeat 1,000,000 of a conv built every layer before refusing"),
    "nested_repeat_ran_away.yaml": (True, "repeat 2,000 of repeat 2,000 built 4 million layers"),
    "bad_size_overflow_exit_3.yaml": (True, "out_channels 2**63 raised OverflowError: exit 3"),
    "control_character_without_line.yaml": (False, "a BEL byte: the error had no line"),
    "nul_byte_without_line.yaml": (False, "a NUL byte: the error had no line"),
    "unknown_input_without_layer.yaml": (True, "inputs: '.': the error named no layer"),
    "deep_nesting_without_line.yaml": (True, "70 nested groups: 'nests too deeply' had no line"),
    "dropped_reference_loop_without_line.yaml": (False, "a loop through dropped layers had no line"),
    "truncated_to_text_without_line.yaml": (False, "a file cut to a bare word: no line"),
}  # fmt: skip
MAX_MESSAGE = 800  # a line of text, not a dump of the input
NO_LINE = ("the document is empty",)  # the document as a whole: no line applies
BEFORE_LAYERS = ("duplicate key", "--max-yaml-nesting")  # refused while reading the YAML: no layer yet
BESIDE_LAYERS = ("the spec's outputs:",)  # a top-level key names no layer: the message names the key
TOTAL = int(os.environ.get("ARCHCALC_FUZZ_CASES", generate_corpus.CASES))


def judge(path: Path, in_layer: bool) -> int:
    """Run `report PATH --format json`; check the outcome against the error contract; return the code."""
    result = CliRunner().invoke(archcalc.cli.app, ["report", str(path), "--format", "json"])
    stderr = result.stderr
    assert "Traceback" not in result.output + stderr, stderr
    assert result.exit_code in (0, 2), f"exit {result.exit_code}: {stderr}"
    if result.exit_code == 0:
        report = json.loads(result.stdout)
        assert report["layers"], "a spec that loads has layers"
        return 0
    assert result.stdout == "", "nothing on stdout when the input is bad"
    message = stderr.rstrip("\n")
    assert "\n" not in message and 0 < len(message) <= MAX_MESSAGE, repr(stderr)
    prefix = f"archcalc: error: {path}"
    assert message.startswith(prefix), message
    if not any(text in message for text in NO_LINE):
        assert re.match(r":\d+: ", message[len(prefix) :]), f"no line number: {message}"
    if in_layer:
        assert " layer " in message or any(text in message for text in BEFORE_LAYERS + BESIDE_LAYERS), \
            f"no layer path: {message}"
    return 2


@pytest.mark.parametrize("name", sorted(REGRESSION_CASES))
def test_regressions(name: str) -> None:
    assert judge(REGRESSIONS / name, REGRESSION_CASES[name][0]) == 2


def test_every_regression_file_is_listed() -> None:
    assert sorted(path.name for path in REGRESSIONS.iterdir()) == sorted(REGRESSION_CASES)


SPECS = generate_corpus.spec_files()


@pytest.mark.parametrize("spec", SPECS, ids=[p.relative_to(generate_corpus.SPECS).as_posix() for p in SPECS])
def test_generated_corpus(spec: Path, tmp_path: Path) -> None:
    """This spec's share of the corpus, generated from the fixed seed as generate_corpus.generate does."""
    relative = spec.relative_to(generate_corpus.SPECS).as_posix()
    rng = random.Random(f"{generate_corpus.SEED}:{relative}")
    cases = generate_corpus.cases_for(spec, generate_corpus.per_spec(TOTAL), rng)
    tally = os.environ.get("ARCHCALC_FUZZ_TALLY")
    codes = []
    for number, case in enumerate(cases):
        path = tmp_path / f"{number:04d}-{case['kind']}.yaml"
        path.write_bytes(case["data"])
        start = time.perf_counter()
        codes.append(judge(path, case["in_layer"]))
        if tally:
            with open(tally, "a", encoding="utf-8") as handle:
                handle.write(json.dumps({"spec": relative, "kind": case["kind"], "code": codes[-1],
                                         "seconds": round(time.perf_counter() - start, 4)}) + "\n")  # fmt: skip
    assert 2 in codes


def test_the_generated_corpus_covers_every_mutation() -> None:
    """The same coverage as the saved corpus had: every mutation kind, nested repeats too."""
    kinds: set[str] = set()
    for spec in SPECS:
        relative = spec.relative_to(generate_corpus.SPECS).as_posix()
        rng = random.Random(f"{generate_corpus.SEED}:{relative}")
        cases = generate_corpus.cases_for(spec, generate_corpus.per_spec(TOTAL), rng)
        kinds |= {case["kind"] for case in cases}
    assert len(SPECS) * generate_corpus.per_spec(TOTAL) >= 1000
    assert set(generate_corpus.DATA_MUTATIONS) | set(generate_corpus.TEXT_MUTATIONS) | {"nested_repeat"} <= kinds
