"""Counting rules that once looped over a size are closed forms now: same numbers, any size.

Each closed form is checked against the plain loop it replaced (kept here as the reference), and
run on sizes where that loop would never finish.
"""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from tests.hostile_support import report, write

from archcalc.layers.geometry import transposed_coverage
from archcalc.layers.norm_stats import LocalResponseNorm
from archcalc.layers.pool_global import adaptive_window_total


def covered_by_loop(size_in: int, size_out: int, kernel: int, stride: int, pad: int, dilation: int) -> int:
    hit = set()
    for i in range(size_in):
        for t in range(kernel):
            position = i * stride - pad + t * dilation
            if 0 <= position < size_out:
                hit.add(position)
    return len(hit)


small = st.integers(1, 14)


@given(small, small, small, small, st.integers(0, 20), st.integers(0, 13))
def test_transposed_coverage_matches_the_loop(n: int, k: int, s: int, d: int, p: int, extra: int) -> None:
    out = (n - 1) * s - 2 * p + d * (k - 1) + extra % max(s, d) + 1  # output_padding < max(stride, dilation)
    if out > 0:
        assert transposed_coverage(n, out, k, s, p, d) == covered_by_loop(n, out, k, s, p, d)


@given(st.integers(1, 40), st.integers(1, 60))
def test_lrn_window_total_matches_the_loop(size: int, channels: int) -> None:
    before, after = size // 2, (size - 1) // 2
    loop = sum(min(channels - 1, c + after) - max(0, c - before) + 1 for c in range(channels))
    assert LocalResponseNorm.window_total(size, channels) == loop


@given(st.integers(1, 200), st.integers(1, 200))
def test_adaptive_window_total_matches_the_loop(size_in: int, size_out: int) -> None:
    loop = sum(-(-((i + 1) * size_in) // size_out) - (i * size_in) // size_out for i in range(size_out))
    assert adaptive_window_total(size_in, size_out) == loop


def _totals(tmp_path: Path, text: str) -> dict:
    result = report(write(tmp_path, "huge.yaml", text))
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)["layers"][-1]


def test_huge_lrn(tmp_path: Path) -> None:
    c = 2**30  # the loop ran over every channel
    layer = _totals(tmp_path, f"input: [{c}, 1, 1]\nlayers: [{{type: lrn, size: 5}}]\n")
    assert layer["connections"] == 5 * c - 6  # offsets -2..2 pair up c - |o| channels
    assert layer["flops"] == 5 * c - 6 + 4 * c


def test_huge_conv_out_channels(tmp_path: Path) -> None:
    c = 2**39  # the rule built a list with one entry per output map
    layer = _totals(tmp_path, f"input: [1, 1, 1]\nlayers: [{{type: conv2d, out_channels: {c}, kernel: 1}}]\n")
    assert layer["params"] == 2 * c and layer["macs"] == c and layer["flops"] == 2 * c


def test_huge_transposed_conv(tmp_path: Path) -> None:
    """100,000 x 100,000 taps: the loop would take hours; the closed form walks 100,000 classes at most."""
    n = 100_000
    text = (f"input: [1, {n}, 1]\nlayers:\n  - {{type: conv_transpose2d, out_channels: 1, kernel: [{n}, 1],"
            f" stride: [{n + 1}, 1], dilation: [{n}, 1], bias: false}}\n")  # fmt: skip
    layer = _totals(tmp_path, text)
    # stride n + 1 and dilation n are coprime and every tap of every input lands on its own position
    assert layer["output_shape"] == [1, (n - 1) * (n + 1) + n * (n - 1) + 1, 1]
    assert layer["flops"] == 2 * layer["macs"] - n * n and layer["macs"] == n * n


def test_huge_adaptive_pool(tmp_path: Path) -> None:
    text = f"input: [3, 7, 5]\nlayers: [{{type: adaptive_avg_pool2d, output_size: [{2**20}, {2**18}]}}]\n"
    layer = _totals(tmp_path, text)
    assert layer["connections"] == 3 * (7 + 2**20 - 1) * (5 + 2**18 - 1)
