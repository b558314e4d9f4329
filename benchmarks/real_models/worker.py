"""Everything the campaign measures on one model, in one process (`run`).

The runner imports torch, the model libraries and archcalc once (`prepare`) and forks one child process
per model (launcher.fork_call), under a time limit and a memory cap. The child prints one JSON object
per line as each stage ends (the runner keeps what it got when the child is killed). archcalc is driven
through its command line, invoked in the process (`archcalc.cli.app([...])`, exactly the arguments a
user types):
1. the resident memory the child starts with (Python, torch, the libraries);
2. `report --module FACTORY.py:build --input SHAPE --format json --convention fvcore`: the import,
   timed, with the process's peak resident memory right after it (torch and the library included);
3. `export-spec --module ...`, then `report SPEC --convention fvcore` and `--convention torch` on the
   spec. The round trip holds when the spec's report has the module report's layers and totals; the
   torch-convention figure is the spec's then (the same graph), else `report --module --convention torch`;
4. `check SPEC --rf-budget 0 --no-fvcore` on complete models whose round trip holds (shapes, params,
   buffers and FlopCounterMode per layer; receptive fields and the fvcore witness are left out for time:
   the campaign compares with fvcore on the real model anyway);
5. the peers on the real model (peers.py): `sum(p.numel())`, `sum(b.numel())`, fvcore, FlopCounterMode.
"""

from __future__ import annotations

import contextlib
import io
import json
import resource
import sys
import time
import warnings
from pathlib import Path


def emit(**fields) -> None:
    print(json.dumps(fields), flush=True)


def archcalc(*args: str) -> tuple[int, str, str]:
    """Run one archcalc command in this process: (exit code, standard output, standard error)."""
    from archcalc.cli import app

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = app(list(args), standalone_mode=False, prog_name="archcalc")
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except Exception as exc:  # noqa: BLE001 - click's own usage errors, or worse: recorded as they are
            err.write(f"archcalc (campaign): {type(exc).__name__}: {' '.join(str(exc).split())[:300]}\n")
            code = 2 if type(exc).__module__.startswith("click") else 3
    return int(code or 0), out.getvalue(), err.getvalue()


def error_line(stderr: str, code: int) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in reversed(lines):
        if line.startswith("archcalc"):
            return line
    return lines[-1] if lines else f"exit code {code}"


def peak_rss_mib() -> int:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def _layers(report: dict) -> dict:
    """name -> what the round trip must keep; the order of the layers may differ (any topological order)."""
    keys = ("type", "inputs", "output_shape", "params", "macs", "flops", "buffers")
    return {layer["name"]: [layer.get(k) for k in keys] for layer in report["layers"]}


def round_trip_difference(module_report: dict, spec_report: dict) -> str:
    """"" when the spec's report is the module's, else the first difference."""
    for key, value in module_report["totals"].items():
        if spec_report["totals"].get(key) != value:
            return f"{key} {spec_report['totals'].get(key)} vs {value}"
    ours, theirs = _layers(module_report), _layers(spec_report)
    if ours != theirs:
        differing = sorted(set(ours) ^ set(theirs)) or [name for name in ours if ours[name] != theirs[name]]
        return f"the layers differ: {differing[0]}"
    if module_report.get("complete") != spec_report.get("complete"):
        return "completeness differs"
    return ""


def check_mismatch(stdout: str) -> str:
    """The first differing verdicts of `archcalc check --format json`."""
    try:
        verdicts = json.loads(stdout)
    except ValueError:
        return "mismatch"
    failing = [f"{layer['name']}: {v['quantity']} {v['archcalc']} vs torch {v['torch']}"
               for layer in verdicts.get("layers", []) for v in layer.get("verdicts", [])
               if v.get("status") == "differ"]  # fmt: skip
    failing = failing or [f"{v['quantity']} {v['archcalc']} vs torch {v['torch']}"
                          for v in verdicts.get("totals", []) if v.get("status") == "differ"]  # fmt: skip
    return "mismatch: " + "; ".join(str(f)[:120] for f in failing[:3]) if failing else "mismatch"


