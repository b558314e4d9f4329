"""Per-axis sliding-window arithmetic shared by convolution and pooling rules, for any number of axes.

A `Window` holds one kernel, stride and dilation per spatial axis and the padding per side, flat:
(before_1, after_1, before_2, after_2, ...), which for two axes is (top, bottom, left, right).

Output size along one axis (torch's formula, also the seeds'):
    out = floor((in + pad_before + pad_after - dilation * (kernel - 1) - 1) / stride) + 1
With ceil_mode the division rounds up, and (as in torch) a last window that would start in the
right padding is dropped: if (out - 1) * stride >= in + pad_before then out -= 1.
Rounding up also lets a window hang over the end of an input shorter than the window itself (torch
pools a 2x2 map with a 3x3/2 ceil-mode window to 1x1; GoogLeNet at its 15 px minimum does this), so
with ceil_mode the input only has to reach within stride - 1 of the window; without it the padded
input must hold one whole window.

Counting windows never loops over positions or taps: `real_window_total` and `transposed_coverage`
are closed forms (lattice-point counts under a line, `floor_sum`), O(log) in the sizes, so a pool
with a 10^8 kernel or a transposed conv with 10^5 x 10^5 taps costs microseconds.
"""

from __future__ import annotations

from typing import NamedTuple

from archcalc.errors import ArchcalcError
from archcalc.layers.axes import axis_word as word
from archcalc.layers.axes import spatial_names
from archcalc.layers.formula import Expr, Formula, Term, ceil, floor

Pads = tuple[int, ...]  # (before, after) per spatial axis, flat


def axis_word(rank: int, axis: int) -> str:
    """Spatial axis `axis` of `rank` spatial axes in words: height, width; length; depth, height, width."""
    return word(rank + 1, axis)


