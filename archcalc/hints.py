"""Hints for common mistakes: what a user most likely meant, said next to the error (or as a note).

- `--input 224x224x3`: archcalc reads C×H×W (channels first, as torch does);
- `--input 1x3x224x224`: the input shape excludes the batch, which goes in `--batch`;
- `VGG16`, `ResNet-50`: built-in spec names are matched ignoring case, `-` and `_` (spec/__init__.py);
- `fp16`, `half`, `bf16`, `double`: dtype aliases (DTYPE_ALIASES).
"""

from __future__ import annotations

# Other names people use for the element types (torch's own, and the usual short forms).
DTYPE_ALIASES = {"fp64": "float64", "double": "float64", "fp32": "float32", "float": "float32",
                 "fp16": "float16", "half": "float16", "bf16": "bfloat16", "i8": "int8", "u8": "uint8"}  # fmt: skip
CHANNEL_COUNTS = (1, 3, 4)  # grey, RGB, RGBA: what a channels-last image shape ends with


def canonical_dtype(name: str) -> str:
    return DTYPE_ALIASES.get(name.lower(), name) if isinstance(name, str) else name


def _text(shape: tuple[int, ...]) -> str:
    return "x".join(str(size) for size in shape)


def input_hint(shape: tuple[int, ...] | None) -> str | None:
    """What an --input shape most likely meant, when it looks like a common mistake; None otherwise."""
    if not shape:
        return None
    if len(shape) >= 4 and shape[0] == 1:
        return (f"--input is the shape of one sample, without the batch: for {_text(shape)} give --input "
                f"{_text(shape[1:])} (and --batch N for N samples)")  # fmt: skip
    if len(shape) >= 3 and shape[-1] in CHANNEL_COUNTS and shape[0] > max(CHANNEL_COUNTS) and shape[0] == shape[1]:
        moved = (shape[-1],) + shape[:-1]
        return (f"--input is channels first (C×H×W, as torch): for a {_text(shape[:-1])} image with {shape[-1]} "
                f"channel(s) give --input {_text(moved)}")  # fmt: skip
    return None


__all__ = ["DTYPE_ALIASES", "canonical_dtype", "input_hint"]
