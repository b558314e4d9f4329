"""Block instances: the arguments a block's layers see (spec/expand.py expands the block itself)."""

from __future__ import annotations

import keyword
from typing import Any

from archcalc.errors import brief, closest
from archcalc.spec.source import line_at as _line
from archcalc.spec.values import listing as _listing
from archcalc.spec.work import REPEAT_INDEX


def block_env(expander: Any, name: str, definition: dict, item: dict, env: dict, path: str) -> dict:
    """The variables a block instance's layers see: the spec's, then the block's parameters, from the
    instance's `args` (evaluated where the instance is written) or their defaults (evaluated in the block)."""
    params = definition.get("params") or {}
    args = item.get("args") or {}
    if not isinstance(params, dict):
        raise expander.fail(f"block {name!r}: 'params' must map parameter names to defaults, got {brief(params)}",
                            _line(definition, "params"), path)  # fmt: skip
    if not isinstance(args, dict):
        raise expander.fail(f"block {name!r}: 'args' must map parameter names to values, got {brief(args)}",
                            _line(item, "args"), path)  # fmt: skip
    for key in params:
        if not isinstance(key, str) or not key.isidentifier() or key == REPEAT_INDEX or keyword.iskeyword(key):
            raise expander.fail(f"block {name!r}: bad parameter name {brief(key)} (use an identifier other than 'i')",
                                _line(params, key), path)  # fmt: skip
    for key in args:
        if key not in params:
            raise expander.fail(f"block {name!r} has no parameter {brief(key)}{closest(key, list(params))}; "
                                f"parameters: {_listing(params)}", _line(args, key), path)  # fmt: skip
    expander._charge((), _line(item), path, extra=len(params) + len(args))
    inner = dict(expander.globals)
    for key, default in params.items():
        if key in args:
            inner[key] = expander._eval(args[key], env, args, key, path)
        elif default is None:
            raise expander.fail(f"block {name!r} needs argument {key!r}", _line(item), path)
        else:
            inner[key] = expander._eval(default, inner, params, key, path)
    return inner
