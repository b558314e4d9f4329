"""Per-axis sliding-window arithmetic shared by convolution and pooling rules.

Output size along one axis (torch's formula, also the seeds'):
    out = floor((in + pad_before + pad_after - dilation * (kernel - 1) - 1) / stride) + 1
With ceil_mode the division rounds up, and (as in torch) a last window that would start in the
right padding is dropped: if (out - 1) * stride >= in + pad_before then out -= 1.
Rounding up also lets a window hang over the end of an input shorter than the window itself (torch
pools a 2x2 map with a 3x3/2 ceil-mode window to 1x1; GoogLeNet at its 15 px minimum does this), so
with ceil_mode the input only has to reach within stride - 1 of the window; without it the padded
input must hold one whole window.
"""

from __future__ import annotations

import math

from archcalc.errors import ArchcalcError
from archcalc.layers.formula import Expr, Formula, Term, ceil, floor

AXES = ("height", "width")


def effective_kernel(kernel: int, dilation: int) -> int:
    """A dilated kernel spans (k - 1) * d + 1 input positions."""
    return (kernel - 1) * dilation + 1


def same_padding(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """TensorFlow-style 'same': out = ceil(in / stride); the odd pixel of padding goes after.

    For stride 1 this equals torch's padding='same' (total d*(k-1), left = total // 2).
    """
    out = -(-size // stride)
    total = max((out - 1) * stride + effective_kernel(kernel, dilation) - size, 0)
    return total // 2, total - total // 2


def resolve_padding(
    padding: str | tuple[int, int, int, int],
    kernel: tuple[int, int],
    stride: tuple[int, int],
    dilation: tuple[int, int],
    spatial: tuple[int, int],
) -> tuple[int, int, int, int]:
    """Return (top, bottom, left, right)."""
    if padding != "same":
        return padding  # type: ignore[return-value]
    top, bottom = same_padding(spatial[0], kernel[0], stride[0], dilation[0])
    left, right = same_padding(spatial[1], kernel[1], stride[1], dilation[1])
    return top, bottom, left, right


def window_out(
    size: int, kernel: int, stride: int, before: int, after: int, dilation: int, ceil_mode: bool, axis: int
) -> int:
    span = effective_kernel(kernel, dilation)
    padded = size + before + after
    numerator = padded - span  # may be negative: in ceil mode torch still gives one window then
    out = (-(-numerator // stride) if ceil_mode else numerator // stride) + 1
    if ceil_mode and (out - 1) * stride >= size + before:
        out -= 1
    if out <= 0:
        if padded < span:
            raise ArchcalcError(
                f"the {AXES[axis]} collapses: window {span} is larger than the padded input {padded}"
                f" ({size} + padding {before}+{after}{', ceil mode' if ceil_mode else ''})"
            )
        raise ArchcalcError(f"the {AXES[axis]} collapses to {out}")
    return out


def windows_out(
    spatial: tuple[int, int],
    kernel: tuple[int, int],
    stride: tuple[int, int],
    pads: tuple[int, int, int, int],
    dilation: tuple[int, int],
    ceil_mode: bool = False,
) -> tuple[int, int]:
    return (
        window_out(spatial[0], kernel[0], stride[0], pads[0], pads[1], dilation[0], ceil_mode, 0),
        window_out(spatial[1], kernel[1], stride[1], pads[2], pads[3], dilation[1], ceil_mode, 1),
    )


def transposed_coverage(size_in: int, size_out: int, kernel: int, stride: int, pad: int, dilation: int) -> int:
    """Output positions along one axis that receive at least one product in a transposed conv.

    Input i and tap t write position i*s + t*d - p. With g = gcd(s, d), every sum i*s + t*d is g
    times y = i*s' + t*d' (s' = s/g, d' = d/g coprime); we count the y landing in the output window.
    Taps t0, t0 + s', t0 + 2s', ... form a class: they all hit residue t0*d' mod s' (classes never
    overlap) at y = t0*d' + s'*o, with o in the union of runs [j*d', j*d' + n), j < m. Each class
    is counted in O(1); there are min(kernel, s') classes, or min(n, d') after swapping the roles of
    (input, stride) and (kernel, dilation). So the cost never grows with the sizes themselves
    (at most the square root of the output size), where a loop over positions could run forever.
    """
    g = math.gcd(stride, dilation)
    n, s, k, d = size_in, stride // g, kernel, dilation // g
    if min(n, d) < min(k, s):
        n, s, k, d = k, d, n, s
    low, high = -(-pad // g), -(-(pad + size_out) // g)  # y in [low, high)
    total = 0
    for t0 in range(min(k, s)):
        runs, base = -(-(k - t0) // s), t0 * d
        below_high = _runs_below(-(-(high - base) // s), runs, d, n)
        total += below_high - _runs_below(-(-(low - base) // s), runs, d, n)
    return total


def _runs_below(x: int, runs: int, spacing: int, length: int) -> int:
    """How many integers in [0, x) lie in the union of [j*spacing, j*spacing + length), j < runs."""
    if x <= 0:
        return 0
    if length >= spacing:  # the runs touch: one interval
        return min(x, (runs - 1) * spacing + length)
    full = min(x // spacing, runs)
    return full * length + (min(x - full * spacing, length) if full < runs else 0)


def check_border_padding(layer: str, mode: str, pads: tuple[int, int, int, int], spatial: tuple[int, ...]) -> None:
    """torch's limits on padding that copies pixels: reflect needs pad <= size - 1, circular pad <= size."""
    if mode not in ("reflect", "circular"):
        return
    t, b, l, r = pads
    for before, after, size, axis in ((t, b, spatial[0], AXES[0]), (l, r, spatial[1], AXES[1])):
        limit = size - 1 if mode == "reflect" else size
        if max(before, after) > limit:
            raise ArchcalcError(
                f"{layer}: {mode} padding {max(before, after)} must be at most {limit} for {axis} {size}"
            )


def is_symmetric(pads: tuple[int, int, int, int]) -> bool:
    return pads[0] == pads[1] and pads[2] == pads[3]


def real_window_total(size: int, out: int, kernel: int, stride: int, before: int, dilation: int) -> int:
    """Input elements (padding excluded) read by all `out` windows along one axis.

    torch's pooling kernels clip each window to the input, so only these elements are compared or
    added. Interior windows read all `kernel` taps; only windows at the borders are clipped, so the
    loop runs over the border windows alone (O(kernel), not O(size)).
    """

    def taps(o: int) -> int:
        start = o * stride - before
        first = max(0, -(-(-start) // dilation)) if start < 0 else 0
        last = min(kernel - 1, (size - 1 - start) // dilation)
        return max(0, last - first + 1)

    lo = -(-before // stride)  # first window starting inside the input
    hi = (size - 1 + before - (kernel - 1) * dilation) // stride  # last window ending inside it
    lo, hi = max(lo, 0), min(hi, out - 1)
    if lo > hi:
        return sum(taps(o) for o in range(out))
    border = sum(taps(o) for o in range(lo)) + sum(taps(o) for o in range(hi + 1, out))
    return border + (hi - lo + 1) * kernel


_SYMBOLS = (("H", "k_h", "s_h", "p_t", "p_b", "d_h"), ("W", "k_w", "s_w", "p_l", "p_r", "d_w"))


def window_formula(
    axis: int, size: int, kernel: int, stride: int, before: int, after: int, dilation: int, ceil_mode: bool = False
) -> Formula:
    """`window_out` as a formula, leaving out what has no effect (no padding, stride 1, dilation 1):
    H_out = ⌊(H + p_t + p_b − k_h) / s_h⌋ + 1 = ⌊(224 + 3 + 3 − 7) / 2⌋ + 1 = 112."""
    size_s, kernel_s, stride_s, before_s, after_s, dilation_s = _SYMBOLS[axis]
    span: Expr = Term(kernel_s, kernel)
    if dilation != 1:
        span = Term(dilation_s, dilation) * (Term(kernel_s, kernel) - 1) + 1
    padded: Expr = Term(size_s, size)
    if before or after:
        padded = padded + Term(before_s, before) + Term(after_s, after)
    inner = padded - span
    expr = (ceil(inner / Term(stride_s, stride)) if ceil_mode else floor(inner / Term(stride_s, stride))) + 1
    if stride == 1:
        expr = inner + 1
    note = ""
    if ceil_mode and (window_out(size, kernel, stride, before, after, dilation, True, axis) < expr.value()):
        expr, note = expr - 1, "ceil mode: the last window would start in the padding, so it is dropped"
    return Formula(f"{size_s}_out", expr, note)
