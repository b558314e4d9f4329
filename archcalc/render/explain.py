"""`archcalc explain` output: each formula with the numbers filled in, as text, markdown or JSON."""

from __future__ import annotations

import json
from pathlib import Path

from archcalc.analysis.block_explain import BLOCK_INPUT, BlockExplanation, unit_label
from archcalc.analysis.explain import LayerExplanation, TotalsExplanation
from archcalc.layers.formula import Formula
from archcalc.render import dispatch
from archcalc.render.units import exact, human, pair_text, shape_text, share



def _where(layer: LayerExplanation) -> str:
    """`alexnet_original.yaml:21`: the file's name only, so that the text is the same on every machine."""
    if layer.file is None:
        return ""
    return Path(layer.file).name + (f":{layer.line}" if layer.line is not None else "")


def _inputs_text(layer: LayerExplanation) -> str:
    return ", ".join(f"{name} [{shape_text(shape)}]" for name, shape in zip(layer.inputs, layer.input_shapes))


def _sections(layer: LayerExplanation) -> list[tuple[str, list[Formula], str]]:
    per = "per sample" if layer.batch == 1 else f"batch N = {layer.batch}; params and connections per sample"
    return [
        ("shape", layer.shape, ""),
        (f"counts ({per})", layer.counts, ""),
        ("receptive field (Araujo et al.: size r, stride j, padding P)", layer.receptive_field, layer.rf_note),
    ]


# ----- text ---------------------------------------------------------------------------------------
def _formula_lines(formulas: list[Formula], indent: str = "  ") -> list[str]:
    lines = []
    for formula in formulas:
        line = indent + formula.line()
        if formula.note and len(line) + len(formula.note) < 120:
            lines.append(f"{line}    ({formula.note})")
            continue
        lines.append(line)
        if formula.note:
            lines.append(indent + "    " + formula.note)
    return lines


TOP_DOWN_TITLE = "receptive field top down (the notes' derivation)"
TOP_DOWN_RULE = ("one output position of {top}, measured at each layer's input (layers that keep it left out):\n"
                 "  r = s × (r' − 1) + d × (k − 1) + 1 from r' = 1")  # fmt: skip


def top_down_steps(layer: LayerExplanation) -> list[tuple[str, str]]:
    """(layer, field) where the field grows: VGG16's conv5_3 gives 3, 5, 7, 14 (pool4), ..., 196."""
    steps, previous = [], None
    for name, size in layer.top_down:
        if size != previous:
            steps.append((name, pair_text(list(size))))
        previous = size
    return steps


def layer_text(layer: LayerExplanation) -> str:
    head = f"{layer.name}  {layer.type}: {layer.summary}"
    lines = [head + (f"  ({_where(layer)})" if _where(layer) else ""),
             f"inputs: {_inputs_text(layer)}", f"output: {shape_text(layer.output_shape)}"]  # fmt: skip
    for title, formulas, note in _sections(layer):
        lines += ["", title]
        lines += _formula_lines(formulas)
        if note:
            lines.append("  " + note)
    if layer.top_down:
        lines += ["", TOP_DOWN_TITLE, "  " + TOP_DOWN_RULE.format(top=layer.name)]
        steps = top_down_steps(layer)
        width = max(len(size) for _, size in steps)
        lines += [f"  {size:>{width}}  {name}" for name, size in steps]
    elif layer.top_down_note:
        lines += ["", TOP_DOWN_TITLE, "  " + layer.top_down_note]
    return "\n".join(lines) + "\n"


def totals_text(totals: TotalsExplanation) -> str:
    report = totals.report
    lines = [f"{report.name}: {len(report.layers)} layers, input {shape_text(report.input_shape)}, "
             f"batch {report.batch}", "", "totals"]  # fmt: skip
    lines += _formula_lines(totals.formulas)
    lines.append(f"  depth = {report.depth}    (layers with weights on the longest path)")
    if totals.final_layer is not None:
        lines += ["", f"final receptive field ({totals.final_layer.name})"]
        lines += _formula_lines(totals.final_layer.receptive_field)
    for title, layers, key, total in (("heaviest layers by MACs", totals.heaviest_by_macs, "MACs", report.totals.macs),
                                      ("heaviest layers by params", totals.heaviest_by_params, "params",
                                       report.totals.params)):  # fmt: skip
        lines += ["", title]
        for layer in layers:
            formula = next(f for f in layer.counts if f.name == key)
            lines.append(f"  {layer.name} ({layer.type}, {share(formula.value, total)} of the total)")
            lines.append("    " + formula.line())
    lines += ["", "archcalc explain SPEC LAYER shows every formula of one layer."]
    return "\n".join(lines) + "\n"


