"""Every registered layer type meets every obligation of tests/layer_conformance.py; an incomplete new
type fails with the checklist; docs/architecture.md lists the same obligations."""

from __future__ import annotations

import pytest

from archcalc.layers import REGISTRY, LayerType, numel
from tests.conftest import ROOT
from tests.layer_conformance import OBLIGATIONS, checklist, unmet
from tests.test_layer_rules import Case


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_layer_type_meets_its_obligations(name):
    missing = unmet(REGISTRY[name])
    assert not missing, checklist(name, missing)


class HalfDone(LayerType):
    """A new layer type with only its rules written: no builder, no import, no tests, no words."""

    name = "half_done"
    summary = "squares every element"
    category = "activation"

    def flops(self, a, ins, out) -> int:
        return numel(out)

    def connections(self, a, ins, out) -> int:
        return numel(out)


TEXTS = [text for text, _ in OBLIGATIONS]


def test_an_incomplete_layer_type_fails_with_the_checklist(monkeypatch):
    monkeypatch.setitem(REGISTRY, HalfDone.name, HalfDone())
    # Without a case against torch, nothing that needs an example counts as met.
    assert unmet(REGISTRY["half_done"]) == TEXTS[1:]
    # With one, the checks show what else is missing: words, explanations, builder, import, conventions.
    case = Case("half-done", {"type": "half_done"}, (2, 3), None)
    missing = unmet(REGISTRY["half_done"], [case])
    assert missing == [TEXTS[i] for i in (1, 3, 4, 5, 6, 7, 10)]
    message = checklist("half_done", missing)
    assert message.startswith("layer type 'half_done' is incomplete; a layer type owes:")
    assert "  [ ] a torch builder (`build_torch`) computing the same thing" in message
    assert "  [x] a name, a one-line summary and a category from CATEGORIES" in message
    with pytest.raises(AssertionError, match="is incomplete"):
        test_every_layer_type_meets_its_obligations("half_done")


def test_the_architecture_doc_gives_the_checklist():
    doc = (ROOT / "docs" / "architecture.md").read_text()
    for text, _ in OBLIGATIONS:
        assert f"- {text}" in doc, text
