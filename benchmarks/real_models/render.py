"""Turn the campaign's results (.realmodels/results.jsonl) into reports/real_models.md and .csv."""

from __future__ import annotations

import csv
import io
import json
import os
import platform
import re
import statistics
import subprocess
from collections import Counter, defaultdict
from pathlib import Path

from benchmarks.real_models.catalogue import CATEGORIES

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("torch", "torchvision", "timm", "transformers", "fvcore", "archcalc")


def load_results(path: Path) -> dict[str, dict]:
    """key -> the last result recorded for it."""
    results: dict[str, dict] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if line.strip():
                result = json.loads(line)
                results[result["key"]] = result
    return results


def environment() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = "not installed"
    commit = subprocess.run(["git", "log", "-1", "--format=%h", "--", "archcalc", "specs", "pyproject.toml"],
                            capture_output=True, text=True, cwd=ROOT)  # the last commit that changed archcalc
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "archcalc", "specs"], capture_output=True, text=True,
                           cwd=ROOT).stdout.strip()  # fmt: skip
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())  # fmt: skip
    return {"versions": versions, "commit": commit.stdout.strip() + (" with local changes" if dirty else ""),
            "python": platform.python_version(),
            "cpu": f"{cpu}, {os.cpu_count()} cores"}  # fmt: skip


# ---- per-model verdicts -------------------------------------------------------------------------


def _equal(result: dict, ours: str, theirs: str) -> bool | None:
    """None when either side is missing."""
    if not result.get("imports") or result.get(ours) is None or result.get(theirs) is None:
        return None
    return result[ours] == result[theirs]


def verdicts(result: dict) -> dict[str, bool | None]:
    complete = bool(result.get("complete"))
    return {
        "imports": bool(result.get("imports")),
        "complete": complete if result.get("imports") else None,
        "params": _equal(result, "archcalc_params", "torch_params"),
        "buffers": _equal(result, "archcalc_buffers", "torch_buffers"),
        "fvcore": _equal(result, "archcalc_fvcore", "fvcore"),
        "torch": _equal(result, "archcalc_torch", "torch"),
        "round_trip": (result.get("round_trip") == "identical" and result.get("check_exit") == 0) if complete else None,
    }


def _count(results: list[dict], what: str, among=lambda r: True) -> tuple[int, int]:
    """(models where `what` holds, models where it was measured), over the results `among` selects."""
    values = [verdicts(r)[what] for r in results if among(r)]
    measured = [v for v in values if v is not None]
    return sum(measured), len(measured)


def _fraction(pair: tuple[int, int]) -> str:
    yes, of = pair
    return f"{yes} / {of}" if of else "-"


def _median(values: list[float]) -> str:
    return f"{statistics.median(values):.1f}" if values else "-"


def added_mib(result: dict) -> int | None:
    """Resident memory the import added to the process (build, trace, analysis), MiB."""
    if result.get("import_rss_mib") is None or result.get("baseline_rss_mib") is None:
        return None
    return max(0, result["import_rss_mib"] - result["baseline_rss_mib"])


def summary_rows(results: list[dict]) -> list[list[str]]:
    rows = []
    groups = [(c, [r for r in results if r["category"] == c]) for c in CATEGORIES] + [("all", results)]
    for name, group in groups:
        if not group:
            continue
        complete = lambda r: bool(r.get("complete"))  # noqa: E731
        rows.append([name, str(len(group)), _fraction(_count(group, "imports")), _fraction(_count(group, "complete")),
                     _fraction(_count(group, "params")), _fraction(_count(group, "buffers")),
                     _fraction(_count(group, "fvcore")), _fraction(_count(group, "fvcore", complete)),
                     _fraction(_count(group, "torch")), _fraction(_count(group, "torch", complete)),
                     _fraction(_count(group, "round_trip")),
                     _median([r["import_s"] for r in group if r.get("imports")]),
                     _median([added_mib(r) for r in group if r.get("imports") and added_mib(r) is not None])])  # fmt: skip
    return rows


# ---- rankings ------------------------------------------------------------------------------------


def _normalise(message: str) -> str:
    message = re.sub(r"\S+\.py:build", "FILE.py:build", message)  # the model's factory file
    message = re.sub(r"/\S+/", "", message)  # paths
    message = re.sub(r"\d+", "N", message)
    return message[:140]