def _links_text(block: BlockExplanation) -> list[str]:
    """`denselayer.3 receives 4: block input, denselayer.0 … denselayer.2` (consecutive units as a range)."""
    shown = block.links if len(block.links) <= 12 else block.links[:5] + block.links[-3:]
    lines = []
    for link in shown:
        named = [source if source == BLOCK_INPUT else unit_label(block.block, source) for source in link.sources]
        units = named[1:] if named[:1] == [BLOCK_INPUT] else named
        if len(units) > 3:
            named = named[: len(named) - len(units)] + [f"{units[0]} … {units[-1]}"]
        lines.append(f"{unit_label(block.block, link.unit)} receives {len(link.sources)}: {', '.join(named)}")
    return lines


def block_text(block: BlockExplanation) -> str:
    b = block.block
    lines = [f"{b.name}: a block of {b.layer_count} layers in {len(block.units)} units, output "
             f"{shape_text(b.output_shape)}", "", "subtotals (per sample)" if block.report.batch == 1 else "subtotals"]  # fmt: skip
    lines += _formula_lines(block.formulas)
    lines += ["", "connectivity (maps reaching each unit's input unchanged, through concatenations)"]
    lines += ["  " + line for line in _links_text(block)]
    if len(block.links) > 12:
        lines.append(f"  ... ({len(block.links)} units)")
    return "\n".join(lines) + "\n"


def block_markdown(block: BlockExplanation) -> str:
    b = block.block
    lines = [f"# `{b.name}`: block of {b.layer_count} layers in {len(block.units)} units", "",
             f"Output {shape_text(b.output_shape)}.", "", "## Subtotals", ""]  # fmt: skip
    lines += _formula_table(block.formulas) + ["", "## Connectivity", "",
                                               "Maps reaching each unit's input unchanged (through concatenations).",
                                               ""] + [f"- {line}" for line in _links_text(block)]  # fmt: skip
    return "\n".join(lines) + "\n"


def block_dict(block: BlockExplanation) -> dict:
    return {"block": block.block.name, "layers": block.block.layer_count, "units": [u.name for u in block.units],
            "output_shape": block.block.output_shape, "subtotals": _formula_dicts(block.formulas),
            "links": [{"unit": link.unit, "sources": link.sources} for link in block.links], "dense": block.dense}


# ----- markdown -----------------------------------------------------------------------------------
def _formula_table(formulas: list[Formula]) -> list[str]:
    rows = ["| quantity | formula | with the numbers | value | note |", "|---|---|---|---:|---|"]
    for f in formulas:
        rows.append(f"| {f.name} | `{f.symbolic}` | `{f.numeric}` | {exact(f.value)} | {f.note} |")
    return rows


def layer_markdown(layer: LayerExplanation) -> str:
    lines = [f"# `{layer.name}` ({layer.type})", "", layer.summary + ".", ""]
    if _where(layer):
        lines += [f"Declared at `{_where(layer)}`.", ""]
    lines += [f"Inputs: {_inputs_text(layer)}. Output: {shape_text(layer.output_shape)}.", ""]
    for title, formulas, note in _sections(layer):
        lines += [f"## {title[0].upper() + title[1:]}", ""]
        if formulas:
            lines += _formula_table(formulas) + [""]
        if note:
            lines += [note[0].upper() + note[1:] + ".", ""]
    if layer.top_down:
        lines += [f"## {TOP_DOWN_TITLE[0].upper() + TOP_DOWN_TITLE[1:]}", "",
                  TOP_DOWN_RULE.format(top=f"`{layer.name}`")[0].upper() + TOP_DOWN_RULE.format(top=f"`{layer.name}`")[1:] + ".", "",
                  "| layer | field |", "|---|---:|"] + [f"| `{name}` | {size} |" for name, size in top_down_steps(layer)]
        lines.append("")
    elif layer.top_down_note:
        lines += [f"## {TOP_DOWN_TITLE[0].upper() + TOP_DOWN_TITLE[1:]}", "", layer.top_down_note + ".", ""]
    return "\n".join(lines)


