"""Analysis: walk a Graph with the analysers and collect a Report (plain data)."""

from __future__ import annotations

from archcalc.analysis.counts import (
    count_activations,
    count_connections,
    count_flops,
    count_macs,
    count_params,
    input_shapes,
)
from archcalc.analysis.llm import check_tokens, llm_arithmetic
from archcalc.analysis.memory import peak_live_elements
from archcalc.analysis.receptive import receptive_fields, top_down_chain
from archcalc.analysis.results import DTYPE_BYTES, Gap, LayerResult, Report, Totals
from archcalc.analysis.shapes import infer_shapes
from archcalc.analysis.training import TrainingPlan, check_training_options, training_costs
from archcalc.errors import ArchcalcError, brief
from archcalc.hints import canonical_dtype
from archcalc.graph import Graph
from archcalc.limits import MAX_MAGNITUDE


def weighted_depth(graph: Graph) -> int:
    """Layers with weights (registry `neurons`) on the longest path, by dynamic programming."""
    best: dict[str, int] = {}
    for node in graph.nodes:
        before = max((best.get(name, 0) for name in node.inputs), default=0)
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
    shapes = infer_shapes(graph)
    ins = input_shapes(graph, shapes)
    params = count_params(graph, shapes, ins)
    macs = count_macs(graph, shapes, ins)
    flops = count_flops(graph, shapes, ins)
    connections = count_connections(graph, shapes, ins)
    outputs = count_activations(graph, shapes)
    activations = count_activations(graph, shapes, ins)
    fields = receptive_fields(graph, shapes)

    layers = []
    for node in graph.nodes:
        p, field = params[node.name], fields[node.name]
        layers.append(
            LayerResult(
                name=node.name,
                type=node.type,
                inputs=list(node.inputs),
                output_shape=list(shapes[node.name]),
                params=p.total,
                trainable_params=p.trainable,
                non_trainable_params=p.non_trainable,
                buffers=p.buffers,
                macs=macs[node.name] * batch,
                flops=flops[node.name] * batch,
                connections=connections[node.name],
                activations=activations[node.name] * batch,
                receptive_field=list(field.size) if field else None,
                effective_stride=list(field.stride) if field else None,
                effective_padding=list(field.padding) if field else None,
                rf_aligned=field.aligned if field else None,
                category=node.rule.category,
                line=node.line,
                attributes={key: value for key, value in node.attrs.items() if value is not None},
            )
        )
    width = DTYPE_BYTES[dtype]
    total_params = sum(layer.params for layer in layers)
    total_buffers = sum(layer.buffers for layer in layers)
    total_activations = sum(layer.activations for layer in layers)
    totals = Totals(
        params=total_params,
        trainable_params=sum(layer.trainable_params for layer in layers),
        non_trainable_params=sum(layer.non_trainable_params for layer in layers),
        buffers=total_buffers,
        macs=sum(layer.macs for layer in layers),
        flops=sum(layer.flops for layer in layers),
        connections=sum(layer.connections for layer in layers),
        activations=total_activations,
        neurons=sum(outputs[node.name] for node in graph.nodes if node.rule.neurons),
        param_bytes=(total_params + total_buffers) * width,
        activation_bytes=total_activations * width,
        peak_activation_bytes=peak_live_elements(graph, shapes, ins) * batch * width,
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
    )


__all__ = ["DTYPE_BYTES", "Gap", "LayerResult", "Report", "Totals", "TrainingPlan", "analyse", "infer_shapes",
           "receptive_fields", "top_down_chain"]
