"""Explanations: every number of a layer as its formula with the numbers filled in (`archcalc explain`).

The formulas come from each layer type's registry entry (`explain_shape`, `explain_counts`, see
archcalc/layers/formula.py); this module adds what is the same for every layer: the batch factor, the
activations, and the receptive-field step (analysis/receptive.py's rule with the layer's numbers).
Tests check that every value here equals the one `report` gives.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from archcalc.analysis import analyse
from archcalc.analysis.receptive import Field, merge_fields, receptive_fields, spatial_rank, top_down_chain
from archcalc.analysis.results import DTYPE_BYTES, Report
from archcalc.analysis.shapes import infer_shapes
from archcalc.errors import ArchcalcError, closest
from archcalc.graph import INPUT, Graph, Node
from archcalc.layers import Shape
from archcalc.layers.base import axis_names, elements, spatial_names
from archcalc.layers.formula import Expr, Formula, Group, Term

BATCH_SCALED = ("MACs", "FLOPs")
HEAVIEST = 5
FEW_LAYERS = 6


@dataclass
class LayerExplanation:
    name: str
    type: str
    summary: str
    inputs: list[str]
    input_shapes: list[list[int]]
    output_shape: list[int]
    batch: int
    shape: list[Formula]
    counts: list[Formula]  # definitions (K, ΣK) first, then params, buffers, MACs, FLOPs, connections, activations
    receptive_field: list[Formula] = field(default_factory=list)
    rf_note: str = ""
    file: str | None = None
    line: int | None = None
    # The notes' top-down derivation (explain_layer only): (layer, field at its input) down to the input,
    # or why there is none (a merge on the way).
    top_down: list[tuple[str, tuple[int, ...]]] = field(default_factory=list)
    top_down_note: str = ""

    def value(self, name: str) -> int:
        """The value of a named count; 0 for one the layer does not have (buffers)."""
        return next((f.value for f in self.counts if f.name == name), 0)


@dataclass
class TotalsExplanation:
    report: Report
    formulas: list[Formula]
    heaviest_by_macs: list[LayerExplanation]
    heaviest_by_params: list[LayerExplanation]
    final_layer: LayerExplanation | None


def _scaled(formula: Formula, batch: int, per_call: tuple[int, int] = (0, 0)) -> Formula:
    if batch == 1 or formula.name not in BATCH_SCALED or formula.value == 0:
        return formula
    once = dict(zip(BATCH_SCALED, per_call))[formula.name]
    if once:  # work done once per call, whatever the batch (LayerType.per_call)
        term = Term("once", once)
        return Formula(formula.name, Group(formula.expr - term) * Term("N", batch) + term,
                       (formula.note + "; " if formula.note else "") + "N: the batch; once: per call, not per sample")
    return Formula(formula.name, formula.expr * Term("N", batch), (formula.note + "; " if formula.note else "")
                   + "N: the batch")  # fmt: skip


def _rf_formulas(node: Node, ins: list[Shape], out: Shape, inputs: list[Field | None], own: Field | None,
                 rank: int) -> tuple[list[Formula], str]:  # fmt: skip
    """r = r_in + d×(k − 1)×j_in, j = j_in×s, P = P_in + p×j_in per spatial axis (all axes at once when equal)."""
    if own is None:
        if not rank:
            return [], "not defined: the input has no spatial axes"
        if len(out) != rank + 1:
            return [], f"not defined: the output is not a [{', '.join(axis_names(rank + 1))}] map"
        if any(f is None for f in inputs):
            return [], "not defined: an earlier layer ends the receptive field"
        if node.over:
            return [], (f"not defined: applied to each slice of {node.over} leading "
                        f"ax{'is' if node.over == 1 else 'es'} (windows or heads), not the input's spatial axes")
        return [], f"not defined: {node.type} has no single window geometry"
    step = node.rule.receptive_field(node.attrs, ins, out).for_rank(rank)  # type: ignore[union-attr]
    merged = merge_fields(inputs, ins, out)  # type: ignore[arg-type]
    note = ""
    if len(inputs) > 1:
        fields = "; ".join(f"{name} r {_axes_text(f.size)}, j {_axes_text(f.stride)}, P {_axes_text(f.padding)}"
                           for name, f in zip(node.inputs, inputs) if f is not None)  # fmt: skip
        note = f"inputs merge: r_in, j_in and P_in describe the union of their fields ({fields})"
    if not own.aligned:
        note += " (not aligned: the merged fields differ in stride or centre)"
    values = (step.kernel, step.stride, step.padding, step.dilation, merged.size, merged.stride, merged.padding)
    if all(len(set(axes)) == 1 for axes in values):
        axes = [(0, "")]
    else:
        axes = [(axis, "_" + name.lower()) for axis, name in enumerate(spatial_names(rank))]
    formulas = []
    for axis, suffix in axes:
        r_in, j_in, p_in = Term("r_in", merged.size[axis]), Term("j_in", merged.stride[axis]), \
            Term("P_in", merged.padding[axis])  # fmt: skip
        span: Expr = Group(Term("k", step.kernel[axis]) - 1)
        if step.dilation[axis] != 1:
            span = Term("d", step.dilation[axis]) * span
        stride, padding = step.stride[axis], step.padding[axis]
        formulas += [
            Formula(f"r{suffix}", r_in + span * j_in if step.kernel[axis] != 1 else r_in, "field size"),
            Formula(f"j{suffix}", j_in * Term("s", stride) if stride != 1 else j_in, "effective stride"),
            Formula(f"P{suffix}", p_in + Term("p", padding) * j_in if padding else p_in, "effective padding"),
        ]
    return formulas, note


def _axes_text(values: tuple[int, ...]) -> str:
    return str(values[0]) if len(set(values)) == 1 else "x".join(str(value) for value in values)


def explain_layers(graph: Graph, batch: int = 1) -> list[LayerExplanation]:
    """Every layer's explanation, in topological order (one pass: shapes and fields are computed once)."""
    shapes = infer_shapes(graph)
    fields = receptive_fields(graph, shapes)
    rank = spatial_rank(graph)
    out: list[LayerExplanation] = []
    for node in graph.nodes:
        ins = [shapes[name] for name in node.inputs]
        shape = shapes[node.name]
        rule = node.rule
        once = rule.per_call(node.attrs, ins, shape)
        counts = [_scaled(f, batch, once) for f in rule.explain_counts(node.attrs, ins, shape)]
        activations, note = elements(shape, "_out"), "output elements"
        scratch = rule.workspace(node.attrs, ins, shape)
        if scratch:  # the attention score matrix, kept as activation memory
            activations, note = activations + Term("scores", scratch), "output elements + the score matrix"
        counts.append(Formula("activations", activations * Term("N", batch) if batch != 1 else activations, note))
        rf, note = _rf_formulas(node, ins, shape, [fields[name] for name in node.inputs], fields[node.name], rank)
        out.append(LayerExplanation(
            name=node.name, type=node.type, summary=rule.summary, inputs=list(node.inputs),
            input_shapes=[list(s) for s in ins], output_shape=list(shape), batch=batch,
            shape=rule.explain_shape(node.attrs, ins, shape), counts=counts, receptive_field=rf, rf_note=note,
            file=node.file, line=node.line,
        ))  # fmt: skip
    return out


