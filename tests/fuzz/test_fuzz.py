"""Every malformed spec either loads or fails cleanly: exit 2, one short line naming file, line and layer.

The saved corpus (tests/fuzz/corpus/, made by generate_corpus.py from the built-in specs) runs in
full, in-process through the CLI entry point; a fresh sample is generated from whatever specs exist
at test time, so specs added later are fuzzed too.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.fuzz import generate_corpus
import pytest
from typer.testing import CliRunner

import archcalc.cli

CORPUS = Path(__file__).resolve().parent / "corpus"
MANIFEST = json.loads((CORPUS / "MANIFEST.json").read_text(encoding="utf-8"))
MAX_MESSAGE = 800  # a line of text, not a dump of the input
# Messages where no line applies: the document as a whole is empty.
NO_LINE = ("the document is empty",)
# Refused while reading the YAML, before layers exist: no layer path to name.
BEFORE_LAYERS = ("duplicate key", "--max-yaml-nesting")


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
        assert " layer " in message or any(text in message for text in BEFORE_LAYERS), f"no layer path: {message}"
    return 2


@pytest.mark.parametrize("case", MANIFEST, ids=[case["file"] for case in MANIFEST])
def test_saved_corpus(case: dict) -> None:
    judge(CORPUS / case["file"], case["in_layer"])


def test_corpus_is_big_and_varied() -> None:
    assert len(MANIFEST) >= 1000
    kinds = {case["kind"] for case in MANIFEST}
    assert set(generate_corpus.DATA_MUTATIONS) | set(generate_corpus.TEXT_MUTATIONS) <= kinds
    assert "nested_repeat" in kinds
    for case in MANIFEST:
        assert (CORPUS / case["file"]).is_file(), case["file"]


def test_fresh_sample_from_current_specs(tmp_path: Path) -> None:
    """Specs added after the corpus was saved get fuzzed too (a few cases each, new seed)."""
    cases = generate_corpus.generate(per_spec=6, seed=20240601)
    assert {case["spec"] for case in cases} >= {"vgg16", "alexnet_original"}
    generate_corpus.write(cases, tmp_path)
    codes = [judge(tmp_path / case["file"], case["in_layer"]) for case in cases]
    assert 2 in codes
