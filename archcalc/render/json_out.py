"""The JSON contract of `archcalc report --format json`.

Contract keys come first, in the documented order; extra keys follow. Shapes exclude the batch
axis; every count is an exact integer. Layers are written one per line: readable, diff-friendly,
and fast (an indented dump of a 100,000-layer report would take the pure-Python encoder several
seconds). A layer whose values have the types the analysis gives (text, integers, lists of them,
None, booleans) is written by one format string, the exact text json's encoder writes for it, in a
third of the time; any other goes through json's encoder.
"""

from __future__ import annotations

import json
from itertools import chain, repeat
from json.encoder import encode_basestring_ascii as _text
from operator import attrgetter
from typing import Callable, Iterable

from archcalc.analysis.results import LayerResult, Report

LAYER_KEYS = ("name", "type", "inputs", "output_shape", "params", "macs", "flops", "connections", "activations",
              "receptive_field", "effective_stride", "effective_padding")  # fmt: skip
LAYER_EXTRAS = ("trainable_params", "non_trainable_params", "buffers", "shared_params", "shared_buffers", "rf_aligned",
                "category")  # fmt: skip
TOTAL_KEYS = ("params", "trainable_params", "non_trainable_params", "buffers", "macs", "flops", "connections",
              "activations", "param_bytes", "activation_bytes", "neurons", "peak_activation_bytes")  # fmt: skip


def layer_dict(layer: LayerResult) -> dict:
    data = layer.__dict__
    return {key: data[key] for key in LAYER_KEYS + LAYER_EXTRAS}


def _with_count(data: dict, convention_count: int) -> dict:
    data["convention_count"] = convention_count
    return data


class EncodedItems(list):
    """Elements of a list already written as compact JSON text (one line each in dumps_layered)."""


_INTS = attrgetter("params", "macs", "flops", "connections", "activations", "trainable_params", "non_trainable_params",
                   "buffers", "shared_params", "shared_buffers")  # fmt: skip
_FIELD_LISTS = attrgetter("receptive_field", "effective_stride", "effective_padding")
_JSON_CONSTANTS = {None: "null", True: "true", False: "false"}


def _integers(values: Iterable) -> bool:
    """Whether `values` are all integers, by their sum (C speed): a float, None, text or numpy number among
    them makes the sum something else or fails. Booleans pass (a count is never one)."""
    try:
        return type(sum(values)) is int
    except TypeError:
        return False


def _all_plain(layers: list[LayerResult], counts: list) -> bool:
    """Whether each layer's own numbers are integers and its lists are lists, as `_layer_text` writes them (what
    layers of one signature share is checked once, by `_plain_shared`; texts are checked as they are written:
    the encoder refuses anything else)."""
    flat = chain.from_iterable
    lists = list(flat(map(_FIELD_LISTS, layers)))  # None without a receptive field
    return (_integers(counts) and _integers(flat(filter(None, lists))) and set(map(type, lists)) <= {list, type(None)}
            and set(map(type, map(attrgetter("inputs"), layers))) <= {list})  # fmt: skip


def _plain_shared(layer: LayerResult) -> bool:
    """Whether the counts and output shape of a layer (and so of its signature) are integers and a list."""
    shape = layer.output_shape
    return _integers(_INTS(layer)) and (shape is None or type(shape) is list and _integers(shape))


def _list_texts() -> Callable[[list | None], str]:
    """A writer of lists of integers (or None) as JSON text, each distinct one written once: a report repeats
    a few shapes and strides."""
    known: dict[tuple, str] = {}
    get = known.get

    def listed(values: list | None) -> str:
        if values is None:
            return "null"
        key = tuple(values)
        text = get(key)
        if text is None:
            text = known[key] = repr(values)  # the repr of a list of integers is its JSON text
        return text

    return listed


