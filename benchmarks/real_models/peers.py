"""The reference figures for one model: torch's own counts, fvcore's total and FlopCounterMode's total.

    python -m benchmarks.real_models.peers FACTORY.py INPUT_JSON TOKENS

Prints one JSON line. The model is built on the CPU with real weights (fvcore's jit trace needs real
tensors, and index buffers must hold real indices), in eval mode, and run on one sample under
`torch.no_grad()`: zeros of the input shape, or integer token ids (zeros) for text models.
- params: `sum(p.numel() for p in model.parameters())` (shared parameters once, as torch counts);
  buffers: `sum(b.numel() for b in model.buffers())`.
- fvcore: `FlopCountAnalysis(model, x).total()`, with the operators it skipped (its own list).
- torch: `FlopCounterMode` around one forward of the CPU model, as people run inference (and as
  archcalc's `--convention torch` describes, archcalc/conventions/torch_rules.py): there torch takes its
  fused attention and recurrent kernels (nn.MultiheadAttention's native path, CPU flash attention, oneDNN
  LSTM), which FlopCounterMode does not count; on the meta device the math path runs and counts them. When
  the CPU forward fails under no_grad (torch 2.14's FlopCounterMode stops with "Expected gradient function
  to be set" inside timm's PiT), once more with gradients on, then on meta.
Outputs that are dicts or lists (segmentation, detection, Hugging Face) are flattened to a tuple of
tensors for fvcore's trace, which changes no count.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import sys
import time
import warnings


def _one_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"


def _load(path: str):
    spec = importlib.util.spec_from_file_location("campaign_model", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build


def _tensors(value) -> list:
    import torch

    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        return [t for item in value for t in _tensors(item)]
    return []


def _flat(model):
    import torch

    class Flat(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, x):
            return tuple(_tensors(self.model(x)))

    return Flat().eval()


def _example(shape: tuple[int, ...], tokens: int, device: str):
    import torch

    if tokens:
        return torch.zeros((1,) + shape, dtype=torch.long, device=device)
    return torch.zeros((1,) + shape, device=device)


class _Skipped(Exception):
    pass


def _flop_counter(model, x, gradients: bool = False) -> int:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    with torch.set_grad_enabled(gradients), FlopCounterMode(display=False) as counter:
        model(x)
    return int(counter.get_total_flops())


@contextlib.contextmanager
def _no_random_init():
    """Random weight initialisation replaced by zeros while building: drawing hundreds of millions of
    random numbers takes longer than everything else here, and no count reads a weight's value (zeros,
    unlike uninitialised memory, hold no denormals or NaNs to slow the forward). Buffers (index tables,
    running statistics) are computed as usual."""
    import torch

    def zero(tensor, *args, **kwargs):
        with torch.no_grad():
            return tensor.zero_()

    saved = {name: getattr(torch.Tensor, name) for name in _RANDOM_INIT}
    saved_init = {name: getattr(torch.nn.init, name) for name in _INIT_FUNCTIONS}
    try:
        for name in _RANDOM_INIT:
            setattr(torch.Tensor, name, zero)
        for name in _INIT_FUNCTIONS:
            setattr(torch.nn.init, name, zero)
        yield
    finally:
        for name, method in saved.items():
            setattr(torch.Tensor, name, method)
        for name, function in saved_init.items():
            setattr(torch.nn.init, name, function)


_RANDOM_INIT = ("normal_", "uniform_", "erfinv_", "log_normal_", "exponential_", "cauchy_", "geometric_")
_INIT_FUNCTIONS = ("orthogonal_", "sparse_", "trunc_normal_")


def measure(path: str, shape: tuple[int, ...], tokens: int, initialise: bool = False, fvcore: bool = True) -> dict:
    """`initialise`: draw the random weights as the model's constructor does (detection models, whose
    post-processing depends on the scores, need it for a deterministic count). `fvcore`: run fvcore
    (a jit trace and a real forward: the slowest step; the campaign skips it when archcalc has no figure
    to compare with)."""
    import torch

    torch.manual_seed(0)
    factory = _load(path)

    def build():
        if initialise:
            return factory()
        with _no_random_init():
            return factory()

    out: dict = {"versions": {"torch": torch.__version__}, "initialised": initialise}
    started = time.perf_counter()
    model = build().eval()
    out["build_s"] = time.perf_counter() - started
    out["params"] = sum(p.numel() for p in model.parameters())
    out["buffers"] = sum(b.numel() for b in model.buffers())
    out["trainable_params"] = sum(p.numel() for p in model.parameters() if p.requires_grad)
    x = _example(shape, tokens, "cpu")

    started = time.perf_counter()
    try:
        if not fvcore:
            raise _Skipped("not run: archcalc did not import the model")
        from fvcore.nn import FlopCountAnalysis

        with torch.no_grad():
            analysis = FlopCountAnalysis(_flat(model), x)
            analysis.unsupported_ops_warnings(False)
            analysis.uncalled_modules_warnings(False)
            analysis.tracer_warnings("none")
            out["fvcore"] = int(analysis.total())
            out["fvcore_skipped"] = dict(sorted(analysis.unsupported_ops().items()))
    except _Skipped as skipped:
        out["fvcore_error"] = str(skipped)
    except Exception as exc:  # noqa: BLE001 - a tool failing on a model is a result
        out["fvcore_error"] = _one_line(exc)
    out["fvcore_s"] = time.perf_counter() - started

    started = time.perf_counter()
    cpu_failure = ""
    for gradients, device in ((False, "cpu"), (True, "cpu, gradients on")):
        try:
            out["torch"] = _flop_counter(model, x, gradients)
            out["torch_device"] = device
            break
        except Exception as exc:  # noqa: BLE001 - a tool failing on a model is a result
            cpu_failure = cpu_failure or _one_line(exc)
    if "torch" not in out:
        try:
            with torch.device("meta"):
                meta_model = build().eval()
            out["torch"] = _flop_counter(meta_model, _example(shape, tokens, "meta"))
            out["torch_device"] = "meta"
        except Exception as exc:  # noqa: BLE001
            out["torch_error"] = f"{_one_line(exc)} (on the CPU: {cpu_failure[:150]})"
    out["torch_s"] = time.perf_counter() - started
    return out


def main() -> None:
    warnings.simplefilter("ignore")
    path, shape, tokens = sys.argv[1], tuple(json.loads(sys.argv[2])), int(sys.argv[3])
    torch_threads = None
    try:
        import torch

        torch_threads = torch.get_num_threads()
    except ImportError:
        pass
    result = measure(path, shape, tokens)
    result["threads"] = torch_threads
    print(json.dumps(result))


if __name__ == "__main__":
    main()
