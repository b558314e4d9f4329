"""Counting rules that once looped over a size are closed forms now: same numbers, any size.

Each closed form is checked against the plain loop it replaced (kept here as the reference), and
run on sizes where that loop would never finish.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.hostile_support import report, write

from archcalc.layers.geometry import floor_sum, real_window_total, transposed_coverage
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


def read_by_loop(size: int, out: int, kernel: int, stride: int, before: int, dilation: int) -> int:
    return sum(1 for o in range(out) for t in range(kernel) if 0 <= o * stride - before + t * dilation < size)


@given(st.integers(1, 30), st.integers(1, 9), st.integers(1, 5), st.integers(0, 6), st.integers(1, 3),
       st.integers(1, 30))
def test_pool_window_total_matches_the_loop(size: int, kernel: int, stride: int, before: int, dilation: int,
                                            out: int) -> None:
    """Issue 14: the taps pooling windows read, counted in closed form, equal the loop over every tap."""
    assert real_window_total(size, out, kernel, stride, before, dilation) == read_by_loop(
        size, out, kernel, stride, before, dilation)


@given(st.integers(1, 40), st.integers(1, 30), st.integers(0, 50), st.integers(0, 50))
def test_floor_sum_matches_the_loop(n: int, m: int, a: int, b: int) -> None:
    assert floor_sum(n, m, a, b) == sum((a * i + b) // m for i in range(n))


def test_huge_pool_window(tmp_path: Path) -> None:
    """A 10^8-tap window with padding half the kernel: the border loop ran 10^8 windows, for minutes."""
    k, n = 10**8 + 1, 3 * 10**8
    b = k // 2
    layer = _totals(tmp_path, f"input: [1, {n}]\nlayers: [{{type: avg_pool1d, kernel: {k}, stride: 1, padding: {b}}}]\n")
    # output o reads [o - b, o + b] clipped to the input: n k taps less 1 + 2 + ... + b at each border
    assert layer["output_shape"] == [1, n] and layer["connections"] == n * k - b * (b + 1)


@pytest.mark.parametrize("stride, dilation", [(10**9 + 1, 10**9), (2 * 10**9 + 1, 2 * 10**9 + 3)])
def test_huge_transposed_padding(tmp_path: Path, stride: int, dilation: int) -> None:
    """Issue 14: 10^9 inputs and taps, padding near 10^18 leaving 1,000 outputs: the per-class loop ran 10^9
    times; the closed form is O(log). The covered outputs are checked position by position (dense overlap,
    and sparse sums that leave holes)."""
    n = k = 10**9
    s, d = stride, dilation
    out = 1000
    p = ((n - 1) * s + d * (k - 1) + 1 - out) // 2
    out = (n - 1) * s + d * (k - 1) + 1 - 2 * p  # 1,000 or 1,001
    text = (f"input: [1, {n}]\nlayers:\n  - {{type: conv_transpose1d, out_channels: 1, kernel: {k}, stride: {s},"
            f" dilation: {d}, padding: {p}, bias: false}}\n")  # fmt: skip
    layer = _totals(tmp_path, text)
    inverse = pow(d, -1, s)

    def covered(y: int) -> bool:  # y = i s + t d with i < n, t < k: t is y / d mod s (s > k, so one candidate)
        t = y * inverse % s
        return t < k and (y - t * d) >= 0 and (y - t * d) % s == 0 and (y - t * d) // s < n

    expected = sum(covered(p + x) for x in range(out))
    assert layer["output_shape"] == [1, out] and 0 < expected <= out
    assert layer["flops"] == 2 * layer["macs"] - expected


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