def unsupported_ranking(results: list[dict]) -> list[tuple[str, int, int, str, list[str]]]:
    """(op, models it blocks, occurrences, the most frequent reason, example models), most models first."""
    models, occurrences, reasons = defaultdict(set), Counter(), defaultdict(Counter)
    for result in results:
        for item in result.get("unsupported") or []:
            models[item["op"]].add(result["key"])
            occurrences[item["op"]] += 1
            reasons[item["op"]][_normalise(item.get("reason") or "")] += 1
    ranked = sorted(models, key=lambda op: (-len(models[op]), -occurrences[op], op))
    return [(op, len(models[op]), occurrences[op], reasons[op].most_common(1)[0][0], sorted(models[op])[:4])
            for op in ranked]  # fmt: skip


def import_error_ranking(results: list[dict]) -> list[tuple[str, list[str]]]:
    errors = defaultdict(list)
    for result in results:
        if not result.get("imports"):
            errors[_normalise(result.get("import_error", "?"))].append(result["key"])
    return sorted(errors.items(), key=lambda item: (-len(item[1]), item[0]))


# ---- rendering -----------------------------------------------------------------------------------


def _cell(value) -> str:
    text = "" if value is None else str(value)
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list], align: str = "") -> list[str]:
    align = align or "|".join("---" for _ in header)
    return ["| " + " | ".join(header) + " |", "|" + align.strip("|") + "|"] + ["| " + " | ".join(_cell(c) for c in row) + " |"
                                                                    for row in rows]  # fmt: skip


def _versus(ours, theirs) -> str:
    if ours is None or theirs is None:
        return ""
    if ours == theirs:
        return f"= {ours:,}"
    return f"{ours:,} vs {theirs:,} ({ours - theirs:+,})"


def _mark(value: bool | None) -> str:
    return {True: "yes", False: "NO", None: ""}[value]


_DEPENDENT = re.compile(r"(?:depend on the values after|depends on its input's values, not only its shape:) "
                        r"(\S+ at (?:module \S+|the top-level forward))")


def _data_dependent(texts: list[str]) -> str:
    """A detector's one-line why: the call after which sizes depend on the data (the importer's words)."""
    for text in texts:
        found = _DEPENDENT.search(text)
        if found:
            return f"data-dependent after {found.group(1).rstrip(',')}"
    return ""


def model_row(result: dict) -> list:
    v = verdicts(result)
    if not v["imports"]:
        error = result.get("import_error") or ""
        status = "no import: " + (_data_dependent([error]) or error[:160])
    else:
        status = "complete" if v["complete"] else f"incomplete ({len(result.get('unsupported') or [])})"
        dependent = _data_dependent(result.get("notes") or [])
        status += f": {dependent}" if dependent else ""
    fvcore_theirs = result.get("fvcore") if "fvcore" in result else f"fvcore failed: {result.get('fvcore_error', '')[:60]}"
    trip = "" if v["round_trip"] is None else ("yes" if v["round_trip"] else
                                               (result.get("check_error") or result.get("round_trip", ""))[:100])
    return [result["key"], "x".join(map(str, result["input"])), status,
            _versus(result.get("archcalc_params"), result.get("torch_params")),
            _versus(result.get("archcalc_buffers"), result.get("torch_buffers")),
            _versus(result.get("archcalc_fvcore"), fvcore_theirs) if isinstance(fvcore_theirs, int) else
            (fvcore_theirs if v["imports"] else ""),
            _versus(result.get("archcalc_torch"), result.get("torch")), trip,
            result.get("import_s", ""), added_mib(result)]  # fmt: skip


def _commits(results: list[dict], env: dict) -> str:
    """The commit each row was measured at: a partial rerun (`--only`, `--category`) keeps the other rows."""
    counts = Counter(r.get("commit", env["commit"]) for r in results)
    if len(counts) <= 1:
        return f"commit {env['commit'] if not counts else next(iter(counts))}"
    return "commits " + ", ".join(f"{commit} ({n} model{'s' * (n != 1)})" for commit, n in counts.most_common())


