"""Analysis: walk a Graph with the analysers and collect a Report (plain data)."""

from __future__ import annotations

from itertools import repeat
from operator import attrgetter
from typing import Callable

from archcalc.analysis.counts import LayerCosts, layer_costs
from archcalc.analysis.llm import check_tokens, llm_arithmetic
from archcalc.analysis.memory import peak_live_elements
from archcalc.analysis.receptive import receptive_fields, top_down_chain
from archcalc.analysis.results import DTYPE_BYTES, Gap, LayerResult, Report, Totals
from archcalc.analysis.shapes import infer_shapes, shapes_and_signatures
from archcalc.analysis.training import TrainingPlan, check_training_options, training_costs
from archcalc.errors import ArchcalcError, brief
from archcalc.hints import canonical_dtype
from archcalc.graph import NO_WEIGHT_USE, Graph, Node
from archcalc.layers import Shape, numel
from archcalc.limits import MAX_MAGNITUDE


def weighted_depth(graph: Graph) -> int:
    """Layers with weights (registry `neurons`) on the longest path, by dynamic programming."""
    best: dict[str, int] = {}
    get = best.get
    for node in graph.nodes:
        inputs = node.inputs
        before = get(inputs[0], 0) if len(inputs) == 1 else max(map(get, inputs, repeat(0)), default=0)
        best[node.name] = before + 1 if node.rule.neurons else before
    return max((best[name] for name in graph.outputs if name in best), default=0)


def analyse(graph: Graph, batch: int = 1, dtype: str = "float32", *, training: TrainingPlan | None = None,
            convention: str | None = None) -> Report:  # fmt: skip
    """Run every analyser. MACs, FLOPs and activations scale with `batch`; structure counts do not.

    `training` adds the training cost (`report.training`), `convention` a peer tool's count of every
    layer (`report.convention`, see archcalc.conventions): the renderers show whatever the report carries.
    A decoder (token ids in, causal self-attention) gets its LLM figures (`report.llm`, analysis/llm.py);
    `training.tokens` sizes their training set.
    """
    if isinstance(batch, bool) or not isinstance(batch, int) or not 1 <= batch < MAX_MAGNITUDE:
        raise ArchcalcError(f"batch must be a positive integer below 2**63, got {brief(batch)}")
    dtype = canonical_dtype(dtype)  # fp16, half, bf16, ...
    if dtype not in DTYPE_BYTES:
        raise ArchcalcError(f"unknown dtype {dtype!r}; choose from {', '.join(DTYPE_BYTES)} (or fp16, bf16, fp32, ...)")
    if training is not None:
        check_training_options(training.optimizer, training.dataset_size, training.epochs)
        check_tokens(training.tokens)
        if training.tokens is not None and training.dataset_size is not None:
            raise ArchcalcError("give the training set either in samples (--dataset-size) or in tokens (--tokens), "
                                "not both")  # fmt: skip
    if convention is not None:
        from archcalc.conventions import count_convention, profile  # the tables load only when asked for

        profile(convention)  # an unknown name fails before the work
    report = _analyse(graph, batch, dtype)
    if training is not None:
        report.training = training_costs(graph, report, training.optimizer, training.dataset_size, training.epochs)
    tokens = training.tokens if training is not None else None
    report.llm = llm_arithmetic(graph, report, tokens)
    if tokens is not None and report.llm is None:
        raise ArchcalcError("--tokens counts a decoder's training tokens, and this graph is not a decoder (token ids "
                            "[L] into an embedding, causal self-attention); give --dataset-size in samples instead")
    if convention is not None:
        report.convention = count_convention(graph, report, convention)
    return report


class _Row:
    """What every layer of one signature shares (type, attributes, input shapes, and no `weights:` of its own):
    its rules' results, computed once. `layers` counts the layers that share it (the totals multiply by it)."""

    __slots__ = ("output_shape", "counts", "activations", "category", "attributes", "neurons", "gap", "shared",
                 "layers", "number")  # fmt: skip

    def __init__(self, node: Node, cost: LayerCosts, shape: Shape, batch: int, number: int | None) -> None:
        p = cost.params
        macs, flops = cost.batched(batch)  # work done once per call (LayerType.per_call) is not batched
        size = numel(shape)
        self.output_shape, self.activations = shape, (size + cost.workspace) * batch
        # in LayerResult's field order, from params to connections
        self.counts = (p.total, p.trainable, p.non_trainable, p.buffers, macs, flops, cost.connections)
        self.category, self.neurons = node.rule.category, size if node.rule.neurons else 0
        self.attributes = {name: value for name, value in node.attrs.items() if value is not None}
        if node.over:  # applied over leading axes (layers/over.py): shown with the attributes
            self.attributes["over"] = node.over
        self.gap = node.rule.incomplete(node.attrs)
        self.shared = (node.weights.shared, node.weights.shared_buffers)
        self.layers = 0
        self.number = number  # LayerResult.signature


