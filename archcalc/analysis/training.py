"""Training arithmetic."""

from __future__ import annotations

from archcalc.errors import ArchcalcError


def iterations_per_epoch(dataset_size: int, batch: int) -> int:
    """ceil(dataset / batch): 1,000 samples at batch 10 give 100 iterations (note 000)."""
    if dataset_size < 1 or batch < 1:
        raise ArchcalcError(f"dataset size and batch must be positive, got {dataset_size} and {batch}")
    return -(-dataset_size // batch)
