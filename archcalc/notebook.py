"""pandas views for notebooks: a report per layer or per block, a sweep, a comparison, as DataFrames.

    from archcalc import analyse, load_spec
    report = analyse(load_spec("resnet50"))
    report.to_frame()                # one row per layer
    report.to_frame(depth=2)         # one row per block at depth 2 (the rows partition the layers)
    report                           # in Jupyter: a table of the summary and the blocks (_repr_html_)

This is the only module that imports pandas, and only the `to_frame` methods load it: the report
path (`archcalc report`, `analyse`, every renderer) never does. Counts stay exact: int64 columns (an
integer beyond int64, a giant spec's FLOPs, keeps Python ints in an object column); shapes and
receptive fields are tuples, ready for filtering.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas

    from archcalc.analysis.compare import Comparison
    from archcalc.analysis.results import Report
    from archcalc.analysis.sweep import Sweep

LAYER_COUNTS = ("params", "trainable_params", "non_trainable_params", "buffers", "macs", "flops", "connections",
                "activations")  # fmt: skip


def _frame(records: list[dict], columns: list[str]) -> "pandas.DataFrame":
    import pandas

    frame = pandas.DataFrame.from_records(records, columns=columns)
    for column in columns:
        values = frame[column]
        if values.map(lambda v: isinstance(v, int) and not isinstance(v, bool) and -2**63 <= v < 2**63).all():
            frame[column] = values.astype("int64")
    return frame


def layers_frame(report: "Report") -> "pandas.DataFrame":
    """One row per layer, in topological order, with the shares of params and MACs and the hyper-parameters."""
    from archcalc.render.units import hyper_text

    t = report.totals
    records = []
    for layer in report.layers:
        record: dict[str, Any] = {"name": layer.name, "type": layer.type, "category": layer.category,
                                  "inputs": tuple(layer.inputs), "output_shape": tuple(layer.output_shape)}  # fmt: skip
        record.update({key: getattr(layer, key) for key in LAYER_COUNTS})
        record.update(params_share=layer.params / t.params if t.params else 0.0,
                      macs_share=layer.macs / t.macs if t.macs else 0.0,
                      receptive_field=tuple(layer.receptive_field) if layer.receptive_field else None,
                      effective_stride=tuple(layer.effective_stride) if layer.effective_stride else None,
                      hyper_parameters=hyper_text(layer.attributes))  # fmt: skip
        records.append(record)
    columns = ["name", "type", "category", "inputs", "output_shape", *LAYER_COUNTS, "params_share", "macs_share",
               "receptive_field", "effective_stride", "hyper_parameters"]  # fmt: skip
    return _frame(records, columns).set_index("name")


def blocks_frame(report: "Report", depth: int | str = "auto") -> "pandas.DataFrame":
    """One row per block at `depth` (or per layer above it): the partition `report --depth N --format csv` gives."""
    from archcalc.analysis.hierarchy import SUMMED, block_tree, leaves, resolve_depth, rows

    tree = block_tree(report)
    t = report.totals
    records = []
    for row in leaves(rows(tree, resolve_depth(tree, depth))):
        block = row.block
        record: dict[str, Any] = {"name": block.name, "kind": block.layer.type if block.is_layer else "block",
                                  "level": block.level, "layers": block.layer_count,
                                  "output_shape": tuple(block.output_shape)}  # fmt: skip
        record.update({key: getattr(block, key) for key in SUMMED})
        record.update(params_share=block.params / t.params if t.params else 0.0,
                      macs_share=block.macs / t.macs if t.macs else 0.0)
        records.append(record)
    columns = ["name", "kind", "level", "layers", "output_shape", *SUMMED, "params_share", "macs_share"]
    return _frame(records, columns).set_index("name")


def sweep_frame(sweep: "Sweep") -> "pandas.DataFrame":
    """One row per combination: the variables (named `set:NAME` where a metric has that name), then the totals."""
    from archcalc.render.sweep import columns_of, variable_headers

    metrics = list(columns_of(sweep))  # the totals, depth, final RF, and a decoder's LLM figures
    names = variable_headers(sweep, metrics)
    records = []
    for point in sweep.points:
        record = {header: point.values[name] for header, name in zip(names, sweep.variables)}
        record.update({key: point.totals[key] for key in metrics})
        record["receptive_field"] = tuple(record["receptive_field"]) if record["receptive_field"] else None
        records.append(record)
    return _frame(records, names + metrics)


def compare_frame(comparison: "Comparison") -> "pandas.DataFrame":
    """One row per compared spec (indexed by its label): every total, and its ratio to the first spec."""
    records = []
    for index, entry in enumerate(comparison.entries):
        record: dict[str, Any] = {"label": entry.label, "spec": entry.spec, "name": entry.report.name}
        for row in comparison.rows:
            record[row.key] = row.values[index]
        for row in comparison.rows:
            ratio = row.ratios[index] if index else None
            record[f"{row.key}_ratio"] = float(ratio) if ratio is not None else (1.0 if index == 0 else None)
        records.append(record)
    keys = [row.key for row in comparison.rows]
    return _frame(records, ["label", "spec", "name", *keys, *(f"{key}_ratio" for key in keys)]).set_index("label")


def report_html(report: "Report") -> str:
    """Jupyter's view of a Report: the summary and the blocks at the default depth, as static HTML tables."""
    import re
    from html import escape

    from archcalc.render.html import _pairs_table, _tree_section
    from archcalc.render.summary import summary_rows

    # No script runs in a notebook cell: only the rows open at the default depth, without their buttons.
    rows = [line for line in _tree_section(report, None) if not line.startswith("<p") and '" hidden><td' not in line]
    tree = re.sub(r'<button class="toggle"[^>]*>.</button>', "", "\n".join(rows))
    return (f"<div><strong>{escape(report.name)}</strong> ({len(report.layers)} layers)"
            f"{_pairs_table(summary_rows(report))}{tree}</div>")  # fmt: skip


__all__ = ["blocks_frame", "compare_frame", "layers_frame", "report_html", "sweep_frame"]