def _analyse(graph: Graph, batch: int, dtype: str) -> Report:
    shapes, keys, ins = shapes_and_signatures(graph)
    costs = layer_costs(graph, shapes, ins, keys)
    fields = receptive_fields(graph, shapes, keys)

    layers, gaps = [], []
    rows: list[_Row] = []
    shared_rows: dict[int, _Row] = {}  # signature number -> its row (layers with `weights:` get their own)
    for node, cost, key in zip(graph.nodes, costs, keys):
        shared = key is not None and node.weights is NO_WEIGHT_USE
        row = shared_rows.get(key) if shared else None  # type: ignore[arg-type]
        if row is None:
            row = _Row(node, cost, shapes[node.name], batch, len(shared_rows) if shared else None)
            rows.append(row)
            if shared:
                shared_rows[key] = row  # type: ignore[index]
        row.layers += 1
        field = fields[node.name]
        if row.gap:
            gaps.append(Gap(node.name, **row.gap))
        # positional, in LayerResult's field order (a hundred thousand keyword calls cost a tenth of a second)
        layers.append(
            LayerResult(
                node.name, node.type, list(node.inputs), list(row.output_shape), *row.counts, row.activations,
                list(field.size) if field else None, list(field.stride) if field else None,
                list(field.padding) if field else None, field.aligned if field else None,
                row.category, node.line, row.attributes, *row.shared, row.number,
            )
        )
    width = DTYPE_BYTES[dtype]
    peak = peak_live_elements(graph, shapes, ins, [cost.workspace for cost in costs])

    def total(read: Callable[[_Row], int]) -> int:  # a row's value once for each of its layers
        return sum(row.layers * read(row) for row in rows)

    params, trainable, frozen, buffers, macs, flops, connections = (
        sum(row.layers * row.counts[at] for row in rows) for at in range(7))  # fmt: skip
    # Each parameter once, as sum(p.numel()) counts it: a row's shared elements were counted at an earlier
    # row (shared parameters of a layer with frozen ones count as frozen first).
    shared_frozen = total(lambda row: min(row.shared[0], row.counts[2]))
    shared = total(lambda row: row.shared[0])
    # Weights no layer uses (aux heads) have no row; the totals count them, as sum(p.numel()) does.
    unused_params, unused_frozen = sum(u.params for u in graph.unused), sum(u.frozen for u in graph.unused)
    total_params = params - shared + unused_params
    total_buffers = buffers - total(lambda row: row.shared[1]) + sum(u.buffers for u in graph.unused)
    total_activations = total(attrgetter("activations"))
    totals = Totals(
        params=total_params,
        trainable_params=trainable - (shared - shared_frozen) + unused_params - unused_frozen,
        non_trainable_params=frozen - shared_frozen + unused_frozen,
        buffers=total_buffers,
        macs=macs,
        flops=flops,
        connections=connections,
        activations=total_activations,
        neurons=total(attrgetter("neurons")),
        param_bytes=(total_params + total_buffers) * width,
        activation_bytes=total_activations * width,
        peak_activation_bytes=peak * batch * width,
    )
    return Report(
        name=graph.name,
        input_shape=list(graph.input_shape),
        batch=batch,
        dtype=dtype,
        totals=totals,
        layers=layers,
        outputs=list(graph.outputs),
        depth=weighted_depth(graph),
        file=graph.file,
        description=graph.description,
        source=graph.source,
        variables=dict(graph.variables),
        complete=not gaps,
        unsupported=gaps,
        unused=list(graph.unused),
    )


__all__ = ["DTYPE_BYTES", "Gap", "LayerResult", "Report", "Totals", "TrainingPlan", "analyse", "infer_shapes",
           "receptive_fields", "top_down_chain"]
