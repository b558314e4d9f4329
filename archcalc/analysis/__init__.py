"""Analysis: walk a Graph with the analysers and collect a Report (plain data)."""

from __future__ import annotations

from operator import attrgetter

from archcalc.analysis.counts import layer_costs
from archcalc.analysis.llm import check_tokens, llm_arithmetic
from archcalc.analysis.memory import peak_live_elements
from archcalc.analysis.receptive import receptive_fields, top_down_chain
from archcalc.analysis.results import DTYPE_BYTES, Gap, LayerResult, Report, Totals
from archcalc.analysis.shapes import infer_shapes, shapes_and_signatures
from archcalc.analysis.training import TrainingPlan, check_training_options, training_costs
from archcalc.errors import ArchcalcError, brief
from archcalc.hints import canonical_dtype
from archcalc.graph import Graph
from archcalc.layers import numel
from archcalc.limits import MAX_MAGNITUDE


def weighted_depth(graph: Graph) -> int:
    """Layers with weights (registry `neurons`) on the longest path, by dynamic programming."""
    best: dict[str, int] = {}
    for node in graph.nodes:
        inputs = node.inputs
        before = best.get(inputs[0], 0) if len(inputs) == 1 else max((best.get(name, 0) for name in inputs), default=0)
        best[node.name] = before + (1 if node.rule.neurons else 0)
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


def _analyse(graph: Graph, batch: int, dtype: str) -> Report:
    shapes, keys, ins = shapes_and_signatures(graph)
    costs = layer_costs(graph, shapes, ins, keys)
    fields = receptive_fields(graph, shapes, keys)

    layers = []
    attributes_of: dict[int, dict] = {}  # signature number -> the attributes, one dict shared by equal layers
    for node, cost, key in zip(graph.nodes, costs, keys):
        p, field = cost.params, fields[node.name]
        shape = shapes[node.name]
        macs, flops = cost.batched(batch)  # work done once per call (LayerType.per_call) is not batched
        attributes = attributes_of.get(key) if key is not None else None  # type: ignore[arg-type]
        if attributes is None:
            attributes = {name: value for name, value in node.attrs.items() if value is not None}
            if node.over:  # applied over leading axes (layers/over.py): shown with the attributes
                attributes["over"] = node.over
            if key is not None:
                attributes_of[key] = attributes
        # positional, in LayerResult's field order (a hundred thousand keyword calls cost a tenth of a second)
        layers.append(
            LayerResult(
                node.name, node.type, list(node.inputs), list(shape), p.total, p.trainable, p.non_trainable,
                p.buffers, macs, flops, cost.connections,
                (numel(shape) + cost.workspace) * batch,
                list(field.size) if field else None, list(field.stride) if field else None,
                list(field.padding) if field else None, field.aligned if field else None,
                node.rule.category, node.line, attributes, node.weights.shared, node.weights.shared_buffers,
            )
        )
    width = DTYPE_BYTES[dtype]
    peak = peak_live_elements(graph, shapes, ins, [cost.workspace for cost in costs])

    def total(key: str) -> int:
        return sum(map(attrgetter(key), layers))

    # Each parameter once, as sum(p.numel()) counts it: a row's shared elements were counted at an earlier
    # row (shared parameters of a layer with frozen ones count as frozen first).
    shared_frozen = sum(min(layer.shared_params, layer.non_trainable_params) for layer in layers)
    shared = total("shared_params")
    # Weights no layer uses (aux heads) have no row; the totals count them, as sum(p.numel()) does.
    unused_params, unused_frozen = sum(u.params for u in graph.unused), sum(u.frozen for u in graph.unused)
    total_params = total("params") - shared + unused_params
    total_buffers = total("buffers") - total("shared_buffers") + sum(u.buffers for u in graph.unused)
    total_activations = total("activations")
    totals = Totals(
        params=total_params,
        trainable_params=total("trainable_params") - (shared - shared_frozen) + unused_params - unused_frozen,
        non_trainable_params=total("non_trainable_params") - shared_frozen + unused_frozen,
        buffers=total_buffers,
        macs=total("macs"),
        flops=total("flops"),
        connections=total("connections"),
        activations=total_activations,
        neurons=sum(numel(shapes[node.name]) for node in graph.nodes if node.rule.neurons),
        param_bytes=(total_params + total_buffers) * width,
        activation_bytes=total_activations * width,
        peak_activation_bytes=peak * batch * width,
    )
    gaps = [Gap(node.name, **detail) for node in graph.nodes if (detail := node.rule.incomplete(node.attrs))]
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
