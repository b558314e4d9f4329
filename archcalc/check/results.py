"""Plain data returned by `archcalc check`: one verdict per quantity and layer, plus totals.

Torch-free, so renderers and tests can use it without importing torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Verdict statuses. Only DIFFER makes the check fail.
AGREE = "agree"
DIFFER = "differ"
NOT_COUNTED = "not counted"  # the witness does not count this layer's cost at all (e.g. fvcore and ReLU)
OWN_CONVENTION = "own convention"  # the witness counts it under another convention; shown, not compared
NOT_CHECKED = "not checked"  # skipped: outside the receptive-field sample, witness too costly, torch failed earlier

# Quantities, in the order the renderers show them.
SHAPE = "shape"
PARAMS = "params"
TRAINABLE = "trainable"
NON_TRAINABLE = "non_trainable"
BUFFERS = "buffers"
FVCORE = "macs_fvcore"
FLOP_COUNTER = "flops_counter"
RECEPTIVE_FIELD = "receptive_field"
TORCH_RUNS = "torch_runs"
QUANTITIES = (TORCH_RUNS, SHAPE, PARAMS, TRAINABLE, NON_TRAINABLE, BUFFERS, FVCORE, FLOP_COUNTER, RECEPTIVE_FIELD)

# What each witness compares, in words (for the docs, the table legend and JSON readers).
WITNESSES = {
    FVCORE: "fvcore FlopCountAnalysis (one fused multiply-add = 1) vs archcalc MACs",
    FLOP_COUNTER: "torch.utils.flop_counter.FlopCounterMode (2 per multiply-add) vs 2 * archcalc MACs",
    RECEPTIVE_FIELD: "extent of the non-zero input gradient of the centre output vs the analytic field",
}


@dataclass
class Verdict:
    quantity: str
    status: str
    archcalc: Any = None  # what archcalc says (an int, a shape, or [[row0, row1], [col0, col1]])
    torch: Any = None  # what the witness says
    note: str = ""

    @property
    def differs(self) -> bool:
        return self.status == DIFFER


@dataclass
class LayerCheck:
    name: str
    type: str
    verdicts: list[Verdict]
    line: int | None = None

    @property
    def agrees(self) -> bool:
        return not any(v.differs for v in self.verdicts)

    def verdict(self, quantity: str) -> Verdict | None:
        for verdict in self.verdicts:
            if verdict.quantity == quantity:
                return verdict
        return None


@dataclass
class CheckReport:
    name: str
    input_shape: list[int]
    device: str
    batch: int
    layers: list[LayerCheck]
    totals: list[Verdict]
    notes: list[str] = field(default_factory=list)  # how each witness ran, what was sampled or skipped
    file: str | None = None

    @property
    def agrees(self) -> bool:
        return all(layer.agrees for layer in self.layers) and not any(v.differs for v in self.totals)

    @property
    def differing(self) -> list[LayerCheck]:
        return [layer for layer in self.layers if not layer.agrees]

    def layer(self, name: str) -> LayerCheck:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(name)

    def uncounted(self, quantity: str) -> list[str]:
        """Layers a witness does not count (or counts under its own convention)."""
        return [layer.name for layer in self.layers
                if (v := layer.verdict(quantity)) is not None and v.status in (NOT_COUNTED, OWN_CONVENTION)]  # fmt: skip


def compare(quantity: str, archcalc: Any, torch: Any, note: str = "") -> Verdict:
    return Verdict(quantity, AGREE if archcalc == torch else DIFFER, archcalc, torch, note)


def witness_verdict(quantity: str, dense: bool, expected: int, counted: int) -> Verdict:
    """A cost witness (fvcore, FlopCounterMode) on one layer.

    Layer types whose MACs are convolution or matrix-product multiply-adds (`dense_macs`) are compared;
    on the others the witness either counts nothing (not counted) or applies its own convention (e.g.
    fvcore's batch-norm or adaptive-pool counts), which is shown and not compared.
    """
    if dense:
        return compare(quantity, expected, counted)
    if counted == 0:
        return Verdict(quantity, NOT_COUNTED, None, 0)
    return Verdict(quantity, OWN_CONVENTION, None, counted)
