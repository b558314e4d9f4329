"""archcalc against its peers, side by side on this machine: `make bench` -> reports/benchmarks.md.

Every figure is a whole process (interpreter start, imports, build, analysis), measured with
wall-clock time and the peak resident set size from `os.wait4`. Tools run alternately, run after
run, and the table gives medians. Sections:

1. `archcalc report SPEC --format json` against fvcore, ptflops, torchinfo and thop analysing the
   same architecture (built from the same spec by archcalc's torch builder, on the CPU).
2. Scale: generated 1k / 10k / 100k-layer specs (deep chain + wide DAG + long skips), with the
   fitted exponent of time against layers.
3. The giant spec (specs/stress/giant_vgg.yaml, 1.24 trillion parameters): archcalc report and
   check against peers that try to build it.
4. The cost of `archcalc check resnet152` on the meta device.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent
PEERS = ("fvcore", "ptflops", "torchinfo", "thop")


@dataclass
class Run:
    wall: float
    rss_mib: float
    code: int
    stdout: str
    cpu: float = 0.0  # user + system seconds of the process: wall time on a shared machine includes waiting


# Each measured command runs under this small launcher (python -S, a few MiB): on Linux a child's peak
# RSS starts from the resident size of the process that forked it, so forking straight from this
# harness, which holds earlier outputs, would inflate every figure. The launcher forks the command,
# optionally caps its address space at the machine's RAM (so a build that cannot fit fails with an
# allocation error instead of meeting the OOM killer), and reports wall time, peak RSS and exit code.
LAUNCHER = """
import os, sys, time
cap = sys.argv[1] == "cap"
started = time.perf_counter()
pid = os.fork()
if pid == 0:
    if cap:
        import resource
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        resource.setrlimit(resource.RLIMIT_AS, (ram, ram))
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    os.execv(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
cpu = usage.ru_utime + usage.ru_stime
sys.stderr.write(f"{time.perf_counter() - started} {usage.ru_maxrss} {os.waitstatus_to_exitcode(status)} {cpu}\\n")
"""


# Progress on stderr when it is a terminal (archcalc.cli.terminal.StderrProgress): one step per measured process.
PROGRESS = {"show": None, "done": 0}


def measure(command: list[str], cap_memory: bool = False) -> Run:
    if PROGRESS["show"] is not None:
        PROGRESS["done"] += 1
        shown = " ".join(Path(part).name if "/" in part else part for part in command[:4])
        PROGRESS["show"](f"make bench: {shown}", PROGRESS["done"], None)
    launcher = [sys.executable, "-S", "-E", "-c", LAUNCHER, "cap" if cap_memory else "free", *command]
    result = subprocess.run(launcher, capture_output=True, cwd=ROOT)
    wall, rss_kib, code, cpu = result.stderr.decode().split()
    return Run(float(wall), int(rss_kib) / 1024, int(code), result.stdout.decode(errors="replace"), float(cpu))


def archcalc(*args: str) -> list[str]:
    return [str(BIN / "archcalc"), *args]


def peer(tool: str, spec: str) -> list[str]:
    return [sys.executable, str(ROOT / "benchmarks" / "peer.py"), tool, spec]


def medians(runs: list[Run]) -> tuple[float, float]:
    return statistics.median(r.wall for r in runs), statistics.median(r.rss_mib for r in runs)


def machine() -> list[str]:
    from importlib.metadata import PackageNotFoundError, version

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())  # fmt: skip
    memory = next((line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal")), "0")  # fmt: skip
    versions = []
    for package in ("archcalc", "torch", "fvcore", "ptflops", "torchinfo", "thop", "typer", "PyYAML"):
        try:
            versions.append(f"{package} {version(package)}")
        except PackageNotFoundError:
            versions.append(f"{package} (not installed)")
    return [
        f"- CPU: {cpu}, {os.cpu_count()} cores; RAM {int(memory) / 2**20:.1f} GiB",
        f"- Python {platform.python_version()} on {platform.system()} {platform.release()}",
        f"- {', '.join(versions)}",
    ]


def peers_section(specs: list[str], runs: int) -> list[str]:
    lines = ["## archcalc against its peers", "",
             "Whole process: `archcalc report SPEC --format json` vs each peer building the same module",
             "(CPU, real weights) and analysing it. Median of the runs; ratio = peer / archcalc.", ""]  # fmt: skip
    lines += ["| spec | tool | wall (s) | peak RSS (MiB) | time ratio | memory ratio | tool's total |",
              "|---|---|---:|---:|---:|---:|---:|"]  # fmt: skip
    for spec in specs:
        results: dict[str, list[Run]] = {tool: [] for tool in ("archcalc",) + PEERS}
        for _ in range(runs):
            results["archcalc"].append(measure(archcalc("report", spec, "--format", "json")))
            for tool in PEERS:
                results[tool].append(measure(peer(tool, spec)))
        base_wall, base_rss = medians(results["archcalc"])
        for tool, tool_runs in results.items():
            wall, rss = medians(tool_runs)
            last = tool_runs[-1].stdout
            if tool == "archcalc":
                total = f"{json.loads(last)['totals']['macs']:,} MACs" if tool_runs[-1].code == 0 else "failed"
                ratio = ("1", "1")
            else:
                data = json.loads(last.strip().splitlines()[-1]) if last.strip() else {"error": "no output"}
                total = f"{data['total']:,}" if "total" in data else data.get("error", "failed")
                ratio = (f"{wall / base_wall:.1f}x", f"{rss / base_rss:.1f}x")
            lines.append(f"| {spec} | {tool} | {wall:.3f} | {rss:.0f} | {ratio[0]} | {ratio[1]} | {total} |")
    return lines + [""]


def scale_section(sizes: list[int], runs: int) -> list[str]:
    from benchmarks.scale_spec import scale_spec

    lines = ["## Scale", "", "Generated specs, one YAML mapping per layer: a deep chain of units (1x1 conv, BN,",
             "ReLU, a parallel 3x3 branch, add) with an extra add every 50 units joining a unit 400 back.",
             "`archcalc report FILE --format json`, whole process, median of the runs; CPU is user + system",
             "time (wall time on this shared 2-core machine also counts waiting for a core).", "",
             "| layers | file size | wall (s) | CPU (s) | peak RSS (MiB) |", "|---:|---:|---:|---:|---:|"]  # fmt: skip
    points = []
    with tempfile.TemporaryDirectory() as folder:
        for size in sizes:
            path = Path(folder) / f"scale_{size}.yaml"
            path.write_text(scale_spec(size))
            measured = [measure(archcalc("report", str(path), "--format", "json", "--max-file-bytes",
                                         str(64 * 2**20))) for _ in range(runs)]  # fmt: skip
            if any(r.code != 0 for r in measured):
                measured = [measure(archcalc("report", str(path), "--format", "json")) for _ in range(runs)]
            wall, rss = medians(measured)
            cpu = statistics.median(r.cpu for r in measured)
            points.append((size, wall, rss))
            lines.append(f"| {size:,} | {path.stat().st_size / 2**20:.1f} MiB | {wall:.2f} | {cpu:.2f} | {rss:.0f} |")
    slope_time = _slope([(math.log(n), math.log(w)) for n, w, _ in points])
    slope_memory = _slope([(math.log(n), math.log(m)) for n, _, m in points[-2:]])
    lines += ["", f"Fitted exponent of wall time against layers: **{slope_time:.2f}** (1.0 is linear; process start-up",
              f"flattens the small end). Memory exponent over the last two sizes: {slope_memory:.2f}.", ""]  # fmt: skip
    return lines


def _slope(points: list[tuple[float, float]]) -> float:
    mean_x = statistics.mean(x for x, _ in points)
    mean_y = statistics.mean(y for _, y in points)
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / sum((x - mean_x) ** 2 for x, _ in points)


def giant_section(runs: int) -> list[str]:
    spec = "stress/giant_vgg"
    lines = ["## A model no peer can build", "", f"`specs/{spec}.yaml`: VGG16 widened 96 times, "
             "1,237,609,397,224 parameters (about 5 TB of float32 weights).", "",
             "| command | wall (s) | peak RSS (MiB) | result |", "|---|---:|---:|---|"]  # fmt: skip
    report = [measure(archcalc("report", spec, "--format", "json")) for _ in range(runs)]
    wall, rss = medians(report)
    params = json.loads(report[-1].stdout)["totals"]["params"] if report[-1].code == 0 else "failed"
    lines.append(f"| `archcalc report {spec}` | {wall:.2f} | {rss:.0f} | {params:,} params |")
    check = measure(archcalc("check", spec, "--format", "json"))
    verdict = "all layers agree" if check.code == 0 else f"exit {check.code}"
    lines.append(f"| `archcalc check {spec}` (meta device) | {check.wall:.2f} | {check.rss_mib:.0f} | {verdict} |")
    # Every peer analyses a torch module with real weights, so each must first build it on the CPU: one
    # attempt shows what all four would meet. The address space is capped at the machine's RAM so the
    # build fails with an allocation error instead of swapping the machine into the OOM killer.
    result = measure(peer(PEERS[0], spec), cap_memory=True)
    text = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    data = json.loads(text) if text.startswith("{") else {"error": f"exit {result.code}"}
    outcome = "built it?!" if "total" in data else f"cannot build: {_allocation_failure(data['error'])}"
    lines.append(f"| any peer ({', '.join(PEERS)}): build the module on CPU first | {result.wall:.2f} | "
                 f"{result.rss_mib:.0f} | {outcome} |")  # fmt: skip
    return lines + [""]


def _allocation_failure(error: str) -> str:
    """torch's allocator message, shortened: which layer, and how much it asked for."""
    import re

    wanted = re.search(r"tried to allocate (\d+) bytes", error)
    layer = re.search(r"layer (\S+): ", error)
    if not wanted:
        return error[:120]
    where = f" for layer {layer.group(1)}" if layer else ""
    return f"torch cannot allocate {int(wanted.group(1)) / 2**30:.1f} GiB{where} (out of memory)"


def check_section() -> list[str]:
    result = measure(archcalc("check", "resnet152", "--format", "json"))
    verdict = "all layers agree" if result.code == 0 else f"exit {result.code}"
    return ["## Cross-check cost", "", "| command | wall (s) | peak RSS (MiB) | result |", "|---|---:|---:|---|",
            f"| `archcalc check resnet152` (meta device) | {result.wall:.2f} | {result.rss_mib:.0f} | {verdict} |",
            ""]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per tool (medians)")
    parser.add_argument("--specs", default="resnet50,vgg16,mobilenet_v2", help="specs for the peer comparison")
    parser.add_argument("--scale", default="1000,10000,100000", help="layer counts for the scale test")
    parser.add_argument("--output", default=str(ROOT / "reports" / "benchmarks.md"))
    args = parser.parse_args()
    import compileall

    # Measure archcalc as an installed package runs: from compiled bytecode. Where PYTHONDONTWRITEBYTECODE
    # is set (it is on this machine), a source file changed since its cached .pyc would be compiled again in
    # every measured process (a few tenths of a second of each figure).
    compileall.compile_dir(str(ROOT / "archcalc"), quiet=1)
    from archcalc.io import write_atomic
    from archcalc.spec import builtin_specs

    specs = [s for s in args.specs.split(",") if s in builtin_specs()]
    lines = ["# Benchmarks", "", "Generated by `make bench` (benchmarks/run.py; part of `make reports`). Do not edit.", "",
             "## Machine", "", *machine(), ""]  # fmt: skip
    from archcalc.cli.terminal import StderrProgress

    with StderrProgress() as progress:
        PROGRESS["show"] = progress
        lines += peers_section(specs, args.runs)
        lines += scale_section([int(n) for n in args.scale.split(",")], max(1, args.runs // 2))
        lines += giant_section(max(1, args.runs // 2))
        lines += check_section()
    write_atomic(args.output, "\n".join(lines))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
