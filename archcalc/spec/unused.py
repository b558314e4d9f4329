"""A spec's top-level `unused:`: weights the model holds that no layer uses (graph.UnusedWeights).

    unused:
      - {name: aux1, params: 3170272, buffers: 1346}
      - {name: aux2, params: 3170272, frozen: 0, buffers: 1346}

`params` counts every parameter element (trainable or not), `frozen` those with requires_grad=False, `buffers`
the buffer elements. Imports write it (GoogLeNet's and Inception v3's auxiliary heads, which run only in
training); the totals count these weights, as sum(p.numel()) does, and no row or MAC stands for them.
"""

from __future__ import annotations

from typing import Any

from archcalc.errors import ArchcalcError, brief, closest
from archcalc.graph import UnusedWeights
from archcalc.spec.source import line_at

KEYS = ("name", "params", "frozen", "buffers")


def read_unused(raw: Any, file: str | None) -> tuple[UnusedWeights, ...]:
    """The entries of `unused:`, each checked; one line naming the entry when one is wrong."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ArchcalcError(f"'unused' must be a list of {{name, params, frozen, buffers}} entries, got {brief(raw)}",
                            file=file, line=line_at(raw))  # fmt: skip
    found, names = [], set()
    for position, entry in enumerate(raw):
        where = f"unused[{position}]"
        line = line_at(raw, position)

        def fail(message: str) -> ArchcalcError:
            return ArchcalcError(f"{where}: {message}", file=file, line=line)  # noqa: B023 - raised at once

        if not isinstance(entry, dict):
            raise fail(f"must be a mapping with {', '.join(KEYS)}, got {brief(entry)}")
        for key in entry:
            if key not in KEYS:
                raise fail(f"has no key {brief(key)}{closest(str(key), KEYS)}; its keys: {', '.join(KEYS)}")
        name = entry.get("name")
        if not isinstance(name, str) or not name:
            raise fail(f"'name' must be the module or parameter that holds the weights, got {brief(name)}")
        if name in names:
            raise fail(f"{name!r} is listed twice")
        names.add(name)
        counts = {key: entry.get(key, 0) for key in KEYS[1:]}
        for key, count in counts.items():
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                raise fail(f"'{key}' must be a count (an integer >= 0), got {brief(count)}")
        if counts["frozen"] > counts["params"]:
            raise fail(f"'frozen' ({counts['frozen']}) is more than its {counts['params']} params")
        if not counts["params"] and not counts["buffers"]:
            raise fail("holds no parameter or buffer element")
        found.append(UnusedWeights(name, **counts))
    return tuple(found)


def unused_entries(unused: tuple[UnusedWeights, ...]) -> list[dict]:
    """What export-spec writes: each entry's non-zero counts."""
    return [{"name": u.name} | {key: getattr(u, key) for key in KEYS[1:] if getattr(u, key)} for u in unused]
