"""Data-dependent forwards (detectors): one line saying which call made the sizes depend on the values
(archcalc/importer/data_dependent.py; tests/models/data_dependent.py has the modules)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from archcalc import ArchcalcError
from archcalc.cli import app
from archcalc.importer import import_model
from tests.cli_errors import assert_one_line_error
from tests.models import data_dependent

runner = CliRunner()


def test_an_output_sized_by_the_data_names_the_call_that_made_it_so():
    with pytest.raises(ArchcalcError, match=r"depends on its input's values.*torch\.where at module the top-level"
                                            r"|depends on its input's values.*torch\.where at the top-level"):
        import_model(data_dependent.ThresholdThenFactory, (3, 4, 4))


def test_the_cli_says_it_in_one_line_with_exit_2():
    result = runner.invoke(app, ["report", "--module", "tests/models/data_dependent.py:ThresholdThenFactory",
                                 "--input", "3x4x4"])  # fmt: skip
    assert_one_line_error(result, "no fixed graph to analyse")
    assert "model.backbone" in result.output


def test_a_boolean_mask_is_imported_with_a_note_naming_it():
    result = import_model(data_dependent.MaskedSelection, (4,))
    notes = [note for note in result.notes if "depend on the values" in note]
    assert len(notes) == 1 and "getitem" in notes[0]


def test_an_elementwise_where_is_not_data_dependent():
    result = import_model(data_dependent.Fixed, (4,))
    assert not any("depend on the values" in note for note in result.notes)
