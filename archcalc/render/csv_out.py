"""CSV: one row per layer, exact integers; shapes and pairs as '224x224', inputs ';'-separated.

With `--train`, two more columns: backward_macs and backward_flops; with `--convention`, the
convention's count of each layer (`convention_count`). There is no totals row
(summing a column gives the total); it would be counted twice by anyone who
sums the columns in pandas or a spreadsheet.
"""

from __future__ import annotations

import csv
import io

from archcalc.analysis.results import Report
from archcalc.escape import csv_cell
from archcalc.render.units import shape_text

BLOCK_COLUMNS = ("name", "kind", "level", "layers", "output_shape", "params", "trainable_params",
                 "non_trainable_params", "buffers", "macs", "flops", "connections", "activations")  # fmt: skip

COLUMNS = ("name", "type", "inputs", "output_shape", "params", "trainable_params", "non_trainable_params",
           "buffers", "macs", "flops", "connections", "activations", "receptive_field", "effective_stride",
           "effective_padding", "rf_aligned")  # fmt: skip


def _cell(value) -> object:
    if isinstance(value, list):
        return csv_cell(";".join(value)) if value and isinstance(value[0], str) else shape_text(value)
    if value is None:
        return ""
    return csv_cell(value)


def render_blocks_csv(report: Report, depth: int | str) -> str:
    """`--depth N`: one row per block at depth N, or per layer above it (kind: `block` or the layer type).

    The rows partition the layers, so every column still sums to the total; `level` and the dotted
    name give the tree (the expanded blocks above depth N are not rows: they would be counted twice).
    """
    from archcalc.analysis.hierarchy import block_tree, leaves, resolve_depth, rows

    tree = block_tree(report)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(BLOCK_COLUMNS)
    for row in leaves(rows(tree, resolve_depth(tree, depth))):
        block = row.block
        kind = block.layer.type if block.is_layer else "block"
        writer.writerow([csv_cell(block.name), kind, block.level, block.layer_count, shape_text(block.output_shape)]
                        + [getattr(block, key) for key in BLOCK_COLUMNS[5:]])  # fmt: skip
    return buffer.getvalue()


def render_csv(report: Report, depth: int | str | None = None) -> str:
    if depth is not None:
        return render_blocks_csv(report, depth)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    backward = {}
    if report.training is not None:
        from archcalc.render.training import backward_by_layer

        backward = backward_by_layer(report.training)
    counts = report.convention.layers if report.convention is not None else None
    writer.writerow(COLUMNS + (("backward_macs", "backward_flops") if backward else ())
                    + (("convention_count",) if counts is not None else ()))  # fmt: skip
    for position, layer in enumerate(report.layers):
        writer.writerow([_cell(getattr(layer, column)) for column in COLUMNS] + list(backward.get(layer.name, ()))
                        + ([counts[position]] if counts is not None else []))  # fmt: skip
    return buffer.getvalue()
