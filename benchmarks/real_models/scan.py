"""A quick coverage scan: import each model of a campaign category, no peers, and rank what blocks it.

    python -m benchmarks.real_models.scan [--category timm] [--only NAME ...] [--timeout S] [--save FILE]

Minutes instead of the campaign's hour: only archcalc's import runs (the library entry point,
`import_model` then `analyse`, exactly what `report --module` does), one forked child per model as in
the campaign (launcher.fork_call, under a time limit and a memory cap), and the model's own
`sum(p.numel())` and `sum(b.numel())` on the same built model. No export, no check, no fvcore. It
prints the counts (imported, complete, params exact, and the models blocked only by operations with a
Python-number operand), the unsupported operations ranked by how many models they block (with their
most frequent reason and an example model), and the import failures; `--save` writes one JSON line per
model (git-ignored under .realmodels/ by default) so two scans can be compared. Run it in the
campaign's environment with this tree first on the path:

    PYTHONPATH=$PWD .venv-real/bin/python -m benchmarks.real_models.scan --save .realmodels/scan.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections import Counter, defaultdict
from pathlib import Path

from benchmarks.real_models.catalogue import Model
from benchmarks.real_models.launcher import fork_call

ROOT = Path(__file__).resolve().parents[2]
TIME_LIMIT_S = 300
MEMORY_CAP_MIB = 8 * 1024
# Arithmetic with a Python number (`x * 0.5`, `x + 1`, `x ** 2`, a scalar clamp) and pointwise math: an
# elementwise rule that found one tensor operand, or one of these operations without any rule. A heuristic
# for "blocked only by scalar operands" (an operation of this list between two tensors would count too).
SCALAR_OPS = {"operator.sub", "operator.truediv", "operator.pow", "operator.neg", "torch.pow", "torch.Tensor.pow",
              "torch.clamp", "torch.Tensor.clamp", "torch.sqrt", "torch.Tensor.sqrt", "torch.rsqrt",
              "torch.Tensor.rsqrt", "torch.Tensor.exp", "torch.exp", "torch.Tensor.neg", "torch.square",
              "torch.Tensor.sub", "torch.Tensor.div", "torch.div", "torch._tensor.Tensor.__rsub__"}  # fmt: skip


def _is_scalar_gap(gap: dict) -> bool:
    if "tensor inputs, the call has 1" in gap["reason"]:
        return True
    return gap["op"] in SCALAR_OPS and gap["reason"].startswith("no import rule")


def scan_one(model: Model) -> None:
    """The child: import the model from its factory, print one JSON line."""
    import torch

    import archcalc
    from archcalc.errors import ArchcalcError
    from archcalc.importer import import_model

    warnings.simplefilter("ignore")
    namespace: dict = {}
    exec(compile(model.code, model.key, "exec"), namespace)  # noqa: S102 - the catalogue's own factory code
    built: list = []

    def factory():
        built.append(namespace["build"]())
        return built[-1]

    result: dict = {"key": model.key}
    try:
        with torch.no_grad():
            imported = import_model(factory, model.input_shape, source=model.key)
        report = archcalc.analyse(imported.graph)
    except ArchcalcError as exc:
        result.update(imports=False, error=exc.message[:300])
    else:
        net = built[-1]
        result.update(imports=True, complete=report.complete, params=report.totals.params,
                      buffers=report.totals.buffers, torch_params=sum(p.numel() for p in net.parameters()),
                      torch_buffers=sum(b.numel() for b in net.buffers()), method=imported.method,
                      unsupported=[{"op": g.op, "name": g.name, "where": g.where, "reason": g.reason}
                                   for g in report.unsupported])  # fmt: skip
    print(json.dumps(result), flush=True)


def _models(category: str, only: list[str]) -> list[Model]:
    from benchmarks.real_models.catalogue import huggingface_models, timm_models, torchvision_models
    from benchmarks.real_models.run import timm_sample
    from benchmarks.real_models.timm_sample import select

    if category == "timm":
        models = timm_models(select(timm_sample()["sample"]))
    elif category == "huggingface":
        models = huggingface_models()
    else:
        models = [m for m in torchvision_models() if m.category == category]
    if only:
        models = [m for m in models if m.key in only or m.key.split("/", 1)[1] in only]
    return models


def summary(results: list[dict]) -> str:
    lines = []
    imported = [r for r in results if r.get("imports")]
    complete = [r for r in imported if r["complete"]]
    exact = [r for r in imported if r["params"] == r["torch_params"]]
    only_scalar = [r for r in imported if r["unsupported"] and all(map(_is_scalar_gap, r["unsupported"]))]
    lines.append(f"models {len(results)}: imported {len(imported)}, complete {len(complete)}, "
                 f"params exact {len(exact)} ({sum(r['complete'] for r in exact)} of them complete), "
                 f"blocked only by scalar operands (heuristic) {len(only_scalar)}")  # fmt: skip
    blocking: dict[str, set] = defaultdict(set)
    reasons: dict[str, Counter] = defaultdict(Counter)
    for r in imported:
        for gap in r["unsupported"]:
            blocking[gap["op"]].add(r["key"])
            reasons[gap["op"]][gap["reason"][:140]] += 1
    lines.append("\nunsupported operations, by models blocked (models, op, most frequent reason, e.g. model):")
    for op, keys in sorted(blocking.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        reason, _ = reasons[op].most_common(1)[0]
        lines.append(f"{len(keys):4d}  {op}  [{reason}]  e.g. {sorted(keys)[0]}")
    sole: Counter = Counter()
    for r in imported:
        ops = {gap["op"] for gap in r["unsupported"]}
        if len(ops) == 1:
            sole[ops.pop()] += 1
    if sole:
        lines.append("\nmodels blocked by one operation only: " + ", ".join(f"{op} {n}" for op, n in sole.most_common()))
    wrong = [r for r in imported if r["params"] != r["torch_params"]]
    if wrong:
        lines.append("\nparams differ: " + ", ".join(f"{r['key']} {r['params']} vs {r['torch_params']}" for r in wrong))
    failures = Counter(r.get("error", "")[:160] for r in results if not r.get("imports"))
    if failures:
        lines.append("\nimport failures:")
        lines.extend(f"{n:4d}  {error}" for error, n in failures.most_common())
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--category", default="timm")
    parser.add_argument("--only", action="append", default=[])
    parser.add_argument("--timeout", type=float, default=TIME_LIMIT_S)
    parser.add_argument("--save", type=Path, help="one JSON line per model")
    parser.add_argument("--summarise", type=Path, help="print the summary of a saved scan and stop")
    parser.add_argument("--detail", action="store_true", help="also print every unsupported operation")
    args = parser.parse_args()
    if args.summarise:
        print(summary([json.loads(line) for line in args.summarise.read_text().splitlines() if line.strip()]))
        return
    warnings.simplefilter("ignore")
    import torch  # noqa: F401 - imported once, before forking (the children share it)
    import timm  # noqa: F401

    import archcalc.importer  # noqa: F401
    import archcalc.importer.mapping  # noqa: F401
    import archcalc.analysis  # noqa: F401

    models = _models(args.category, args.only)
    results = []
    if args.save:  # one line per model as it finishes: an interrupted scan keeps what it measured
        args.save.parent.mkdir(parents=True, exist_ok=True)
        args.save.write_text("")
    for index, model in enumerate(models, 1):
        run = fork_call(scan_one, (model,), args.timeout, MEMORY_CAP_MIB)
        line = next((line for line in run.stdout.splitlines() if line.startswith("{")), "")
        result = json.loads(line) if line else {"key": model.key, "imports": False,
                                                "error": f"the scan's child failed: {run.error_line()[:200]}"}
        result["seconds"] = round(run.wall, 1)
        results.append(result)
        if args.save:
            with args.save.open("a") as saved:
                saved.write(json.dumps(result) + "\n")
        state = ("complete" if result["complete"] else f"{len(result['unsupported'])} unsupported") \
            if result.get("imports") else f"fails: {result['error'][:100]}"
        print(f"[{index}/{len(models)}] {model.key} {result['seconds']} s: {state}", file=sys.stderr, flush=True)
        for gap in result.get("unsupported", []) if args.detail else []:
            print(f"    {gap['name']}: {gap['op']} at {gap['where']}: {gap['reason']}", file=sys.stderr)
    print(summary(results))


if __name__ == "__main__":
    main()
