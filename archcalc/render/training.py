"""Training figures (`report --train`) for every format: JSON object, summary rows, per-layer columns."""

from __future__ import annotations

from archcalc.analysis.training import Training
from archcalc.render.units import exact, human, human_bytes


def training_dict(training: Training) -> dict:
    per_epoch = None if training.epoch_macs is None else {"macs": training.epoch_macs, "flops": training.epoch_flops}
    total = None if training.total_macs is None else {"macs": training.total_macs, "flops": training.total_flops}
    return {
        "optimizer": training.optimizer,
        "batch": training.batch,
        "epochs": training.epochs,
        "dataset_size": training.dataset_size,
        "iterations_per_epoch": training.iterations_per_epoch,
        "per_iteration": {
            "forward_macs": training.forward_macs, "backward_macs": training.backward_macs,
            "macs": training.iteration_macs, "forward_flops": training.forward_flops,
            "backward_flops": training.backward_flops, "flops": training.iteration_flops,
        },
        "per_epoch": per_epoch,
        "total": total,
        "memory": {
            "weight_bytes": training.weight_bytes, "gradient_bytes": training.gradient_bytes,
            "optimizer_state_bytes": training.optimizer_state_bytes, "activation_bytes": training.activation_bytes,
            "total_bytes": training.total_bytes,
        },
        "layers": [{"name": layer.name, "backward_macs": layer.backward_macs, "backward_flops": layer.backward_flops}
                   for layer in training.layers],
    }  # fmt: skip


def training_rows(training: Training) -> list[tuple[str, str, str]]:
    """(label, exact, approx.) rows for the markdown and terminal summaries."""
    rows = [
        ("optimizer", f"{training.optimizer}, batch {training.batch}", ""),
        ("forward MACs / iteration", exact(training.forward_macs), human(training.forward_macs)),
        ("backward MACs / iteration", exact(training.backward_macs), human(training.backward_macs)),
        ("training MACs / iteration", exact(training.iteration_macs), human(training.iteration_macs)),
        ("training FLOPs / iteration", exact(training.iteration_flops), human(training.iteration_flops)),
    ]
    if training.dataset_size is not None:
        rows += [
            ("iterations / epoch", exact(training.iterations_per_epoch or 0),
             f"ceil({exact(training.dataset_size)} / {training.batch})"),
            ("training MACs / epoch", exact(training.epoch_macs or 0), human(training.epoch_macs or 0)),
            ("training FLOPs / epoch", exact(training.epoch_flops or 0), human(training.epoch_flops or 0)),
            (f"training FLOPs, {training.epochs} epoch(s)", exact(training.total_flops or 0),
             human(training.total_flops or 0)),
        ]  # fmt: skip
    for label, value in (("weights and buffers", training.weight_bytes), ("gradients", training.gradient_bytes),
                         (f"optimizer state ({training.optimizer})", training.optimizer_state_bytes),
                         ("activations kept for backward", training.activation_bytes),
                         ("training memory", training.total_bytes)):  # fmt: skip
        rows.append((label, exact(value) + " B", human_bytes(value)))
    return rows


def backward_by_layer(training: Training) -> dict[str, tuple[int, int]]:
    return {layer.name: (layer.backward_macs, layer.backward_flops) for layer in training.layers}
