"""docs/llm.md cannot go stale: its generated table is the tool's LLM section (`pytest --update-goldens`
rewrites it), every figure in its prose is one the tool prints, and its Python example runs."""

from __future__ import annotations

import re

from archcalc import analyse, load_spec
from archcalc.analysis import TrainingPlan
from archcalc.render.llm import llm_rows
from archcalc.render.markdown import render_markdown
from archcalc.render.summary import summary_rows
from tests.conftest import ROOT

DOC = ROOT / "docs" / "llm.md"
BEGIN = re.compile(r"(<!-- generated: [^\n]*-->\n)(.*?)(<!-- end generated -->)", re.S)
# The worked examples whose figures the prose quotes: (spec, overrides), all float16 with --tokens 2T.
EXAMPLES = [("llama2_7b", None), ("llama2_7b", {"seq_len": 512}), ("llama3_8b", None), ("gpt2_small", None)]
FIGURE = re.compile(r"(?<![\d,])[-+]?\d{1,3}(?:,\d{3})+(?!\d)|[-+]?\d+\.\d+%")


def worked(spec: str, overrides: dict | None):
    return analyse(load_spec(spec, overrides), dtype="float16", training=TrainingPlan(tokens=2 * 10**12))


def llm_section_markdown() -> str:
    """The LLM section of `archcalc report llama2_7b --dtype float16 --train --tokens 2T --format markdown`."""
    text = render_markdown(worked("llama2_7b", None))
    section = text.split("## LLM\n\n", 1)[1].split("\n## ", 1)[0]
    return section.rstrip("\n") + "\n"


def test_the_generated_table_is_the_tools_output(update_goldens):
    doc = DOC.read_text(encoding="utf-8")
    match = BEGIN.search(doc)
    assert match, "docs/llm.md lost its generated block"
    fresh = llm_section_markdown()
    if update_goldens:
        doc = doc[: match.start(2)] + fresh + doc[match.end(2) :]
        DOC.write_text(doc, encoding="utf-8")
    assert match.group(2) == fresh or update_goldens, "docs/llm.md is stale: pytest --update-goldens"


def test_every_figure_in_the_prose_is_printed_by_the_tool():
    printed = []
    for spec, overrides in EXAMPLES:
        report = worked(spec, overrides)
        printed += [" ".join(row) for row in llm_rows(report.llm) + summary_rows(report)]
    text = "\n".join(printed)
    prose = BEGIN.sub("", DOC.read_text(encoding="utf-8"))
    figures = FIGURE.findall(prose)
    assert len(figures) > 30  # the doc quotes figures; none of them may be made up
    missing = sorted({figure for figure in figures if figure not in text})
    assert not missing, f"docs/llm.md quotes figures the tool does not print: {missing}"


def test_the_python_example_runs():
    code = re.search(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S).group(1)
    printed: list = []
    exec(compile(code, "docs/llm.md", "exec"), {"print": lambda *values: printed.append(values)})
    kv, decode, per_token, off = printed[0]
    assert (kv, decode, per_token) == (524_288, 15_372_861_184, 46_121_470_720) and off < 0
