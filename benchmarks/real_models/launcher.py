"""Run one command with a time limit and a memory cap, and measure it: wall time, peak RSS, exit code.

The command runs under a small launcher (`python -S`, a few MiB) that forks it: on Linux a child's
peak RSS starts from the resident size of the process that forked it, so the figure must not start
from the campaign's own. The launcher puts the command in its own session (its process group is
killed as a whole), polls its resident size, and kills it when it passes the cap or the time limit.
An address-space limit would not do as a cap: the full torch build maps gigabytes of CUDA libraries
it never touches.
"""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import tempfile
import time
import traceback
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

def supervise(pid: int, timeout: float, cap_kib: int, started: float) -> dict:
    """Wait for process `pid` (a session leader), killing its session past the time limit or the memory
    cap; its wall time, peak RSS (KiB) and exit code. Also the body of the command launcher below."""
    import os
    import signal
    import time

    def rss_kib() -> int:
        total = 0
        for entry in os.listdir("/proc"):  # the process and any process it started (same session)
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
                if int(fields[3]) != pid:  # session id
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
    return {"wall": time.perf_counter() - started, "rss_kib": max(usage.ru_maxrss, peak_polled),
            "code": os.waitstatus_to_exitcode(status), "killed": killed}


LAUNCHER = inspect.getsource(supervise) + r"""
import json, os, sys, time
timeout, cap_kib = float(sys.argv[1]), int(sys.argv[2])
started = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.setsid()
    os.execv(sys.argv[3], sys.argv[3:])
sys.stderr.write("\nLAUNCHER " + json.dumps(supervise(pid, timeout, cap_kib, started)) + "\n")
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


def fork_call(function: Callable[..., Any], args: tuple, timeout: float, cap_mib: int) -> Run:
    """Run `function(*args)` in a forked child process, in its own session, under the same limits; what
    it prints is the Run's stdout. The child starts with everything this process has imported (torch and
    the model libraries), which is what makes one process per model affordable: this process must not
    have run torch's thread pools before (a forked child cannot use them)."""
    sys.stdout.flush()
    sys.stderr.flush()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        pid = os.fork()
        if pid == 0:  # the child: never returns
            code = 0
            try:
                os.setsid()
                os.dup2(out.fileno(), 1)
                os.dup2(err.fileno(), 2)
                sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115 - until os._exit
                sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
                function(*args)
            except BaseException:  # noqa: BLE001 - reported through the exit code and standard error
                traceback.print_exc()
                code = 1
            finally:
                for stream in (sys.stdout, sys.stderr):
                    try:
                        stream.flush()
                    except Exception:  # noqa: BLE001
                        pass
                os._exit(code)
        info = supervise(pid, timeout, cap_mib * 1024, started)
        out.seek(0)
        err.seek(0)
        return Run(info["wall"], info["rss_kib"] / 1024, info["code"], out.read().decode(errors="replace"),
                   err.read().decode(errors="replace"), info["killed"])
