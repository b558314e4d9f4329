"""The real-models campaign: `make realmodels` -> reports/real_models.md and reports/real_models.csv.

    python -m benchmarks.real_models.run [--only KEY ...] [--category NAME ...] [--resume] [--render-only]

One model at a time, each step in its own process under a time limit and a memory cap (launcher.py):
1. `archcalc report --module FILE.py:build --input SHAPE --format json --convention fvcore`: the import
   as a user runs it, timed with its peak resident memory;
2. `archcalc export-spec --module ...` writes the spec, and `archcalc report SPEC --convention fvcore`
   and `--convention torch` read it back (the analytic path, a fraction of a second each). The round
   trip holds when the spec's report has the module report's layers and totals; the torch-convention
   figure is the spec's then (the same graph), and a third import with `--convention torch` otherwise;
3. `archcalc check SPEC` on every complete model (the rest cannot be built from their spec);
4. peers.py on the real model: `sum(p.numel())`, `sum(b.numel())`, fvcore's and FlopCounterMode's totals.
Results go to .realmodels/results.jsonl as each model finishes (`--resume` skips the ones there), and
render.py turns them into the reports. See docs/real-models.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.real_models.catalogue import CATEGORIES, Model, huggingface_models, timm_models, torchvision_models
from benchmarks.real_models.launcher import Run, measure

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / ".realmodels"
BIN = Path(sys.executable).parent
ARCHCALC_S, CHECK_S, PEERS_S = 600, 600, 900  # time limits per step (seconds)
ARCHCALC_MIB, PEERS_MIB = 6 * 1024, 10 * 1024  # memory caps per step (resident MiB)


def archcalc(*args: str) -> list[str]:
    return [str(BIN / "archcalc"), *args]


def timm_sample() -> dict:
    import timm

    path = WORK / f"timm_sample-{timm.__version__}.json"
    if not path.exists():
        print(f"sampling timm {timm.__version__}'s families (builds every model on the meta device)...", flush=True)
        subprocess.run([sys.executable, "-m", "benchmarks.real_models.timm_sample", str(path)], cwd=ROOT, check=True)
    return json.loads(path.read_text())


def catalogue() -> list[Model]:
    return torchvision_models() + timm_models(timm_sample()["sample"]) + huggingface_models()


def _json(run: Run) -> dict | None:
    try:
        return json.loads(run.stdout)
    except ValueError:
        return None


def _layers(report: dict) -> list:
    keys = ("name", "type", "inputs", "output_shape", "params", "macs", "flops", "buffers")
    return [[layer.get(k) for k in keys] for layer in report["layers"]]


def _round_trip(module_report: dict, spec_report: dict) -> str:
    """"" when the spec's report is the module's, else the first difference."""
    for key, value in module_report["totals"].items():
        if spec_report["totals"].get(key) != value:
            return f"{key} {spec_report['totals'].get(key)} vs {value}"
    if _layers(module_report) != _layers(spec_report):
        return "the layers differ"
    if module_report.get("complete") != spec_report.get("complete"):
        return "completeness differs"
    return ""


def run_archcalc(model: Model, factory: Path, result: dict) -> None:
    shape = "x".join(map(str, model.input_shape))
    module = f"{factory}:build"
    step = measure(archcalc("report", "--module", module, "--input", shape, "--format", "json",
                            "--convention", "fvcore"), ARCHCALC_S, ARCHCALC_MIB, WORK)  # fmt: skip
    result.update(import_s=round(step.wall, 2), import_rss_mib=round(step.rss_mib), import_exit=step.code)
    report = _json(step) if step.ok else None
    if report is None:
        error = step.error_line() if not step.ok else "no JSON on standard output"
        if model.tokens:
            error = f"needs integer token input, which archcalc cannot give today; archcalc said: {error}"
        result.update(imports=False, import_error=error)
        return
    totals = report["totals"]
    result.update(imports=True, complete=report["complete"], source=report.get("source", ""),
                  unsupported=[{k: u.get(k) for k in ("op", "name", "reason")} for u in report["unsupported"]],
                  archcalc_params=totals["params"], archcalc_buffers=totals["buffers"],
                  archcalc_trainable=totals["trainable_params"], archcalc_macs=totals["macs"],
                  archcalc_flops=totals["flops"], archcalc_fvcore=totals["convention_total"],
                  notes=[line for line in step.stderr.splitlines() if line.strip()][:20])  # fmt: skip

    spec = WORK / "specs" / f"{model.file_stem}.yaml"
    spec.unlink(missing_ok=True)
    export = measure(archcalc("export-spec", "--module", module, "--input", shape, "--output", str(spec)),
                     ARCHCALC_S, ARCHCALC_MIB, WORK)  # fmt: skip
    result["export_s"] = round(export.wall, 2)
    spec_reports = {}
    if export.ok:
        for convention in ("fvcore", "torch"):
            again = measure(archcalc("report", str(spec), "--format", "json", "--convention", convention),
                            ARCHCALC_S, ARCHCALC_MIB, WORK)  # fmt: skip
            spec_reports[convention] = _json(again) if again.ok else again.error_line()
    if not export.ok:
        result["round_trip"] = f"export-spec failed: {export.error_line()}"
    elif isinstance(spec_reports["fvcore"], str):
        result["round_trip"] = f"the exported spec does not load: {spec_reports['fvcore']}"
    else:
        result["round_trip"] = _round_trip(report, spec_reports["fvcore"]) or "identical"

    if result["round_trip"] == "identical" and isinstance(spec_reports["torch"], dict):
        result.update(archcalc_torch=spec_reports["torch"]["totals"]["convention_total"], archcalc_torch_from="spec")
    else:
        third = measure(archcalc("report", "--module", module, "--input", shape, "--format", "json",
                                 "--convention", "torch"), ARCHCALC_S, ARCHCALC_MIB, WORK)  # fmt: skip
        torch_report = _json(third) if third.ok else None
        if torch_report is not None:
            result.update(archcalc_torch=torch_report["totals"]["convention_total"], archcalc_torch_from="module")
        else:
            result["archcalc_torch_error"] = third.error_line()

    if report["complete"] and result["round_trip"] == "identical":
        check = measure(archcalc("check", str(spec), "--format", "json"), CHECK_S, ARCHCALC_MIB, WORK)
        result.update(check_exit=check.code, check_s=round(check.wall, 2))
        if not check.ok:
            result["check_error"] = check.error_line() if check.code != 1 else _check_mismatch(check)


def _check_mismatch(check: Run) -> str:
    """The first differing verdicts of `archcalc check --format json`."""
    verdicts = _json(check)
    if not isinstance(verdicts, dict):
        return "mismatch"
    failing = [f"{layer['name']}: {v['quantity']} {v['archcalc']} vs torch {v['torch']}"
               for layer in verdicts.get("layers", []) for v in layer.get("verdicts", [])
               if v.get("status") == "differ"]  # fmt: skip
    failing = failing or [f"{v['quantity']} {v['archcalc']} vs torch {v['torch']}" for v in verdicts.get("totals", [])
                          if v.get("status") == "differ"]  # fmt: skip
    return "mismatch: " + "; ".join(str(f)[:120] for f in failing[:3]) if failing else "mismatch"


def run_peers(model: Model, factory: Path, result: dict) -> None:
    step = measure([sys.executable, "-m", "benchmarks.real_models.peers", str(factory),
                    json.dumps(list(model.input_shape)), str(model.tokens)], PEERS_S, PEERS_MIB, ROOT)  # fmt: skip
    result["peers_s"] = round(step.wall, 2)
    measured = _json(step) if step.ok else None
    if measured is None:
        result["peers_error"] = step.error_line()
        return
    result.update({f"torch_{k}" if k in ("params", "buffers", "trainable_params") else k: v
                   for k, v in measured.items() if k not in ("versions",)})  # fmt: skip


def run_model(model: Model) -> dict:
    factory = WORK / "models" / f"{model.file_stem}.py"
    factory.write_text(model.code)
    result: dict = {"key": model.key, "category": model.category, "input": list(model.input_shape),
                    "tokens": model.tokens, "note": model.note}  # fmt: skip
    started = time.perf_counter()
    run_archcalc(model, factory, result)
    run_peers(model, factory, result)
    result["total_s"] = round(time.perf_counter() - started, 2)
    return result


def _selected(models: list[Model], only: list[str], categories: list[str]) -> list[Model]:
    if categories:
        models = [m for m in models if m.category in categories]
    if only:
        models = [m for m in models if m.key in only or m.key.split("/", 1)[1] in only]
    return models


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", action="append", default=[], help="a model key (torchvision/resnet50) or name")
    parser.add_argument("--category", action="append", default=[], choices=CATEGORIES)
    parser.add_argument("--resume", action="store_true", help="keep the results already in .realmodels/")
    parser.add_argument("--render-only", action="store_true", help="only rewrite the reports from the results")
    parser.add_argument("--reports", default=str(ROOT / "reports"), help="where to write real_models.md/.csv")
    args = parser.parse_args()
    for folder in ("models", "specs"):
        (WORK / folder).mkdir(parents=True, exist_ok=True)
    results_path = WORK / "results.jsonl"
    from benchmarks.real_models.render import environment, load_results, write_reports

    if not args.render_only:
        models = _selected(catalogue(), args.only, args.category)
        done = load_results(results_path) if args.resume or args.only or args.category else {}
        if not (args.resume or args.only or args.category):
            results_path.unlink(missing_ok=True)
        todo = [m for m in models if args.only or args.category or m.key not in done]
        print(f"{len(todo)} models to run ({len(models)} selected)", flush=True)
        started = time.perf_counter()
        for position, model in enumerate(todo, 1):
            result = run_model(model)
            with results_path.open("a") as out:
                out.write(json.dumps(result) + "\n")
            state = "complete" if result.get("complete") else ("incomplete" if result.get("imports") else "no import")
            print(f"[{position}/{len(todo)}] {model.key}: {state}, {result['total_s']:.0f} s "
                  f"(elapsed {(time.perf_counter() - started) / 60:.1f} min)", flush=True)  # fmt: skip
        (WORK / "environment.json").write_text(json.dumps(environment()))
    results = load_results(results_path)
    write_reports(list(results.values()), json.loads((WORK / "environment.json").read_text()), Path(args.reports))
    print(f"wrote {args.reports}/real_models.md and real_models.csv ({len(results)} models)")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    main()
