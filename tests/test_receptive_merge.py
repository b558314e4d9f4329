"""merge_fields writes the common merge (two inputs of the output's spatial size, a residual add) in short, every
axis at once: it must give exactly what the general rule gives. A merge with one input repeated is the same union,
and three inputs go the general way."""

from __future__ import annotations

import random

import pytest

from archcalc.analysis.receptive import Field, merge_fields


def random_field(draw: random.Random, rank: int) -> Field:
    stride = tuple(draw.choice((1, 1, 2, 4)) for _ in range(rank))
    return Field(tuple(draw.randint(1, 40) for _ in range(rank)), stride,
                 tuple(draw.randint(0, 12) for _ in range(rank)), draw.random() < 0.8)  # fmt: skip


@pytest.mark.parametrize("seed", range(40))
def test_two_input_merge_equals_the_general_rule(seed: int) -> None:
    draw = random.Random(seed)
    rank = draw.randint(1, 3)
    out = (4,) + tuple(draw.randint(2, 9) for _ in range(rank))
    a, b = random_field(draw, rank), random_field(draw, rank)
    if seed % 5 == 0:
        b = a._replace(aligned=draw.random() < 0.5)  # the same field along both paths
    elif seed % 5 == 1:
        b = Field(a.size, tuple(2 * s for s in a.stride), a.padding, True)  # same window, other stride
    assert merge_fields([a, b], [out, out], out) == merge_fields([a, b, b], [out, out, out], out)
    assert merge_fields([b, a], [out, out], out) == merge_fields([a, b], [out, out], out)
