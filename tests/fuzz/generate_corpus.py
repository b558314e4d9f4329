"""Generate malformed specs by mutating the built-in ones (specs/**/*.yaml, whatever is there).

The fuzz tests (tests/fuzz/test_fuzz.py) generate their corpus from a fixed seed at test time, so it
follows the specs as they are and nothing generated is checked in. To look at the cases:

    python tests/fuzz/generate_corpus.py --out /tmp/fuzz               # seed 0, the test's per-spec count
    python tests/fuzz/generate_corpus.py --per-spec 400 --seed 7 --out /tmp/fuzz

Each case is one file plus a line in MANIFEST.json: the spec it came from, the mutation, and whether
the damage sits in a layer (then an error must name the layer path).

Data mutations edit the parsed YAML and dump it again; text mutations damage the bytes (truncation,
stray bytes, tabs, lost colons and brackets). A case may stack several mutations.
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import sys
from pathlib import Path
from typing import Any, Callable

import yaml

if __package__:
    from tests.fuzz.bad_values import (BAD_EXPRESSIONS, BAD_SIZES, SIZE_KEYS, TYPO_KEYS, UNKNOWN_NAMES,
                                       UNKNOWN_TYPES, WRONG_VALUES)
    from tests.fuzz.text_mutations import TEXT_MUTATIONS
else:  # run as a script: python tests/fuzz/generate_corpus.py
    from bad_values import (BAD_EXPRESSIONS, BAD_SIZES, SIZE_KEYS, TYPO_KEYS,  # type: ignore[no-redef]
                            UNKNOWN_NAMES, UNKNOWN_TYPES, WRONG_VALUES)
    from text_mutations import TEXT_MUTATIONS  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "specs"
SEED = 0
CASES = 1120  # cases a test run generates in all (spread over the specs); make fuzz-long asks for many more


# ----- walking the document ------------------------------------------------------------------------
def _mappings(node: Any, path: tuple = ()) -> list[tuple[tuple, dict]]:
    """Every mapping in the document with its path (keys and list indices), iteratively."""
    found, stack = [], [(path, node)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, dict):
            found.append((where, item))
            stack.extend((where + (key,), value) for key, value in item.items())
        elif isinstance(item, list):
            stack.extend((where + (index,), value) for index, value in enumerate(item))
    return sorted(found, key=lambda pair: [str(part) for part in pair[0]])


def _layer_items(doc: dict) -> list[tuple[tuple, dict]]:
    """Mappings that are entries of a `layers` list (top level, groups or block definitions)."""
    return [(p, m) for p, m in _mappings(doc) if len(p) >= 2 and p[-2] == "layers" and isinstance(p[-1], int)]


def _in_layers(path: tuple) -> bool:
    return bool(path) and path[0] in ("layers", "blocks") and "layers" in path


def _named_top(doc: dict) -> list[tuple[int, str]]:
    layers = doc.get("layers") if isinstance(doc, dict) else None
    if not isinstance(layers, list):
        return []
    return [(i, item["name"]) for i, item in enumerate(layers)
            if isinstance(item, dict) and isinstance(item.get("name"), str)]  # fmt: skip


# ----- data mutations: each returns (detail, in_layer) or None when it does not apply --------------
Mutation = Callable[[random.Random, dict], "tuple[str, bool] | None"]


def on_layer_item(wanted: str | None = None) -> Callable:
    """Decorate a mutation of one random layer entry (one that has key `wanted`, if given)."""

    def decorate(mutate: Callable) -> Mutation:
        def mutation(rng: random.Random, doc: dict):
            items = [(p, m) for p, m in _layer_items(doc) if wanted is None or wanted in m]
            if not items:
                return None
            path, item = rng.choice(items)
            return mutate(rng, doc, item), True

        mutation.__name__ = mutate.__name__
        return mutation

    return decorate


def on_top_layer(mutate: Callable) -> Mutation:
    """Decorate a mutation around one random named entry of the top-level `layers` list."""

    def mutation(rng: random.Random, doc: dict):
        named = _named_top(doc)
        if not named:
            return None
        index, name = rng.choice(named)
        return mutate(rng, doc, index, name), True

    mutation.__name__ = mutate.__name__
    return mutation


def on_key(mutate: Callable) -> Mutation:
    """Decorate a mutation of one random key of one random mapping anywhere in the document."""

    def mutation(rng: random.Random, doc: dict):
        path, mapping = rng.choice(_mappings(doc))
        if not mapping:
            return None
        key = rng.choice(list(mapping))
        detail = mutate(rng, mapping, key)
        return None if detail is None else (f"{'/'.join(map(str, path + (key,)))}: {detail}", _in_layers(path))

    mutation.__name__ = mutate.__name__
    return mutation


@on_key
def drop_key(rng: random.Random, mapping: dict, key: Any) -> str:
    del mapping[key]
    return "dropped"


@on_key
def rename_key(rng: random.Random, mapping: dict, key: Any) -> str | None:
    new = TYPO_KEYS.get(key) or rng.choice([str(key).upper(), f"{key}_", f" {key}", str(key)[:-1] or "x"])
    if new in mapping:
        return None
    items = [(new if k == key else k, v) for k, v in mapping.items()]
    mapping.clear()
    mapping.update(items)
    return f"renamed to {new!r}"


@on_key
def wrong_type(rng: random.Random, mapping: dict, key: Any) -> str:
    mapping[key] = copy.deepcopy(rng.choice(WRONG_VALUES))
    return f"= {mapping[key]!r}"


def bad_size(rng: random.Random, doc: dict):
    slots = [(p, m, k) for p, m in _mappings(doc) for k in m if k in SIZE_KEYS]
    slots += [((), doc, "input")] if "input" in doc else []
    if not slots:
        return None
    path, mapping, key = rng.choice(slots)
    value = rng.choice(BAD_SIZES)
    if key == "input" and isinstance(mapping[key], list) and mapping[key]:
        sizes = list(mapping[key])
        sizes[rng.randrange(len(sizes))] = value
        mapping[key] = rng.choice([sizes, [10**13] * 3, [], [1, 2, 3, 4], "3x224x224"])
    else:
        mapping[key] = value
    return f"{'/'.join(map(str, path + (key,)))} = {str(mapping[key])[:40]}", _in_layers(path + (key,))


@on_layer_item("type")
def unknown_type(rng: random.Random, doc: dict, item: dict) -> str:
    item["type"] = rng.choice(UNKNOWN_TYPES)
    return f"{item.get('name')} type {item['type']!r}"


@on_layer_item()
def unknown_input(rng: random.Random, doc: dict, item: dict) -> str:
    item["inputs"] = rng.choice([rng.choice(UNKNOWN_NAMES), [rng.choice(UNKNOWN_NAMES), "input"], [], [None], 7])
    return f"{item.get('name')} inputs {item['inputs']!r}"


def cyclic_input(rng: random.Random, doc: dict):
    named = _named_top(doc)
    if len(named) < 2:
        return None
    (i, _), (_, later) = sorted(rng.sample(named, 2))
    doc["layers"][i]["inputs"] = later if rng.random() < 0.8 else doc["layers"][i]["name"]
    return f"layers/{i} inputs {doc['layers'][i]['inputs']!r}", True


@on_top_layer
def shape_mismatch(rng: random.Random, doc: dict, index: int, name: str) -> str:
    kind = rng.choice(["add", "concat", "mul"])
    other = rng.choice(["input"] + [n for _, n in _named_top(doc)])
    entry = {"name": f"fuzz_{kind}", "type": kind, "inputs": [name, other]}
    if kind == "concat" and rng.random() < 0.5:
        entry["axis"] = rng.choice([1, 2, 5, -4])
    doc["layers"].insert(index + 1, entry)
    return f"{kind} of {name} and {other} after layers/{index}"


def bad_expression(rng: random.Random, doc: dict):
    slots = [(p, m, k) for p, m in _layer_items(doc) for k in m if k not in ("type", "name", "block", "inputs")]
    slots += [(("variables",), doc["variables"], k) for k in doc.get("variables") or {}] if isinstance(
        doc.get("variables"), dict) else []  # fmt: skip
    if not slots:
        return None
    path, mapping, key = rng.choice(slots)
    mapping[key] = rng.choice(BAD_EXPRESSIONS)
    return f"{'/'.join(map(str, path + (key,)))} = {mapping[key][:40]!r}", _in_layers(path)


@on_layer_item()
def huge_repeat(rng: random.Random, doc: dict, item: dict) -> str:
    item["repeat"] = rng.choice([10**9, "10**9", "2**40", 10**6, 0, -1, 2.5, "i", True])
    return f"{item.get('name')} repeat {item['repeat']!r}"


@on_top_layer
def nested_repeat(rng: random.Random, doc: dict, index: int, name: str) -> str:
    """A group repeated 2,000 times holding a layer repeated 2,000 times: 4 million layers."""
    layer = copy.deepcopy(doc["layers"][index])
    layer.pop("name", None)
    layer.pop("inputs", None)
    layer["repeat"] = 2000
    doc["layers"].insert(index + 1, {"name": "fuzz_bomb", "repeat": 2000, "layers": [layer]})
    return f"nested repeats after {name}"


@on_top_layer
def deep_nesting(rng: random.Random, doc: dict, index: int, name: str) -> str:
    levels = rng.choice([70, 120, 30])  # 120 groups are 240 YAML levels: over --max-yaml-nesting
    entry: Any = doc["layers"][index]
    for level in range(levels):
        entry = {"name": f"g{level}", "layers": [entry]}
    doc["layers"][index] = entry
    return f"{name} wrapped in {levels} groups"


def recursive_block(rng: random.Random, doc: dict):
    blocks = doc.setdefault("blocks", {}) if isinstance(doc.get("blocks", {}), dict) else None
    layers = doc.get("layers")
    if blocks is None or not isinstance(layers, list):
        return None
    if rng.random() < 0.5:
        blocks["fuzz_loop"] = {"layers": [{"type": "relu"}, {"block": "fuzz_loop"}]}
    else:
        blocks["fuzz_a"] = {"layers": [{"block": "fuzz_b"}]}
        blocks["fuzz_b"] = {"layers": [{"type": "identity"}, {"block": "fuzz_a"}]}
    first = next(name for name in blocks if str(name).startswith("fuzz_"))
    layers.insert(rng.randrange(len(layers) + 1), {"name": "fuzz_rec", "block": first})
    return "recursive block definition", True


@on_layer_item("block")
def block_args(rng: random.Random, doc: dict, item: dict) -> str:
    choice = rng.randrange(4)
    if choice == 0:
        item.setdefault("args", {})["no_such_param"] = 3
    elif choice == 1:
        item.pop("args", None)
    elif choice == 2:
        item["args"] = rng.choice([[1, 2], "x", 5])
    else:
        item["block"] = rng.choice(["no_such_block", "", 3, ["a"]])
    return f"{item.get('name')} block/args broken ({choice})"


@on_layer_item()
def bad_name(rng: random.Random, doc: dict, item: dict) -> str:
    named = [n for _, n in _named_top(doc)]
    item["name"] = rng.choice(["a.b", "input", "", [1], None, 3.5] + named[:1])
    return f"name {item['name']!r}"


def bad_when(rng: random.Random, doc: dict):
    items = _layer_items(doc)
    if not items:
        return None
    if rng.random() < 0.3 and isinstance(doc.get("layers"), list):
        for item in doc["layers"]:
            if isinstance(item, dict):
                item["when"] = False
        return "every top-level entry dropped", False
    path, item = rng.choice(items)
    item["when"] = rng.choice(["1/0", "undefined_flag", "[", [1], "i == 0"])
    return f"{'/'.join(map(str, path))} when {item['when']!r}", True


def bad_variables(rng: random.Random, doc: dict):
    variables = doc.setdefault("variables", {}) if isinstance(doc.get("variables", {}), dict) else None
    if variables is None:
        return None
    choice = rng.randrange(5)
    if choice == 0:
        variables.update({"fuzz_a": "fuzz_b + 1", "fuzz_b": "fuzz_a + 1"})
    elif choice == 1:
        variables["i"] = 3
    elif choice == 2:
        variables["fuzz_d"] = {"nested": 1}
    elif choice == 3:
        variables["fuzz_big"] = list(range(20000))
    else:
        variables["fuzz s"] = 1
    return f"variables broken ({choice})", False


def bad_outputs(rng: random.Random, doc: dict):
    doc["outputs"] = rng.choice(["nope", "input", [], [1], ["nope", "input"], {"a": 1}])
    return f"outputs {doc['outputs']!r}", False


def bad_top(rng: random.Random, doc: dict):
    choice = rng.randrange(6)
    if choice == 0:
        doc.pop("layers", None)
    elif choice == 1:
        doc.pop("input", None)
    elif choice == 2:
        doc["layers"] = rng.choice([[], {}, "conv2d", None])
    elif choice == 3:
        doc["blocks"] = rng.choice([[], "x", {"b": None}, {"b": {"layers": []}}])
    elif choice == 4:
        doc["name"] = rng.choice(["", None, [1]])
    else:
        doc["extra_key"] = 1
    return f"top-level broken ({choice})", False


DATA_MUTATIONS: dict[str, Mutation] = {
    f.__name__: f for f in (drop_key, rename_key, wrong_type, bad_size, unknown_type, unknown_input, cyclic_input,
                            shape_mismatch, bad_expression, huge_repeat, deep_nesting, recursive_block, block_args,
                            bad_name, bad_when, bad_variables, bad_outputs, bad_top)  # fmt: skip
}
# Rare: each of these builds up to --max-layers nodes before it is refused.
SLOW_MUTATIONS: dict[str, Mutation] = {"nested_repeat": nested_repeat}


# ----- putting cases together --------------------------------------------------------------------
def dump(doc: Any) -> bytes:
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))  # PyYAML's dumper recurses per level
    return yaml.safe_dump(doc, sort_keys=False, default_flow_style=None, width=120, allow_unicode=True).encode()


def spec_files(root: Path = SPECS) -> list[Path]:
    return sorted(root.rglob("*.yaml"))


def per_spec(total: int = CASES, root: Path = SPECS) -> int:
    """Cases per spec so that all specs together give about `total`."""
    return max(4, -(-total // max(1, len(spec_files(root)))))


def cases_for(path: Path, count: int, rng: random.Random, root: Path = SPECS) -> list[dict]:
    source = path.read_bytes()
    original = yaml.safe_load(source)
    slug = path.relative_to(root).with_suffix("").as_posix().replace("/", "_")
    kinds = list(DATA_MUTATIONS) + list(TEXT_MUTATIONS)
    # Each spec starts the round of kinds at its own place: with more specs than cases per spec allow for
    # every kind, the zoo as a whole still has them all.
    start = rng.randrange(len(kinds))
    kinds = kinds[start:] + kinds[:start]
    cases: list[dict] = []
    attempts = 0
    while len(cases) < count and attempts < count * 20:
        attempts += 1
        kind = kinds[attempts - 1] if attempts <= len(kinds) else rng.choice(kinds)  # every kind once first
        if len(cases) == count // 2 and rng.random() < 0.25:
            kind = "nested_repeat"
        if kind in TEXT_MUTATIONS:
            data, detail = TEXT_MUTATIONS[kind](rng, source)
            cases.append({"spec": slug, "kind": kind, "detail": detail, "in_layer": False, "data": data})
            continue
        doc = copy.deepcopy(original)
        mutation = {**DATA_MUTATIONS, **SLOW_MUTATIONS}[kind]
        applied = mutation(rng, doc)
        if applied is None:
            continue
        details, in_layer = [applied[0]], applied[1]
        while rng.random() < 0.25:  # sometimes stack a second (third, ...) mutation
            extra_kind = rng.choice(list(DATA_MUTATIONS))
            extra = DATA_MUTATIONS[extra_kind](rng, doc) if isinstance(doc, dict) else None
            if extra is not None:
                details.append(extra[0])
                in_layer = in_layer and extra[1]
        cases.append({"spec": slug, "kind": kind, "detail": "; ".join(details), "in_layer": in_layer,
                      "data": dump(doc)})  # fmt: skip
    return cases


def generate(per_spec: int, seed: int, root: Path = SPECS) -> list[dict]:
    cases: list[dict] = []
    for path in spec_files(root):
        rng = random.Random(f"{seed}:{path.relative_to(root).as_posix()}")
        cases.extend(cases_for(path, per_spec, rng, root))
    for number, case in enumerate(cases):
        case["file"] = f"{number:04d}-{case['spec']}-{case['kind']}.yaml"
    return cases


def write(cases: list[dict], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.yaml"):
        old.unlink()
    for case in cases:
        (folder / case["file"]).write_bytes(case["data"])
    manifest = [{key: value for key, value in case.items() if key != "data"} for case in cases]
    (folder / "MANIFEST.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-spec", type=int, default=per_spec())
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", type=Path, required=True, help="a folder to write the cases into")
    args = parser.parse_args()
    cases = generate(args.per_spec, args.seed)
    write(cases, args.out)
    print(f"wrote {len(cases)} cases to {args.out}")


if __name__ == "__main__":
    main()