def sides(pads: Pads) -> list[tuple[int, int]]:
    """(before, after) per axis."""
    return [(pads[2 * axis], pads[2 * axis + 1]) for axis in range(len(pads) // 2)]


def is_symmetric(pads: Pads) -> bool:
    return all(before == after for before, after in sides(pads))


def befores(pads: Pads) -> tuple[int, ...]:
    """The padding before the first element on each axis (top, left, front): what the receptive field uses."""
    return tuple(pads[0::2])


def torch_pad(pads: Pads) -> tuple[int, ...]:
    """F.pad's order: the last axis first, (before, after) for each."""
    return tuple(side for before, after in reversed(sides(pads)) for side in (before, after))


class Window(NamedTuple):
    """The sliding window of a convolution or pool on one input, resolved (padding 'same' worked out)."""

    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    pads: Pads
    dilation: tuple[int, ...]
    ceil_mode: bool = False

    @property
    def rank(self) -> int:
        return len(self.kernel)

    @property
    def symmetric(self) -> bool:
        return is_symmetric(self.pads)

    def padded(self, spatial: tuple[int, ...]) -> tuple[int, ...]:
        """The spatial sizes after padding."""
        return tuple(size + before + after for size, (before, after) in zip(spatial, sides(self.pads)))


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


def resolve_padding(padding: str | Pads, kernel: tuple[int, ...], stride: tuple[int, ...],
                    dilation: tuple[int, ...], spatial: tuple[int, ...]) -> Pads:  # fmt: skip
    """Flat (before, after) per axis; 'same' worked out for these sizes, 'valid' none."""
    if padding == "valid":
        return (0,) * (2 * len(spatial))
    if padding != "same":
        return padding  # type: ignore[return-value]
    return tuple(side for axis, size in enumerate(spatial)
                 for side in same_padding(size, kernel[axis], stride[axis], dilation[axis]))  # fmt: skip


def window_out(size: int, kernel: int, stride: int, before: int, after: int, dilation: int, ceil_mode: bool,
               axis: str) -> int:  # fmt: skip
    """Output positions along one axis; `axis` names it in errors (height, width, length, depth)."""
    span = effective_kernel(kernel, dilation)
    padded = size + before + after
    numerator = padded - span  # may be negative: in ceil mode torch still gives one window then
    out = (-(-numerator // stride) if ceil_mode else numerator // stride) + 1
    if ceil_mode and (out - 1) * stride >= size + before:
        out -= 1
    if out <= 0:
        if padded < span:
            raise ArchcalcError(
                f"the {axis} collapses: window {span} is larger than the padded input {padded}"
                f" ({size} + padding {before}+{after}{', ceil mode' if ceil_mode else ''})"
            )
        raise ArchcalcError(f"the {axis} collapses to {out}")
    return out


_AXIS_WORDS = {rank: tuple(word(rank + 1, axis) for axis in range(rank)) for rank in (1, 2, 3)}


def windows_out(spatial: tuple[int, ...], window: Window) -> tuple[int, ...]:
    words = _AXIS_WORDS.get(len(spatial)) or tuple(axis_word(len(spatial), axis) for axis in range(len(spatial)))
    kernel, stride, pads, dilation, ceil_mode = window
    return tuple(
        window_out(size, kernel[axis], stride[axis], pads[2 * axis], pads[2 * axis + 1], dilation[axis], ceil_mode,
                   words[axis])
        for axis, size in enumerate(spatial)
    )  # fmt: skip


def check_border_padding(layer: str, mode: str, pads: Pads, spatial: tuple[int, ...]) -> None:
    """torch's limits on padding that copies pixels: reflect needs pad <= size - 1, circular pad <= size."""
    if mode not in ("reflect", "circular"):
        return
    for axis, ((before, after), size) in enumerate(zip(sides(pads), spatial)):
        limit = size - 1 if mode == "reflect" else size
        if max(before, after) > limit:
            raise ArchcalcError(f"{layer}: {mode} padding {max(before, after)} must be at most {limit} for "
                                f"{axis_word(len(spatial), axis)} {size}")  # fmt: skip


# ----- closed-form counts ------------------------------------------------------------------------------
def floor_sum(n: int, m: int, a: int, b: int) -> int:
    """sum_{i=0}^{n-1} floor((a i + b) / m) for n, m >= 1 and a, b >= 0, in O(log) (the Euclid-like
    reduction of AtCoder's library): no loop over i."""
    total = 0
    while True:
        if a >= m:
            total += (n - 1) * n // 2 * (a // m)
            a %= m
        if b >= m:
            total += n * (b // m)
            b %= m
        y_max = a * n + b
        if y_max < m:
            return total
        n, b, m, a = y_max // m, y_max % m, a, m


def lattice_below(x: int, count_i: int, step_i: int, count_t: int, step_t: int) -> int:
    """#{(i, t) : 0 <= i < count_i, 0 <= t < count_t, i * step_i + t * step_t <= x}, in O(log)."""
    if x < 0 or count_i <= 0 or count_t <= 0:
        return 0
    last_t = min(count_t - 1, x // step_t)  # taps with any i at all
    # t <= capped: every i fits (x - t step_t >= (count_i - 1) step_i)
    capped = min(last_t, (x - (count_i - 1) * step_i) // step_t) if x >= (count_i - 1) * step_i else -1
    total = (capped + 1) * count_i
    first = capped + 1
    if first <= last_t:  # sum of floor((x - t step_t) / step_i) + 1 for t = first .. last_t, reversed
        terms = last_t - first + 1
        total += floor_sum(terms, step_i, step_t, x - last_t * step_t) + terms
    return total


def clamped_ceil_sum(first: int, stop: int, x: int, step: int, divisor: int, cap: int) -> int:
    """sum_{t=first}^{stop-1} clamp(ceil((x - t step) / divisor), 0, cap), in O(log) (non-increasing in t)."""
    if first >= stop or cap <= 0:
        return 0
    # ceil((x - t step)/divisor) >= cap  <=>  t step <= x - (cap - 1) divisor - 1 ... (as integers)
    bound = x - (cap - 1) * divisor - 1
    full_end = min(stop, bound // step + 1) if bound >= 0 else first  # t < full_end give `cap`
    full_end = max(full_end, first)
    positive_end = min(stop, (x - 1) // step + 1) if x >= 1 else first  # t < positive_end give >= 1
    total = (full_end - first) * cap
    if full_end < positive_end:  # ceil((x - t step)/divisor) = floor((x - t step + divisor - 1)/divisor)
        last = positive_end - 1
        total += floor_sum(positive_end - full_end, divisor, step, x + divisor - 1 - last * step)
    return total


def real_window_total(size: int, out: int, kernel: int, stride: int, before: int, dilation: int) -> int:
    """Input elements (padding excluded) read by all `out` windows along one axis, in closed form.

    torch's pooling kernels clip each window to the input, so only these elements are compared or
    added. Window o's tap t reads position o*stride - before + t*dilation; the pairs (o, t) landing in
    [0, size) are the lattice points with before <= o*stride + t*dilation <= size - 1 + before.
    """
    left = lattice_below(before - 1, out, stride, kernel, dilation)  # taps before position 0 (0 unpadded)
    if (out - 1) * stride + (kernel - 1) * dilation - before <= size - 1:  # no window passes the end
        return out * kernel - left
    return lattice_below(size - 1 + before, out, stride, kernel, dilation) - left


def transposed_coverage(size_in: int, size_out: int, kernel: int, stride: int, pad: int, dilation: int) -> int:
    """Output positions along one axis that receive at least one product in a transposed conv, O(log).

    Input i and tap t write position i*s + t*d - p. With g = gcd(s, d) every sum i*s + t*d is g times
    y = i*s' + t*d' (s', d' coprime); we count the distinct y in [low, high) = [ceil(p/g), ceil((p + out)/g)).
    - If n < d' and k < s', all n*k sums are distinct (i*s' + t*d' = i'*s' + t'*d' needs d' | i - i'):
      the count is a lattice-point count.
    - Otherwise (swapping (n, s') with (k, d') if needed, so that n >= d'): taps t = t0, t0 + s', ...
      all hit residue t0*d' mod s' and, as y = t0*d' + s'*o, cover one run o in [0, (m - 1)*d' + n)
      (runs of n spaced d' <= n touch); the classes t0 < min(k, s') never overlap. Summing the runs'
      overlaps with the window over t0 is a clamped floor sum.
    """
    g = _gcd(stride, dilation)
    n, s, k, d = size_in, stride // g, kernel, dilation // g
    low, high = -(-pad // g), -(-(pad + size_out) // g)  # y in [low, high)
    if n < d and k < s:
        return lattice_below(high - 1, n, s, k, d) - lattice_below(low - 1, n, s, k, d)
    if n < d:
        n, s, k, d = k, d, n, s
    classes = min(k, s)
    q, r = divmod(k, s)
    total = 0
    # classes t0 < r hold q + 1 taps, the others q (when k < s: every class holds one tap)
    for first, stop, taps in ((0, min(r, classes), q + 1), (min(r, classes), classes, q)):
        if first < stop and taps > 0:
            run = (taps - 1) * d + n
            total += clamped_ceil_sum(first, stop, high, d, s, run) - clamped_ceil_sum(first, stop, low, d, s, run)
    return total


def _gcd(a: int, b: int) -> int:
    import math

    return math.gcd(a, b)


# ----- formulas ----------------------------------------------------------------------------------------
# Symbols per spatial axis (size, kernel, stride, pad before, pad after, dilation), by rank.
_SYMBOLS = {
    "L": ("L", "k", "s", "p_l", "p_r", "d"),
    "H": ("H", "k_h", "s_h", "p_t", "p_b", "d_h"),
    "W": ("W", "k_w", "s_w", "p_l", "p_r", "d_w"),
    "D": ("D", "k_d", "s_d", "p_front", "p_back", "d_d"),
}


def axis_symbols(rank: int, axis: int) -> tuple[str, str, str, str, str, str]:
    """(size, kernel, stride, pad before, pad after, dilation) symbols of one spatial axis."""
    name = spatial_names(rank)[axis]
    return _SYMBOLS.get(name, (name, f"k_{name}", f"s_{name}", f"p_{name}0", f"p_{name}1", f"d_{name}"))


def kernel_terms(kernel: tuple[int, ...]) -> list[Expr]:
    """k_h, k_w (k; k_d, k_h, k_w) with their values."""
    return [Term(axis_symbols(len(kernel), axis)[1], size) for axis, size in enumerate(kernel)]


def window_formula(rank: int, axis: int, size: int, kernel: int, stride: int, before: int, after: int,
                   dilation: int, ceil_mode: bool = False) -> Formula:  # fmt: skip
    """`window_out` as a formula, leaving out what has no effect (no padding, stride 1, dilation 1):
    H_out = ⌊(H + p_t + p_b − k_h) / s_h⌋ + 1 = ⌊(224 + 3 + 3 − 7) / 2⌋ + 1 = 112."""
    size_s, kernel_s, stride_s, before_s, after_s, dilation_s = axis_symbols(rank, axis)
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
    if ceil_mode and (window_out(size, kernel, stride, before, after, dilation, True, size_s) < expr.value()):
        expr, note = expr - 1, "ceil mode: the last window would start in the padding, so it is dropped"
    return Formula(f"{size_s}_out", expr, note)


def window_formulas(window: Window, spatial: tuple[int, ...]) -> list[Formula]:
    """One `window_formula` per spatial axis."""
    rank = len(spatial)
    return [window_formula(rank, axis, size, window.kernel[axis], window.stride[axis], before, after,
                           window.dilation[axis], window.ceil_mode)
            for axis, (size, (before, after)) in enumerate(zip(spatial, sides(window.pads)))]  # fmt: skip
