"""Training arithmetic: backward cost per layer, iterations per epoch, cost per epoch, training memory.

Backward rules live with each layer type (`LayerType.backward`, documented in its module): layers with
trained weights (conv, linear) cost the forward MACs once for the weight gradient and once more for the
input gradient, which autograd skips when nothing before the layer is trained (the first conv);
everything else costs about its forward pass, and nothing when no gradient has to flow through it.

A training iteration = forward (the inference rule) + backward, at the batch size. An epoch processes
every sample once: cost per sample x dataset size (the last, partial batch costs only its samples);
iterations per epoch = ceil(dataset / batch). Training memory = weights and buffers + gradients
(trainable params) + optimizer state (sgd none, momentum 1 copy, adam and adamw 2 copies of the trainable
params) + every layer output kept for the backward pass (activation_bytes). The optimizer's update
arithmetic and the input batch itself are not counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from archcalc.analysis.results import DTYPE_BYTES, Report
from archcalc.analysis.shapes import infer_shapes
from archcalc.errors import ArchcalcError, closest
from archcalc.graph import INPUT, Graph

# AdamW keeps Adam's two moment estimates; its decoupled weight decay adds no state.
OPTIMIZER_STATE_COPIES = {"sgd": 0, "momentum": 1, "adam": 2, "adamw": 2}


@dataclass(frozen=True)
class TrainingPlan:
    """What `analyse(..., training=TrainingPlan(...))` is asked to cost (`report --train`)."""

    optimizer: str = "sgd"
    dataset_size: int | None = None
    epochs: int = 1
    tokens: int | None = None  # a decoder's training set in tokens (the LLM figures: analysis/llm.py)


def iterations_per_epoch(dataset_size: int, batch: int) -> int:
    """ceil(dataset / batch): 1,000 samples at batch 10 give 100 iterations (note 000)."""
    if dataset_size < 1 or batch < 1:
        raise ArchcalcError(f"dataset size and batch must be positive, got {dataset_size} and {batch}")
    return -(-dataset_size // batch)


@dataclass
class LayerTraining:
    name: str
    backward_macs: int  # for the whole batch
    backward_flops: int


@dataclass
class Training:
    optimizer: str
    batch: int
    epochs: int
    dataset_size: int | None
    iterations_per_epoch: int | None
    # one iteration (forward + backward at the batch size)
    forward_macs: int
    backward_macs: int
    forward_flops: int
    backward_flops: int
    # memory, bytes
    weight_bytes: int
    gradient_bytes: int
    optimizer_state_bytes: int
    activation_bytes: int
    layers: list[LayerTraining] = field(default_factory=list)

    @property
    def iteration_macs(self) -> int:
        return self.forward_macs + self.backward_macs

    @property
    def iteration_flops(self) -> int:
        return self.forward_flops + self.backward_flops

    @property
    def epoch_macs(self) -> int | None:
        """Per sample x dataset size: the last, partial batch costs only its samples."""
        return None if self.dataset_size is None else self.iteration_macs // self.batch * self.dataset_size

    @property
    def epoch_flops(self) -> int | None:
        return None if self.dataset_size is None else self.iteration_flops // self.batch * self.dataset_size

    @property
    def total_macs(self) -> int | None:
        return None if self.epoch_macs is None else self.epoch_macs * self.epochs

    @property
    def total_flops(self) -> int | None:
        return None if self.epoch_flops is None else self.epoch_flops * self.epochs

    @property
    def total_bytes(self) -> int:
        return self.weight_bytes + self.gradient_bytes + self.optimizer_state_bytes + self.activation_bytes


def check_training_options(optimizer: str, dataset_size: int | None, epochs: int) -> None:
    if optimizer not in OPTIMIZER_STATE_COPIES:
        choices = list(OPTIMIZER_STATE_COPIES)
        raise ArchcalcError(f"unknown optimizer {optimizer!r}{closest(optimizer, choices)}; choose from "
                            f"{', '.join(choices)}")  # fmt: skip
    if dataset_size is not None and dataset_size < 1:
        raise ArchcalcError(f"--dataset-size must be a positive number of samples, got {dataset_size}")
    if epochs < 1:
        raise ArchcalcError(f"--epochs must be a positive integer, got {epochs}")


def training_costs(graph: Graph, report: Report, optimizer: str = "sgd", dataset_size: int | None = None,
                   epochs: int = 1) -> Training:  # fmt: skip
    """Backward cost per layer (one loop in topological order) and the training totals of `report`."""
    check_training_options(optimizer, dataset_size, epochs)
    shapes = infer_shapes(graph)
    batch = report.batch
    # A tensor needs a gradient when a trained parameter lies at or before it (autograd's requires_grad).
    needs_grad = {INPUT: False}
    layers = []
    for node in graph.nodes:
        ins, out = [shapes[name] for name in node.inputs], shapes[node.name]
        input_grad = any(needs_grad[name] for name in node.inputs)
        trained = node.rule.params(node.attrs, ins, out).trainable > 0
        needs_grad[node.name] = input_grad or trained
        macs, flops = node.rule.backward(node.attrs, ins, out, input_grad)
        layers.append(LayerTraining(node.name, macs * batch, flops * batch))
    width = DTYPE_BYTES[report.dtype]
    trainable = report.totals.trainable_params
    t = report.totals
    return Training(
        optimizer=optimizer, batch=batch, epochs=epochs, dataset_size=dataset_size,
        iterations_per_epoch=None if dataset_size is None else iterations_per_epoch(dataset_size, batch),
        forward_macs=t.macs, backward_macs=sum(layer.backward_macs for layer in layers),
        forward_flops=t.flops, backward_flops=sum(layer.backward_flops for layer in layers),
        weight_bytes=t.param_bytes, gradient_bytes=trainable * width,
        optimizer_state_bytes=OPTIMIZER_STATE_COPIES[optimizer] * trainable * width,
        activation_bytes=t.activation_bytes, layers=layers,
    )  # fmt: skip
