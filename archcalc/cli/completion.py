"""Shell completion of values (typer's mechanism: `archcalc --install-completion`): built-in spec names
and spec files for SPEC, the formats and depths of `report`."""

from __future__ import annotations


def complete_spec(incomplete: str) -> list[str]:
    """Built-in spec names starting with what was typed (files are the shell's own completion)."""
    from archcalc.spec import builtin_specs

    return [name for name in builtin_specs() if name.startswith(incomplete)]


__all__ = ["complete_spec"]
