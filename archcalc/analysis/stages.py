"""Stages: layers grouped by their top-level block or name prefix, for per-stage subtotals
(`compare --by stage`) and for collapsing large graphs in diagrams.

- A layer inside a block or group belongs to the block's stage: the first component of its name
  (`layer1.0.conv1` -> `layer1`), with a trailing `_<number>` removed, so that VGG's `conv1_1` and
  `conv1_2` form the stage `conv1`.
- Consecutive top-level layers that are not in a block form one stage named `first…last`
  (ResNet's `conv1…maxpool` stem, its `avgpool…fc` head).
- When that leaves fewer than three stages (everything inside one `features` group), the next name
  component is used instead (`features.3`), down to MAX_LEVEL components.
Stages are listed in the order of their first layer; a stage name that comes back adds to it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from archcalc.analysis.results import LayerResult, Report

_NUMBERED = re.compile(r"_\d+$")
SUMMED = ("params", "macs", "flops", "connections", "activations")
MAX_LEVEL = 3


@dataclass
class Stage:
    name: str
    layers: list[str] = field(default_factory=list)
    params: int = 0
    macs: int = 0
    flops: int = 0
    connections: int = 0
    activations: int = 0
    output_shape: list[int] = field(default_factory=list)  # of its last layer

    def add(self, layer: LayerResult) -> None:
        self.layers.append(layer.name)
        for key in SUMMED:
            setattr(self, key, getattr(self, key) + getattr(layer, key))
        self.output_shape = layer.output_shape


def _block_key(name: str, level: int) -> str | None:
    """The stage of a layer inside a block at this level; None for a layer that is not in one."""
    parts = name.split(".")
    if len(parts) <= level:
        return None
    prefix = ".".join(parts[: level - 1] + [_NUMBERED.sub("", parts[level - 1]) or parts[level - 1]])
    return prefix


def _group(report: Report, level: int) -> list[Stage]:
    by_name: dict[str, Stage] = {}
    run: list[LayerResult] = []

    def close_run() -> None:
        if run:
            title = run[0].name if len(run) == 1 else f"{run[0].name}…{run[-1].name}"
            stage = by_name.setdefault(title, Stage(title))
            for layer in run:
                stage.add(layer)
            run.clear()

    for layer in report.layers:
        key = _block_key(layer.name, level)
        if key is None:
            run.append(layer)
            continue
        close_run()
        by_name.setdefault(key, Stage(key)).add(layer)
    close_run()
    return list(by_name.values())


def stages(report: Report) -> list[Stage]:
    grouped = _group(report, 1)
    for level in range(2, MAX_LEVEL + 1):
        if len(grouped) >= 3 or all(len(layer.name.split(".")) < level + 1 for layer in report.layers):
            break
        grouped = _group(report, level)
    return grouped
