"""Timing a spec's torch module: every layer on its own recorded inputs, and the whole forward.

Imports torch; only `archcalc bench` reaches this module. How:
1. Build the module with real (seeded, default-initialised) weights on the device, in the dtype, and
   run one forward in inference mode, recording each layer's inputs with forward pre-hooks.
2. Time in rounds. A round calls every layer once, in graph order, on its recorded inputs, reading
   the clock around each call, and then the whole forward once (the process's minor page faults are
   counted around each call too, outside the timed interval). `warmup` rounds go untimed, then
   `repeats` rounds are timed. The clock is torch.utils.benchmark's, which synchronises the
   accelerator (CUDA) before every reading, so asynchronous kernels are inside the interval.
   The garbage collector is off while timing, as `timeit` does.

Why rounds, not torch.utils.benchmark.Timer's loop of many calls of one layer: a layer called
hundreds of times in a row runs with its code, weights and data hot in the caches, which the real
forward never gives it. On a 2-core VM that made small layers (ReLU, BatchNorm, pooling, a small
linear) 1.5 to 8 times faster than inside the forward, so FLOPs looked like a better predictor than
they are. Calling each layer once per round, after its predecessor, keeps the caches as the forward
leaves them. And load from other processes that comes and goes hits the layers and the whole forward
of one round alike, so that their ratio (the summary's `sum_ratio`) is taken round by round.
"""

from __future__ import annotations

import contextlib
import gc
from typing import Callable, Iterator

import torch
from torch.utils.benchmark.utils.timer import timer as synchronised_clock

from archcalc.bench.options import BENCH_DTYPES
from archcalc.bench.results import BenchSettings, Samples
from archcalc.errors import ArchcalcError
from archcalc.graph import Graph
from archcalc.progress import Progress, silent
from archcalc.torch_build import TorchRejected, build_module, example_input

TORCH_DTYPES = {name: getattr(torch, name) for name in BENCH_DTYPES}
DEVICE_KINDS = ("cpu", "cuda", "mps")


def torch_dtype(name: str) -> torch.dtype:
    if name not in TORCH_DTYPES:
        raise ArchcalcError(f"bench cannot run dtype {name!r}; choose from {', '.join(TORCH_DTYPES)}")
    return TORCH_DTYPES[name]


def resolve_device(text: str) -> torch.device:
    """'cpu', 'cuda', 'cuda:1' or 'mps', checked against what this machine has."""
    try:
        device = torch.device(text)
    except (RuntimeError, ValueError):
        raise ArchcalcError(f"unknown device {text!r}; use cpu, cuda, cuda:N or mps") from None
    if device.type not in DEVICE_KINDS:
        raise ArchcalcError(f"bench does not support device {text!r}; use cpu, cuda, cuda:N or mps")
    if device.type == "cuda":
        if not torch.cuda.is_available():
            build = f"torch {torch.__version__}" + ("" if torch.version.cuda else " is built without CUDA")
            raise ArchcalcError(f"device {text!r}: no CUDA GPU is available on this machine ({build})")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ArchcalcError(f"device {text!r}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ArchcalcError(f"device {text!r}: no Apple MPS device is available on this machine")
    return device


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return device.type


@contextlib.contextmanager
def torch_threads(threads: int | None) -> Iterator[int]:
    """Run with `threads` intra-op threads (torch's default when None); restore the old count after."""
    before = torch.get_num_threads()
    if threads is not None:
        if threads < 1:
            raise ArchcalcError(f"--threads must be a positive integer, got {threads}")
        torch.set_num_threads(threads)
    try:
        yield torch.get_num_threads()
    finally:
        torch.set_num_threads(before)


def record_inputs(module: torch.nn.Module, graph: Graph, x: torch.Tensor, where: str) -> list[tuple]:
    """One forward; the positional inputs each node module received, in graph order."""
    recorded: dict[str, tuple] = {}
    handles = []
    for node in graph.nodes:
        def keep(_module: torch.nn.Module, args: tuple, name: str = node.name) -> None:
            recorded[name] = args

        handles.append(module.node_module(node.name).register_forward_pre_hook(keep))
    try:
        module(x)
    except (TorchRejected, RuntimeError, NotImplementedError, TypeError) as exc:
        if isinstance(exc, TorchRejected):  # the module names the node torch refused
            failing, exc = graph.node(exc.node), exc.__cause__ or exc
        else:
            failing = graph.node(list(recorded)[-1]) if recorded else graph.nodes[0]
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise failing.error(ArchcalcError(f"torch cannot run this {failing.type} layer {where}: {detail}")) from None
    finally:
        for handle in handles:
            handle.remove()
    return [recorded[node.name] for node in graph.nodes]


def _fault_counter() -> Callable[[], int] | None:
    """Minor page faults of this process so far, where the platform counts them."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    return lambda: resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def measure(graph: Graph, batch: int, dtype: str, device: torch.device, settings: BenchSettings,
            progress: Progress = silent, task: str = "timing") -> Samples:  # fmt: skip
    """Seconds (and page faults) of every timed call: per layer, one per round, and the whole forward's."""
    torch.manual_seed(0)
    clock, faults = synchronised_clock, _fault_counter() or (lambda: 0)
    with torch.inference_mode():
        module = build_module(graph, device=str(device), dtype=torch_dtype(dtype))
        x = example_input(graph, batch=batch, device=str(device), dtype=torch_dtype(dtype))
        inputs = record_inputs(module, graph, x, f"in {dtype} on {device}")
        calls = [(module.node_module(node.name), args) for node, args in zip(graph.nodes, inputs)] + [(module, (x,))]
        seconds: list[list[float]] = [[] for _ in calls]
        faulted: list[list[int]] = [[] for _ in calls]
        collecting = gc.isenabled()
        gc.disable()
        try:
            rounds = settings.warmup + settings.repeats
            for round_index in range(rounds):
                progress(task, round_index, rounds)
                timed = round_index >= settings.warmup
                # Every layer once, in graph order; the whole forward last. The fault counter is
                # read outside the timed interval.
                for call_seconds, call_faults, (fn, args) in zip(seconds, faulted, calls):
                    faults_before = faults()
                    start = clock()
                    fn(*args)
                    end = clock()
                    if timed:
                        call_seconds.append(end - start)
                        call_faults.append(faults() - faults_before)
            progress(task, rounds, rounds)
        finally:
            if collecting:
                gc.enable()
    counted = _fault_counter() is not None
    return Samples(seconds[:-1], seconds[-1], faulted[:-1] if counted else None, faulted[-1] if counted else None)