def _layer_text(layer: LayerResult, count: int, listed: Callable[[list | None], str], alike: dict) -> str:
    """`compact(layer_dict(layer) + convention_count)` for a layer `_all_plain` checked. What layers of one
    signature share (LayerResult.signature) is written once and kept in `alike`; `listed` writes each distinct
    list once (a 100,000-layer spec repeats a few layers, and its receptive fields a few strides)."""
    shared = alike.get(layer.signature)
    if shared is None:
        if not _plain_shared(layer):
            raise TypeError("not plain data: the encoder writes it")
        shared = (_text(layer.type),
                  f'"output_shape": {listed(layer.output_shape)}, "params": {layer.params}, "macs": {layer.macs}, '
                  f'"flops": {layer.flops}, "connections": {layer.connections}, "activations": {layer.activations}',
                  f'"trainable_params": {layer.trainable_params}, '
                  f'"non_trainable_params": {layer.non_trainable_params}, "buffers": {layer.buffers}, '
                  f'"shared_params": {layer.shared_params}, '
                  f'"shared_buffers": {layer.shared_buffers}', _text(layer.category))  # fmt: skip
        if layer.signature is not None:
            alike[layer.signature] = shared
    kind, counts, held, category = shared
    return (f'{{"name": {_text(layer.name)}, "type": {kind}, "inputs": [{", ".join(map(_text, layer.inputs))}], '
            f'{counts}, "receptive_field": {listed(layer.receptive_field)}, '
            f'"effective_stride": {listed(layer.effective_stride)}, '
            f'"effective_padding": {listed(layer.effective_padding)}, {held}, '
            f'"rf_aligned": {_JSON_CONSTANTS[layer.rf_aligned]}, "category": {category}, "convention_count": {count}}}')  # fmt: skip


def _layer_texts(layers: list[LayerResult], counts: list) -> EncodedItems:
    if _all_plain(layers, counts):
        try:
            return EncodedItems(map(_layer_text, layers, counts, repeat(_list_texts()), repeat({})))
        except (TypeError, KeyError):  # a name or category that is not text, rf_aligned not a boolean
            pass
    compact = json.JSONEncoder(separators=(", ", ": ")).encode
    return EncodedItems(compact(_with_count(layer_dict(layer), count)) for layer, count in zip(layers, counts))


def report_dict(report: Report, depth: int | str | None = None, encoded: bool = False) -> dict:
    """The report's convention (`--convention`) goes in `convention`, totals and each layer; default archcalc's.

    `encoded`: the layers as EncodedItems (JSON text), for dumps_layered."""
    # archcalc's own convention is its MACs: no need to load the convention tables for it.
    convention = report.convention
    name, total = (convention.convention, convention.total) if convention else ("archcalc", report.totals.macs)
    counts = convention.layers if convention else [layer.macs for layer in report.layers]
    totals = report.totals.__dict__
    layers = (_layer_texts(report.layers, counts) if encoded else
              [_with_count(layer_dict(layer), count) for layer, count in zip(report.layers, counts)])  # fmt: skip
    data = {
        "name": report.name,
        "input_shape": report.input_shape,
        "batch": report.batch,
        "dtype": report.dtype,
        "totals": {**{key: totals[key] for key in TOTAL_KEYS}, "convention_total": total},
        "layers": layers,
        "outputs": report.outputs,
        "depth": report.depth,
        "description": report.description,
        "source": report.source,
        "variables": report.variables,
        "complete": report.complete,
        "unsupported": [dict(gap.__dict__) for gap in report.unsupported],
        "unused": [dict(unused.__dict__) for unused in report.unused],
        "convention": name,
    }
    if report.training is not None:
        from archcalc.render.training import training_dict

        data["training"] = training_dict(report.training)
    if report.llm is not None:
        from archcalc.render.llm import llm_dict

        data["llm"] = llm_dict(report.llm)
    if depth is not None:  # `--depth N`: the block tree with subtotals, N levels deep
        from archcalc.analysis.hierarchy import block_dict, block_tree, resolve_depth

        tree = block_tree(report)
        data["depth_shown"] = resolve_depth(tree, depth)
        data["blocks"] = block_dict(tree, data["depth_shown"])
    return data


def dumps_layered(data: dict) -> str:
    """Indented JSON with the elements of every list of objects on one line each."""
    compact = json.JSONEncoder(separators=(", ", ": ")).encode
    pieces = ["{\n"]  # joined once at the end: the layers of a 100,000-layer report are 45 MB of text
    items = list(data.items())
    for position, (key, value) in enumerate(items):
        comma = "," if position < len(items) - 1 else ""
        if isinstance(value, EncodedItems) and value or isinstance(value, list) and value and isinstance(value[0], dict):
            texts = value if isinstance(value, EncodedItems) else [compact(item) for item in value]
            separated = [",\n    "] * (2 * len(texts) - 1)
            separated[::2] = texts  # a separator between each two
            pieces.append(f"  {compact(key)}: [\n    ")
            pieces += separated
            pieces.append(f"\n  ]{comma}\n")
        elif isinstance(value, dict) and value:
            inner = json.dumps(value, indent=2).replace("\n", "\n  ")
            pieces.append(f"  {compact(key)}: {inner}{comma}\n")
        else:
            pieces.append(f"  {compact(key)}: {compact(value)}{comma}\n")
    pieces.append("}\n")
    return "".join(pieces)


def render_json(report: Report, depth: int | str | None = None) -> str:
    return dumps_layered(report_dict(report, depth, encoded=True))
