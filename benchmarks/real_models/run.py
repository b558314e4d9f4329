"""The real-models campaign: `make realmodels` -> reports/real_models.md and reports/real_models.csv.

    python -m benchmarks.real_models.run [--only KEY ...] [--category NAME ...] [--resume] [--render-only]

One model at a time. Each model is one child process, forked from this one once it has imported torch,
the model libraries and archcalc (worker.py: the stages, archcalc driven through its command line),
under a time limit and a memory cap (launcher.py). Results go to
.realmodels/results.jsonl as each model finishes (`--resume` skips the ones there; `--only` and
`--category` rerun just those and keep the rest), and render.py turns them into the reports. See
docs/real-models.md.
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
from benchmarks.real_models.launcher import fork_call
from benchmarks.real_models.timm_sample import select

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / ".realmodels"
# Per model (all its stages in one process): a time limit and a cap on resident memory.
TIME_LIMIT_S = 900
MEMORY_CAP_MIB = 10 * 1024


def timm_sample() -> dict:
    import timm

    path = WORK / f"timm_sample-{timm.__version__}.json"
    if not path.exists():
        print(f"sampling timm {timm.__version__}'s families (builds every model on the meta device)...", flush=True)
        subprocess.run([sys.executable, "-m", "benchmarks.real_models.timm_sample", str(path)], cwd=ROOT, check=True)
    return json.loads(path.read_text())


def catalogue(categories: list[str]) -> list[Model]:
    """Every model of the campaign, or of the categories given (the timm sample is made only when needed)."""
    wanted = set(categories or CATEGORIES)
    models = torchvision_models() + (timm_models(select(timm_sample()["sample"])) if "timm" in wanted else [])
    return [m for m in models + huggingface_models() if m.category in wanted]


def run_model(model: Model) -> dict:
    """The worker's stages for one model, in a forked child under the time limit and the memory cap."""
    from benchmarks.real_models import worker

    factory = WORK / "models" / f"{model.file_stem}.py"
    factory.write_text(model.code)
    spec = WORK / "specs" / f"{model.file_stem}.yaml"
    payload = {"key": model.key, "category": model.category, "input_shape": list(model.input_shape),
               "tokens": model.tokens}  # fmt: skip
    run = fork_call(worker.run, (payload, str(factory), spec), TIME_LIMIT_S, MEMORY_CAP_MIB)
    result: dict = {"key": model.key, "category": model.category, "input": list(model.input_shape),
                    "tokens": model.tokens, "note": model.note}  # fmt: skip
    for line in run.stdout.splitlines():
        if line.startswith("{"):
            try:
                result.update(json.loads(line))
            except ValueError:  # a model printed something that looks like JSON
                pass
    result.update(total_s=round(run.wall, 2), process_rss_mib=round(run.rss_mib))
    if not run.ok:
        # Killed, or the worker itself failed: say where it stopped.
        stage = "import" if "imports" not in result else ("peers" if "peers_s" not in result else "end")
        result["worker_error"] = f"{run.error_line()} (during the {stage} stage)"
        if "imports" not in result:
            result.update(imports=False, import_error=result["worker_error"])
    return result


def _selected(models: list[Model], only: list[str]) -> list[Model]:
    if only:
        models = [m for m in models if m.key in only or m.key.split("/", 1)[1] in only]
    return models


def _stamp_commit(results_path: Path, commit: str) -> None:
    """Give every recorded row without a commit the one its run measured (written whole, then renamed)."""
    if not results_path.exists():
        return
    rows = [json.loads(line) for line in results_path.read_text().splitlines() if line.strip()]
    temporary = results_path.with_suffix(".tmp")
    temporary.write_text("".join(json.dumps({"commit": commit} | row) + "\n" for row in rows))
    temporary.replace(results_path)


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
        models = _selected(catalogue(args.category), args.only)
        partial = bool(args.resume or args.only or args.category)
        if not partial:  # a full run starts afresh; a partial one keeps the other models' results
            results_path.unlink(missing_ok=True)
        done = load_results(results_path) if args.resume else {}
        todo = [m for m in models if m.key not in done]
        print(f"{len(todo)} models to run ({len(models)} selected)", flush=True)
        started = time.perf_counter()
        from benchmarks.real_models.worker import prepare

        env_path = WORK / "environment.json"
        if partial and env_path.exists():  # the rows kept say which commit measured them
            _stamp_commit(results_path, json.loads(env_path.read_text())["commit"])
        run_env = environment()
        env_path.write_text(json.dumps(run_env))  # what this run measures
        prepare({m.category for m in todo})
        print(f"imported torch, the libraries and archcalc in {time.perf_counter() - started:.1f} s", flush=True)
        for position, model in enumerate(todo, 1):
            result = run_model(model) | {"commit": run_env["commit"]}
            with results_path.open("a") as out:
                out.write(json.dumps(result) + "\n")
            state = "complete" if result.get("complete") else ("incomplete" if result.get("imports") else "no import")
            print(f"[{position}/{len(todo)}] {model.key}: {state}, {result['total_s']:.0f} s "
                  f"(elapsed {(time.perf_counter() - started) / 60:.1f} min)", flush=True)  # fmt: skip
    results = load_results(results_path)
    env_path = WORK / "environment.json"
    env = json.loads(env_path.read_text()) if env_path.exists() else environment()
    write_reports(list(results.values()), env, Path(args.reports))
    print(f"wrote {args.reports}/real_models.md and real_models.csv ({len(results)} models)")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    main()