def markdown(results: list[dict], env: dict) -> str:
    total_s = sum(r.get("total_s", 0) for r in results)
    versions = ", ".join(f"{k} {v}" for k, v in env["versions"].items())
    lines = ["# Real models: archcalc's importer on the models people run", "",
             "Generated by `make realmodels` (benchmarks/real_models/); do not edit. Method and columns:",
             "[docs/real-models.md](../docs/real-models.md).", "",
             f"- archcalc as of {_commits(results, env)} (the last commit that changed archcalc/ or specs/); {versions}; Python {env['python']}; {env['cpu']}.",
             f"- {len(results)} models, one at a time: {total_s / 60:.0f} min in all, "
             f"median {_median([r.get('total_s', 0) for r in results])} s per model (every step: import, export, "
             "check, the peers).", "",
             "## Coverage", "",
             "Each cell: models where it holds / models where it was measured. params and buffers: archcalc's "
             "totals against `sum(p.numel())` and `sum(b.numel())`; fvcore: `--convention fvcore` against "
             "`FlopCountAnalysis(...).total()`; torch: `--convention torch` against FlopCounterMode; \"on complete\": "
             "the same over complete models only; round trip: `export-spec` loads back to the same report and "
             "`check` passes (complete models). Import time and memory: the `archcalc report --module` command in a "
             "process that has torch and the model libraries imported, and the resident memory it added; medians "
             "over the models that import.", ""]  # fmt: skip
    lines += _table(["models", "tried", "import", "complete", "params exact", "buffers exact", "fvcore equal",
                     "fvcore equal, on complete", "torch equal", "torch equal, on complete", "round trip",
                     "import time (s)", "import memory (MiB)"], summary_rows(results),
                    "---|" + "---:|" * 12)  # fmt: skip
    lines += ["", "## Unsupported operations, by how many models they block", ""]
    ranking = unsupported_ranking(results)
    lines += _table(["operation", "models", "occurrences", "most frequent reason", "for example"],
                    [[f"`{op}`", m, n, reason, ", ".join(examples)] for op, m, n, reason, examples in ranking],
                    "---|---:|---:|---|---")  # fmt: skip
    lines += ["", "## Why models do not import", ""]
    lines += _table(["error (numbers as N)", "models", "which"],
                    [[e, len(keys), ", ".join(keys[:6]) + (" ..." if len(keys) > 6 else "")]
                     for e, keys in import_error_ranking(results)], "---|---:|---")  # fmt: skip
    internal = [r for r in results if r.get("import_exit") == 3]
    if internal:
        lines += ["", "## archcalc internal errors (exit 3)", ""]
        lines += [f"- {r['key']}: {r.get('import_error', '')}" for r in internal]
    for category in CATEGORIES:
        group = sorted((r for r in results if r["category"] == category), key=lambda r: r["key"])
        if not group:
            continue
        lines += ["", f"## {category}", ""]
        lines += _table(["model", "input", "import", "params (archcalc vs torch)", "buffers", "fvcore",
                         "torch (FlopCounterMode)", "round trip", "import s", "import MiB"],
                        [model_row(r) for r in group], "---|---|---|---:|---:|---:|---:|---|---:|---:")  # fmt: skip
    return "\n".join(lines) + "\n"


CSV_FIELDS = ("key", "category", "input", "tokens", "imports", "import_exit", "import_error", "complete", "source",
              "unsupported_count", "unsupported_ops", "archcalc_params", "torch_params", "archcalc_buffers",
              "torch_buffers", "archcalc_trainable", "torch_trainable_params", "archcalc_macs", "archcalc_flops",
              "archcalc_fvcore", "fvcore", "fvcore_error", "fvcore_skipped", "archcalc_torch", "archcalc_torch_from",
              "archcalc_torch_error", "torch", "torch_device", "torch_error", "round_trip", "check_exit",
              "check_error", "import_s", "import_rss_mib", "baseline_rss_mib", "export_s", "check_s", "peers_s", "build_s",
              "fvcore_s", "torch_s", "total_s", "process_rss_mib", "worker_error", "note", "commit")  # fmt: skip


def csv_text(results: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, CSV_FIELDS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for result in sorted(results, key=lambda r: (CATEGORIES.index(r["category"]), r["key"])):
        row = dict(result)
        row["input"] = "x".join(map(str, result["input"]))
        unsupported = result.get("unsupported") or []
        row["unsupported_count"] = len(unsupported) if result.get("imports") else ""
        row["unsupported_ops"] = ";".join(sorted({u["op"] for u in unsupported}))
        row["fvcore_skipped"] = ";".join(f"{k}={v}" for k, v in (result.get("fvcore_skipped") or {}).items())
        # A cell starting with = + - @ is a formula to a spreadsheet: keep error text inert.
        for key in ("import_error", "fvcore_error", "torch_error", "check_error", "round_trip", "archcalc_torch_error"):
            if isinstance(row.get(key), str) and row[key][:1] in "=+-@":
                row[key] = "'" + row[key]
        writer.writerow(row)
    return out.getvalue()


def _write(path: Path, text: str) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


def write_reports(results: list[dict], env: dict, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    _write(folder / "real_models.md", markdown(results, env))
    _write(folder / "real_models.csv", csv_text(results))
