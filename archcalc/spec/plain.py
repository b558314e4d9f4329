"""The fast path of expansion: a plain layer entry whose attributes were seen before.

Most entries of a big spec are plain: a layer (`type:`) with literal attributes (integers, booleans,
nulls: see work.literal_key), perhaps a `name`, `inputs` and a `note`, and nothing that changes how it
expands (`when`, `repeat`, `call`, `weights`, `over`). Its type and attributes resolve, and its call checks, the
same as those of the first entry written alike, which went the general way (Expander._layer) and left
them in `Expander.plain`. `expand_plain` builds such an entry's node with none of that work.

It does exactly what the general path would, or nothing: anything the general path would refuse or
treat specially (a bad or duplicate name, too many inputs, a limit reached, a long path, a first
sighting) returns None before changing anything, and the general path then expands the entry and
reports its error with its file, line and path.
"""

from __future__ import annotations

from typing import Any

from archcalc.graph import INPUT, NO_WEIGHT_USE, Node
from archcalc.limits import take_items
from archcalc.spec.names import ROOT, Ref, Scope
from archcalc.spec.source import LineList
from archcalc.spec.work import FREE_ITEMS, literal_key

# Keys that make an entry expand otherwise (or are not a layer's); `input` is an error the general path names.
SPECIAL_KEYS = frozenset(("when", "repeat", "call", "weights", "over", "block", "layers", "input"))
# Keys of an entry that are not attributes of its type.
NOT_ATTRIBUTES = frozenset(("name", "inputs", "when", "repeat", "note", "call", "weights", "over", "type"))
LONG_PATH = 100  # paths this long or longer are charged as work (Expander._one): the general path does it


def expand_plain(expander: Any, item: dict, index: int, scope: Scope, prefix: str, previous: Any) -> str | None:
    """Expand `item` (an entry of a `layers` list, numbered `index` among the kept ones) into one node and
    return its path, or return None, having changed nothing, when it is not a plain entry seen before."""
    if type(item.get("type")) is not str or not SPECIAL_KEYS.isdisjoint(item):
        return None  # a type written as a list or mapping (hostile input) is the general path's error
    if "name" in item:
        local = item["name"]
        if type(local) is not str or not local or "." in local or local.startswith(ROOT) or local == INPUT:
            return None
    else:
        local = str(index)
    path = prefix + local
    if len(path) >= LONG_PATH or local in scope.names:
        return None
    raw = {key: value for key, value in item.items() if key not in NOT_ATTRIBUTES}
    literal = literal_key(item["type"], raw)
    known = expander.plain.get(literal) if literal is not None else None
    if known is None:
        return None
    rule, attrs, attr_items, call = known
    line = item.line
    if "inputs" in item:
        # A name this scope already gives a layer is that layer's path (Resolver.lookup would find it here first:
        # names are never redefined); any other waits as a Ref until the whole graph is known.
        declared = scope.names.get
        names = item["inputs"]
        if type(names) is str and names:
            found = declared(names)
            inputs: list[Any] = [found if type(found) is str else Ref(scope, names, item.line_of("inputs"), path)]
            input_items = 1 + len(names) // 100
        elif isinstance(names, LineList) and names and all(type(name) is str and name for name in names):
            inputs = [found if type(found := declared(name)) is str else Ref(scope, name, names.line_of(at), path)
                      for at, name in enumerate(names)]  # fmt: skip
            input_items = len(names) + sum(map(len, names)) // 100
        else:
            return None
    else:
        inputs, input_items = [previous], 0
    count = len(inputs)
    if count < rule.min_inputs or (rule.max_inputs is not None and count > rule.max_inputs):
        return None
    limits = expander.limits
    if expander.work >= limits.max_layers or len(expander.nodes) >= limits.max_layers:
        return None
    expander.work += 1
    # The general path's charges, in its order: they may stop a spec that spends too much. Each is free up to
    # FREE_ITEMS (list items that expressions touched before are charged with the first).
    pending = take_items()
    if input_items:
        if pending + input_items > FREE_ITEMS:
            expander._charge((), line, path, extra=pending + input_items)
        pending = 0
    if pending + attr_items > FREE_ITEMS:
        expander._charge((), line, path, extra=pending + attr_items)
    node = Node(path, item["type"], dict(attrs), inputs, line, expander.file, NO_WEIGHT_USE, call)
    expander.nodes.append(node)
    scope.names[local] = path
    return path
