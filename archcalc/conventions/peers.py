"""Run the real peer tools on archcalc's torch build of a spec: the ground truth the profiles reproduce.

Used by the tests (tests/test_conventions_peers.py) and `archcalc conventions SPEC --peers`. Imports
torch and the tools inside the functions; fvcore is a dependency, ptflops, thop and torchinfo come
with the dev extras (`pip install -e '.[dev]'`).

The module is built on the meta device and then given uninitialised CPU storage (`to_empty`): the
tools need real tensors to run, but none of them looks at the values, and skipping weight
initialisation saves most of the build time.
"""

from __future__ import annotations

import contextlib
import io
import os
import warnings

from archcalc.errors import ArchcalcError

PEER_TOOLS = ("fvcore", "ptflops", "thop", "torchinfo", "torch")
# The package that provides each tool (for a clear error when it is missing).
PACKAGES = {"fvcore": "fvcore", "ptflops": "ptflops", "thop": "thop", "torchinfo": "torchinfo", "torch": "torch"}


def build_for_peers(graph):
    """archcalc's torch module for `graph`, on the CPU, with uninitialised weights, in eval mode."""
    from archcalc.torch_build import build_module, to_empty

    return to_empty(build_module(graph, device="meta"), "cpu").eval()


def _fvcore(module, x) -> int:
    from fvcore.nn import FlopCountAnalysis

    analysis = FlopCountAnalysis(module, x)
    analysis.unsupported_ops_warnings(False)
    analysis.uncalled_modules_warnings(False)
    analysis.tracer_warnings("none")
    return int(analysis.total())


def _ptflops(module, x) -> int:
    from ptflops import get_model_complexity_info

    if x.shape[0] != 1:
        raise ArchcalcError("ptflops analyses one sample at a time (its input_res has no batch axis)")
    printed = io.StringIO()  # ptflops prints (rather than raises) when the model fails
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
        ids = (lambda _res: x) if not x.is_floating_point() else None  # token ids: ptflops would make floats
        macs, _ = get_model_complexity_info(module, tuple(x.shape[1:]), as_strings=False,
                                            print_per_layer_stat=False, verbose=False, input_constructor=ids)
    if macs is None:
        reason = " ".join(printed.getvalue().split())[:300]
        raise ArchcalcError(f"ptflops could not run the model: {reason}")
    return int(macs)


def _thop(module, x) -> int:
    import thop

    macs, _ = thop.profile(module, inputs=(x,), verbose=False)
    return int(macs)


def _torchinfo(module, x) -> int:
    import torchinfo

    return int(torchinfo.summary(module, input_data=x, verbose=0, device=x.device).total_mult_adds)


def _torch(module, x) -> int:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        module(x)
    return int(counter.get_total_flops())


_RUNNERS = {"fvcore": _fvcore, "ptflops": _ptflops, "thop": _thop, "torchinfo": _torchinfo, "torch": _torch}


def run_peer(tool: str, module, input_shape: tuple[int, ...], batch: int = 1, device: str = "cpu",
             dtype: str = "float32") -> int:
    """The headline number `tool` prints for `module` on a batch of `batch` inputs of `input_shape`.

    `device` is where `module` lives: "meta" suits thop, torchinfo and torch (no arithmetic runs, so
    full sizes are instant); fvcore's jit trace and ptflops' patched functions need real tensors."""
    import importlib.util

    import torch

    if tool not in _RUNNERS:
        raise ArchcalcError(f"unknown peer tool {tool!r}; choose from {', '.join(PEER_TOOLS)}")
    if importlib.util.find_spec(PACKAGES[tool]) is None:
        raise ArchcalcError(f"{tool} is not installed (pip install {PACKAGES[tool]}, or archcalc's dev extras)")
    x = torch.randn((batch,) + tuple(input_shape), device=device)
    if dtype == "int64":  # token ids: zeros are a valid id for every embedding
        x = torch.zeros((batch,) + tuple(input_shape), device=device, dtype=torch.int64)
    # Inference, as the tools are meant for: no autograd. It matters: nn.MultiheadAttention takes its fused
    # native path only then (on the CPU), and that path hides its products from fvcore and FlopCounterMode.
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        return _RUNNERS[tool](module, x)


def _physical_memory() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def measure_all(graph, report, progress=None) -> dict[str, int | str]:
    """Each installed tool's own total for `graph` at the report's batch (keyed by convention name), or
    why there is none. Refuses models whose weights would not fit comfortably in memory."""
    from archcalc.units import human_bytes

    memory = _physical_memory()
    if memory is not None and report.totals.param_bytes > memory // 2:
        raise ArchcalcError(f"--peers builds the model on the CPU and its weights need "
                            f"{human_bytes(report.totals.param_bytes)}, more than half of this machine's memory "
                            f"({human_bytes(memory)})", file=graph.file)  # fmt: skip
    module = build_for_peers(graph)
    batch = report.batch
    measured: dict[str, int | str] = {}
    for done, tool in enumerate(PEER_TOOLS):
        if progress is not None:  # (task, done, total): archcalc.progress
            progress(f"running {tool}", done, len(PEER_TOOLS))
        try:
            measured[tool] = run_peer(tool, module, tuple(graph.input_shape), batch, dtype=graph.input_dtype)
        except ArchcalcError as exc:
            measured[tool] = f"n/a: {exc.message}"
        except Exception as exc:  # noqa: BLE001 - a tool failing on a model is a result to show, not a crash
            measured[tool] = f"n/a: {type(exc).__name__}: {' '.join(str(exc).split())[:120]}"
    if progress is not None:
        progress(f"running {PEER_TOOLS[-1]}", len(PEER_TOOLS), len(PEER_TOOLS))
    return measured
