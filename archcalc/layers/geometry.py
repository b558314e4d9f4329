"""Per-axis sliding-window arithmetic shared by convolution and pooling rules.

Output size along one axis (torch's formula, also the seeds'):
    out = floor((in + pad_before + pad_after - dilation * (kernel - 1) - 1) / stride) + 1
With ceil_mode the division rounds up, and (as in torch) a last window that would start in the
right padding is dropped: if (out - 1) * stride >= in + pad_before then out -= 1. Division rounds
toward minus infinity, as torch's does, so in ceil mode a window larger than the padded input still
gives one output when it starts inside the input (a 2x2/2 pool on a 1x1 map gives 1x1).
"""

from __future__ import annotations

from archcalc.errors import ArchcalcError

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
                f" ({size} + padding {before}+{after})"
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
