"""Parsing `bench` options that are not plain numbers: the dtype list and the swept variable. Torch-free."""

from __future__ import annotations

from typing import Any

from archcalc.errors import ArchcalcError, closest

# Element types bench can run (integer types have no float kernels to time).
BENCH_DTYPES = ("float32", "float16", "bfloat16", "float64")


def parse_dtypes(text: str) -> list[str]:
    """'float32,bfloat16' -> ['float32', 'bfloat16']; each known, none twice."""
    from archcalc.hints import canonical_dtype

    names = [canonical_dtype(part.strip()) for part in text.split(",")]
    if not all(names):
        raise ArchcalcError(f"--dtype takes one dtype or a comma list like float32,bfloat16, got {text!r}")
    for name in names:
        if name not in BENCH_DTYPES:
            raise ArchcalcError(f"--dtype: bench cannot run {name!r}{closest(name, BENCH_DTYPES)}; "
                                f"choose from {', '.join(BENCH_DTYPES)}")  # fmt: skip
    if len(set(names)) != len(names):
        raise ArchcalcError(f"--dtype names a dtype twice: {text!r}")
    return names


def parse_sweep(text: str | None) -> tuple[str, list[Any]] | None:
    """'channels=16,32,64' -> ('channels', [16, 32, 64]); values are YAML like --set ('w=[1,2],[3,4]' sweeps lists)."""
    if text is None:
        return None
    from archcalc.spec.source import parse_text

    name, sep, values = text.partition("=")
    name = name.strip()
    if not sep or not name.isidentifier() or not values.strip():
        raise ArchcalcError(f"--sweep takes name=value,value,..., got {text!r}")
    try:
        parsed = parse_text(f"[{values}]", None)
    except ArchcalcError as exc:
        raise ArchcalcError(f"--sweep {name}: cannot read values {values!r}: {exc.message}") from None
    if not isinstance(parsed, list) or any(v is None or isinstance(v, dict) for v in parsed):
        raise ArchcalcError(f"--sweep {name}: give numbers, booleans, strings or lists, got {values!r}")
    if len({repr(v) for v in parsed}) != len(parsed):
        raise ArchcalcError(f"--sweep {name}: a value is given twice in {values!r}")
    return name, list(parsed)
