"""Stages: layers grouped by their top-level block or name prefix, for per-stage subtotals
(`compare --by stage`) and for collapsing large graphs in diagrams.

A layer's stage is the first component of its name (`layer1.0.conv1` -> `layer1`) with a trailing
`_<number>` removed, so that VGG's `conv1_1` and `conv1_2` form the stage `conv1`. Stages are listed
in the order of their first layer; a stage name that comes back later adds to the same stage.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from archcalc.analysis.results import Report

_NUMBERED = re.compile(r"_\d+$")
SUMMED = ("params", "macs", "flops", "connections", "activations")


def stage_of(name: str) -> str:
    top = name.split(".", 1)[0]
    return _NUMBERED.sub("", top) or top


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


def stages(report: Report) -> list[Stage]:
    by_name: dict[str, Stage] = {}
    for layer in report.layers:
        stage = by_name.setdefault(stage_of(layer.name), Stage(stage_of(layer.name)))
        stage.layers.append(layer.name)
        for key in SUMMED:
            setattr(stage, key, getattr(stage, key) + getattr(layer, key))
        stage.output_shape = layer.output_shape
    return list(by_name.values())
