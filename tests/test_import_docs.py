"""docs/import.md stays true: its mapping table is generated from the registry, its examples run."""

from __future__ import annotations

import re

from archcalc.importer.reference import BEGIN, END, import_table_markdown
from tests.conftest import ROOT

DOC = ROOT / "docs" / "import.md"


def test_mapping_table_is_current(update_goldens):
    text = DOC.read_text()
    start, end = text.index(BEGIN), text.index(END) + len(END)
    if update_goldens:
        text = text[:start] + import_table_markdown() + text[end:]
        DOC.write_text(text)
    assert text[start : text.index(END) + len(END)] == import_table_markdown(), "pytest --update-goldens"


def test_python_examples_print_what_they_say():
    for code in re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S):
        expected = re.findall(r"print\(.*\)\s*#\s*(.+)$", code, re.M)
        printed: list[str] = []
        exec(compile(code, "import.md", "exec"), {"print": lambda *values: printed.append(" ".join(map(str, values)))})
        assert [p.replace(" ", "") for p in printed] == [e.replace(" ", "") for e in expected]