def totals_markdown(totals: TotalsExplanation) -> str:
    report = totals.report
    lines = [f"# {report.name}: where the totals come from", "",
             f"{len(report.layers)} layers, input {shape_text(report.input_shape)}, batch {report.batch}, "
             f"depth {report.depth}.", "", "## Totals", ""]  # fmt: skip
    lines += _formula_table(totals.formulas) + [""]
    if totals.final_layer is not None:
        rf = pair_text(report.layer(totals.final_layer.name).receptive_field)
        lines += [f"## Final receptive field: {rf} (`{totals.final_layer.name}`)", ""]
        lines += _formula_table(totals.final_layer.receptive_field) + [""]
    for title, layers, key, total in (("MACs", totals.heaviest_by_macs, "MACs", report.totals.macs),
                                      ("params", totals.heaviest_by_params, "params", report.totals.params)):
        lines += [f"## Heaviest layers by {title}", "", "| layer | type | formula | value | share |",
                  "|---|---|---|---:|---:|"]  # fmt: skip
        for layer in layers:
            formula = next(f for f in layer.counts if f.name == key)
            lines.append(f"| `{layer.name}` | {layer.type} | `{formula.numeric}` | {exact(formula.value)} "
                         f"({human(formula.value)}) | {share(formula.value, total)} |")  # fmt: skip
        lines.append("")
    return "\n".join(lines)


# ----- JSON ---------------------------------------------------------------------------------------
def _formula_dicts(formulas: list[Formula]) -> list[dict]:
    return [{"name": f.name, "formula": f.symbolic, "numbers": f.numeric, "value": f.value, "note": f.note}
            for f in formulas]  # fmt: skip


def layer_dict(layer: LayerExplanation) -> dict:
    return {
        "name": layer.name, "type": layer.type, "inputs": layer.inputs, "input_shapes": layer.input_shapes,
        "output_shape": layer.output_shape, "batch": layer.batch, "shape": _formula_dicts(layer.shape),
        "counts": _formula_dicts(layer.counts), "receptive_field": _formula_dicts(layer.receptive_field),
        "receptive_field_note": layer.rf_note,
        "top_down": [{"layer": name, "field": list(size)} for name, size in layer.top_down],
        "top_down_note": layer.top_down_note,
    }  # fmt: skip


def totals_dict(totals: TotalsExplanation) -> dict:
    return {
        "name": totals.report.name, "batch": totals.report.batch, "depth": totals.report.depth,
        "totals": _formula_dicts(totals.formulas),
        "final_receptive_field": layer_dict(totals.final_layer) if totals.final_layer else None,
        "heaviest_by_macs": [layer_dict(layer) for layer in totals.heaviest_by_macs],
        "heaviest_by_params": [layer_dict(layer) for layer in totals.heaviest_by_params],
    }  # fmt: skip


_RENDERERS = {
    "layer": {"text": layer_text, "markdown": layer_markdown, "json": lambda item: _json(layer_dict(item))},
    "totals": {"text": totals_text, "markdown": totals_markdown, "json": lambda item: _json(totals_dict(item))},
    "block": {"text": block_text, "markdown": block_markdown, "json": lambda item: _json(block_dict(item))},
}


def _json(data: dict) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def render_explanation(item: LayerExplanation | TotalsExplanation | BlockExplanation, fmt: str) -> str:
    """A layer's explanation, a block's, or the totals' (`explain SPEC` without a layer)."""
    kind = "layer" if isinstance(item, LayerExplanation) else "block" if isinstance(item, BlockExplanation) else "totals"
    return dispatch(fmt, item, _RENDERERS[kind])