def run_archcalc(model: dict, factory: str, spec: Path) -> dict | None:
    shape = "x".join(map(str, model["input_shape"]))
    # text models take token ids: `--input 128 --input-dtype int64`
    given = ["--input", shape] + (["--input-dtype", "int64"] if model["tokens"] else [])
    module = f"{factory}:build"
    started = time.perf_counter()
    code, out, err = archcalc("report", "--module", module, *given, "--format", "json",
                              "--convention", "fvcore")  # fmt: skip
    emit(import_s=round(time.perf_counter() - started, 2), import_rss_mib=peak_rss_mib(), import_exit=code)
    if code != 0:
        error = error_line(err, code)
        if model["tokens"]:
            error = f"fed token ids (--input-dtype int64): {error}"
        emit(imports=False, import_error=error)
        return None
    report = json.loads(out)
    totals = report["totals"]
    emit(imports=True, complete=report["complete"], source=report.get("source", ""),
         unsupported=[{k: u.get(k) for k in ("op", "name", "reason")} for u in report["unsupported"]],
         archcalc_params=totals["params"], archcalc_buffers=totals["buffers"],
         archcalc_trainable=totals["trainable_params"], archcalc_macs=totals["macs"], archcalc_flops=totals["flops"],
         archcalc_fvcore=totals["convention_total"], layers=len(report["layers"]),
         notes=[line for line in err.splitlines() if line.strip()][:10])  # fmt: skip

    started = time.perf_counter()
    spec.unlink(missing_ok=True)
    code, _, err = archcalc("export-spec", "--module", module, *given, "--output", str(spec))
    spec_reports: dict[str, dict | str] = {}
    if code == 0:
        for convention in ("fvcore", "torch"):
            again, out, again_err = archcalc("report", str(spec), "--format", "json", "--convention", convention)
            spec_reports[convention] = json.loads(out) if again == 0 else error_line(again_err, again)
    if code != 0:
        trip = f"export-spec failed: {error_line(err, code)}"
    elif isinstance(spec_reports["fvcore"], str):
        trip = f"the exported spec does not load: {spec_reports['fvcore']}"
    else:
        trip = round_trip_difference(report, spec_reports["fvcore"]) or "identical"
    emit(round_trip=trip, export_s=round(time.perf_counter() - started, 2))

    if trip == "identical" and isinstance(spec_reports["torch"], dict):
        emit(archcalc_torch=spec_reports["torch"]["totals"]["convention_total"], archcalc_torch_from="spec")
    else:
        code, out, err = archcalc("report", "--module", module, *given, "--format", "json",
                                  "--convention", "torch")  # fmt: skip
        if code == 0:
            emit(archcalc_torch=json.loads(out)["totals"]["convention_total"], archcalc_torch_from="module")
        else:
            emit(archcalc_torch_error=error_line(err, code))

    if report["complete"] and trip == "identical":
        started = time.perf_counter()
        code, out, err = archcalc("check", str(spec), "--format", "json", "--rf-budget", "0", "--no-fvcore")
        fields = {"check_exit": code, "check_s": round(time.perf_counter() - started, 2)}
        if code == 1:
            fields["check_error"] = check_mismatch(out)
        elif code != 0:
            fields["check_error"] = error_line(err, code)
        emit(**fields)
    return report


LIBRARIES = {"timm": "timm", "huggingface": "transformers"}  # category -> the library its models need


def prepare(categories) -> None:
    """Import torch, the models' libraries and archcalc's command line once, before forking per model."""
    import torch  # noqa: F401 - imported here so that the import stage times archcalc, not torch

    for library in sorted({LIBRARIES.get(category, "torchvision") for category in categories}):
        __import__(library)
    import importlib
    import pkgutil

    import archcalc

    # Every archcalc module now: the children then run the archcalc this run started with, even if the
    # working tree changes while the campaign runs (hours).
    for module in pkgutil.walk_packages(archcalc.__path__, "archcalc."):
        importlib.import_module(module.name)
    import archcalc.cli

    archcalc.cli.load_commands()
    import benchmarks.real_models.peers  # noqa: F401


def run(model: dict, factory: str, spec: Path) -> None:
    """Every stage for one model, printing as it goes (in a process that ran `prepare`)."""
    warnings.simplefilter("ignore")
    emit(baseline_rss_mib=current_rss_mib())
    report = run_archcalc(model, factory, spec)
    from benchmarks.real_models.peers import measure

    started = time.perf_counter()
    try:
        measured = measure(factory, tuple(model["input_shape"]), model["tokens"],
                           initialise=model["category"] == "torchvision-detection", fvcore=report is not None)
    except Exception as exc:  # noqa: BLE001 - the model does not build or run outside archcalc either
        emit(peers_error=f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}")
    else:
        emit(**{f"torch_{k}" if k in ("params", "buffers", "trainable_params") else k: v
                for k, v in measured.items() if k != "versions"})  # fmt: skip
    emit(peers_s=round(time.perf_counter() - started, 2))


def current_rss_mib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024)
    return 0


def main() -> None:
    """A model on its own (for a try by hand): `python -m benchmarks.real_models.worker MODEL_JSON FACTORY SPEC`."""
    warnings.simplefilter("ignore")
    model, factory, spec = json.loads(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
    started = time.perf_counter()
    prepare([model["category"]])
    emit(setup_s=round(time.perf_counter() - started, 2))
    run(model, factory, spec)


if __name__ == "__main__":
    main()