def find_layer(graph: Graph, name: str) -> Node:
    """The node called `name`, or a one-line error with a suggestion (or the layers of a block)."""
    names = [node.name for node in graph.nodes]
    if name in names:
        return graph.node(name)
    inside = [n for n in names if n.startswith(name + ".")]
    if inside:
        listed = ", ".join(inside[:5]) + (", ..." if len(inside) > 5 else "")
        raise ArchcalcError(f"{name!r} is a block of {len(inside)} layers; name one of them: {listed}",
                            file=graph.file)  # fmt: skip
    hint = closest(name, names) or (" (the input is not a layer)" if name == INPUT else "")
    raise ArchcalcError(f"no layer named {name!r} in {graph.name}{hint}", file=graph.file)


def explain_layer(graph: Graph, name: str, batch: int = 1) -> LayerExplanation:
    find_layer(graph, name)
    item = next(item for item in explain_layers(graph, batch) if item.name == name)
    if item.receptive_field:
        try:
            item.top_down = [(layer, tuple(size)) for layer, size in top_down_chain(graph, infer_shapes(graph), name)]
        except ArchcalcError as exc:  # a merge on the way: only the bottom-up rule applies
            reason = exc.message.split(";")[0]
            item.top_down_note = f"no single path down: {exc.path or name} {reason}; the bottom-up field above covers them all"
    return item


def display_name(name: str, layer_type: str) -> str:
    """A layer's name in a formula; an unnamed layer (named by its position, `1`) reads `layer 1 (relu)`."""
    return f"layer {name} ({layer_type})" if name.isdigit() else name


def explain_totals(graph: Graph, batch: int = 1, dtype: str = "float32") -> TotalsExplanation:
    """Totals as sums over the layer categories, memory from the totals, and the heaviest layers."""
    report = analyse(graph, batch=batch, dtype=dtype)
    layers = explain_layers(graph, batch)
    formulas = []
    for name, attribute in (("params", "params"), ("buffers", "buffers"), ("MACs", "macs"), ("FLOPs", "flops"),
                            ("connections", "connections"), ("activations", "activations")):  # fmt: skip
        contributing = [layer for layer in report.layers if getattr(layer, attribute)]
        by_group: dict[str, int] = {}
        for layer in contributing:  # few layers: name each one; many: sum by category
            group = display_name(layer.name, layer.type) if len(contributing) <= FEW_LAYERS else layer.category
            by_group[group] = by_group.get(group, 0) + getattr(layer, attribute)
        parts = [Term(group, value) for group, value in by_group.items()]
        if parts:
            total = parts[0]
            for part in parts[1:]:
                total = total + part
            formulas.append(Formula(name, total, "the layers' values" if len(contributing) <= FEW_LAYERS else
                                    f"{len(contributing)} layers, summed by category"))  # fmt: skip
    t, width = report.totals, Term("bytes", DTYPE_BYTES[dtype])
    formulas += [
        Formula("param memory", (Term("params", t.params) + Term("buffers", t.buffers)) * width,
                f"{dtype}: {DTYPE_BYTES[dtype]} bytes per element"),
        Formula("activation memory", Term("activations", t.activations) * width, "every output kept, as training does"),
    ]
    by_name = {layer.name: layer for layer in layers}
    ranked = sorted(layers, key=lambda layer: -layer.value("MACs"))
    heavy_macs = [layer for layer in ranked[:HEAVIEST] if layer.value("MACs")]
    ranked = sorted(layers, key=lambda layer: -layer.value("params"))
    heavy_params = [layer for layer in ranked[:HEAVIEST] if layer.value("params")]
    final = next((layer for layer in reversed(report.layers) if layer.receptive_field), None)
    return TotalsExplanation(report, formulas, heavy_macs, heavy_params, by_name[final.name] if final else None)


__all__ = ["LayerExplanation", "TotalsExplanation", "display_name", "explain_layer", "explain_layers", "explain_totals",
           "find_layer"]
