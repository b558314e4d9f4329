"""Run one command with a time limit and a memory cap, and measure it: wall time, peak RSS, exit code.

The command runs under a small launcher (`python -S`, a few MiB) that forks it: on Linux a child's
peak RSS starts from the resident size of the process that forked it, so the figure must not start
from the campaign's own. The launcher puts the command in its own session (its process group is
killed as a whole), polls its resident size, and kills it when it passes the cap or the time limit.
An address-space limit would not do as a cap: the full torch build maps gigabytes of CUDA libraries
it never touches.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

LAUNCHER = r"""
import json, os, signal, sys, time
timeout, cap_kib = float(sys.argv[1]), int(sys.argv[2])
started = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.setsid()
    os.execv(sys.argv[3], sys.argv[3:])

def rss_kib():
    total = 0
    for entry in os.listdir("/proc"):   # the command and any process it started (same session)
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            if int(fields[3]) != pid:   # session id
                continue
            with open(f"/proc/{entry}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except (OSError, IndexError, ValueError):
            pass
    return total

killed, peak_polled = "", 0
while True:
    done, status, usage = os.wait4(pid, os.WNOHANG)
    if done:
        break
    elapsed = time.perf_counter() - started
    current = rss_kib()
    peak_polled = max(peak_polled, current)
    if not killed and current > cap_kib:
        killed = f"memory cap: over {cap_kib // 1024} MiB resident"
    if not killed and elapsed > timeout:
        killed = f"time limit: over {timeout:.0f} s"
    if killed:
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        done, status, usage = os.wait4(pid, 0)
        break
    time.sleep(0.05 if elapsed < 2 else 0.25)
result = {"wall": time.perf_counter() - started, "rss_kib": max(usage.ru_maxrss, peak_polled),
          "code": os.waitstatus_to_exitcode(status), "killed": killed}
sys.stderr.write("\nLAUNCHER " + json.dumps(result) + "\n")
"""


@dataclass
class Run:
    wall: float
    rss_mib: float
    code: int
    stdout: str
    stderr: str
    killed: str  # "" or why the launcher killed it

    @property
    def ok(self) -> bool:
        return self.code == 0 and not self.killed

    def error_line(self) -> str:
        """The one line that says why it failed: the kill, or the last line of standard error."""
        if self.killed:
            return self.killed
        lines = [line.strip() for line in self.stderr.splitlines() if line.strip()]
        for line in reversed(lines):
            if line.startswith("archcalc: error:") or line.startswith("archcalc: internal error"):
                return line
        return lines[-1] if lines else f"exit code {self.code}"


def measure(command: list[str], timeout: float, cap_mib: int, cwd: Path, env: dict | None = None) -> Run:
    launcher = [sys.executable, "-S", "-c", LAUNCHER, str(timeout), str(cap_mib * 1024), *command]
    result = subprocess.run(launcher, capture_output=True, cwd=cwd, env=env)
    stderr = result.stderr.decode(errors="replace")
    head, _, tail = stderr.rpartition("\nLAUNCHER ")
    if not tail.strip():
        raise RuntimeError(f"the launcher failed: {stderr[-500:]}")
    info = json.loads(tail)
    return Run(info["wall"], info["rss_kib"] / 1024, info["code"], result.stdout.decode(errors="replace"), head,
               info["killed"])
