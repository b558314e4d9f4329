"""Differential tests: random specs, analysed by archcalc and run through torch.nn modules built directly.

Shapes and parameter counts must be equal; where torch rejects a configuration archcalc must reject it
too (with a one-line ArchcalcError naming the layer), and the other way round. The CI profile runs a
few hundred examples per property; `make test-long` (HYPOTHESIS_PROFILE=long) thousands.
"""

from __future__ import annotations

import json

import hypothesis.strategies as st
import pytest
import torch
from hypothesis import event, given
from hypothesis import note as hypothesis_note
from hypothesis.control import currently_in_test_context
from tests.reference_layers import ANY_LAYER, BRANCH_LAYERS, IMAGE_LAYERS, Drawn, activation, flatten, image_shapes, linear
from tests.reference_layers_nd import one_layer, stacks
from torch import nn

from archcalc import ArchcalcError, analyse, load_spec_text

BATCH = 2  # a batch of 2, so a reference that silently works only for batch 1 is not mistaken for agreement


def note(message: str) -> None:
    if currently_in_test_context():  # shown with a failing example; the plain test below has none
        hypothesis_note(message)


def torch_params(module: nn.Module) -> tuple[int, int, int]:
    trainable = sum(p.numel() for p in module.parameters() if p.requires_grad)
    fixed = sum(p.numel() for p in module.parameters() if not p.requires_grad)
    return trainable, fixed, sum(b.numel() for b in module.buffers())


def run_torch(input_shape: tuple[int, ...], steps: list[tuple[str, list[str], object]]) -> tuple[dict, str | None]:
    """Run (name, inputs, Drawn | merge) steps on a zero cpu tensor; return per-name results and the rejecting name."""
    values = {"input": torch.zeros((BATCH,) + tuple(input_shape))}
    results = {}
    for name, inputs, what in steps:
        args = [values[i] for i in inputs]
        try:
            with torch.no_grad():
                if isinstance(what, Drawn):
                    module = what.make(tuple(args[0].shape)).eval()
                    values[name] = module(*args)
                    results[name] = (tuple(values[name].shape[1:]), torch_params(module))
                else:
                    values[name] = args[0] + args[1] if what == "add" else torch.cat(args, dim=1)
                    results[name] = (tuple(values[name].shape[1:]), (0, 0, 0))
        except Exception as exc:  # noqa: BLE001 - any torch refusal (ValueError, RuntimeError, IndexError)
            note(f"torch rejects {name}: {type(exc).__name__}: {exc}")
            return results, name
        if values[name].numel() == 0 and values[name].shape[0] == BATCH:
            note(f"torch returns an empty tensor at {name}: {tuple(values[name].shape)}")
            return results, name
    return results, None


def run_archcalc(input_shape: tuple[int, ...], steps: list[tuple[str, list[str], object]]) -> tuple[dict, str | None]:
    layers = []
    for name, inputs, what in steps:
        spec = dict(what.spec) if isinstance(what, Drawn) else {"type": what}
        layers.append({"name": name, "inputs": inputs, **spec})
    text = json.dumps({"name": "random", "input": list(input_shape), "layers": layers})
    note(f"spec: {text}")
    try:
        report = analyse(load_spec_text(text))
    except ArchcalcError as exc:
        message = str(exc)
        note(f"archcalc rejects: {message}")
        assert "\n" not in message and exc.path, f"not a one-line error naming the layer: {message!r}"
        return {}, exc.path
    results = {}
    for layer in report.layers:
        results[layer.name] = (tuple(layer.output_shape),
                               (layer.trainable_params, layer.non_trainable_params, layer.buffers))  # fmt: skip
    return results, None


def assert_same(input_shape: tuple[int, ...], steps: list, exact_rejection: bool) -> None:
    expected, torch_rejects = run_torch(input_shape, steps)
    seen, archcalc_rejects = run_archcalc(input_shape, steps)
    if currently_in_test_context():
        event("both accept" if archcalc_rejects is None and torch_rejects is None else "a side rejects")
    if exact_rejection:
        assert archcalc_rejects == torch_rejects, f"torch rejects {torch_rejects}, archcalc rejects {archcalc_rejects}"
    else:
        assert (archcalc_rejects is None) == (torch_rejects is None), \
            f"torch rejects {torch_rejects}, archcalc rejects {archcalc_rejects}"  # fmt: skip
    if archcalc_rejects is None:
        for name, (shape, params) in expected.items():
            assert seen[name][0] == shape, f"{name}: archcalc shape {seen[name][0]}, torch {shape}"
            assert seen[name][1] == params, f"{name}: archcalc (trainable, fixed, buffers) {seen[name][1]}, torch {params}"


@given(image_shapes, IMAGE_LAYERS)
def test_one_image_layer_agrees_with_torch(input_shape, drawn):
    assert_same(input_shape, [("layer", ["input"], drawn)], exact_rejection=True)


@given(st.one_of(image_shapes, st.tuples(st.integers(1, 40))), ANY_LAYER)
def test_one_layer_on_any_input_agrees_with_torch(input_shape, drawn):
    assert_same(input_shape, [("layer", ["input"], drawn)], exact_rejection=True)


@st.composite
def networks(draw):
    """Image stages (single layers, or forks of two branches merged by add or concat), then maybe a head."""
    steps, previous = [], "input"
    for index in range(draw(st.integers(1, 4))):
        if draw(st.integers(0, 2)) == 0:
            ends = []
            for branch in "ab":
                last = previous
                for depth in range(draw(st.integers(1, 2))):
                    name = f"f{index}{branch}{depth}"
                    steps.append((name, [last], draw(BRANCH_LAYERS)))
                    last = name
                ends.append(last)
            steps.append((f"merge{index}", ends, draw(st.sampled_from(["add", "concat", "concat"]))))
            previous = f"merge{index}"
        else:
            steps.append((f"l{index}", [previous], draw(BRANCH_LAYERS)))
            previous = f"l{index}"
    if draw(st.booleans()):  # a classifier head
        steps.append(("flatten", [previous], flatten()))
        steps.append(("fc", ["flatten"], draw(linear(claims=False))))
        steps.append(("out", ["fc"], draw(activation())))
    return steps


@given(st.tuples(st.sampled_from([1, 2, 4, 8]), st.integers(4, 16), st.integers(4, 16)), networks())
def test_random_network_agrees_with_torch(input_shape, steps):
    # archcalc validates every layer's attributes before any shape, so with several bad layers the one it
    # names can differ from the first one torch trips on; that both refuse is what must hold.
    assert_same(input_shape, steps, exact_rejection=False)


def test_a_wrong_answer_fails_the_comparison(monkeypatch):
    """The harness itself can fail: a broken conv2d shape rule must be caught on a plain conv."""
    from archcalc.layers import REGISTRY

    conv = REGISTRY["conv2d"]
    honest = conv.shape
    monkeypatch.setattr(conv, "shape", lambda a, ins: (lambda s: (s[0], s[1] + 1, s[2]))(honest(a, ins)))
    drawn = Drawn({"type": "conv2d", "out_channels": 2, "kernel": 3}, lambda shape: nn.Conv2d(shape[1], 2, 3))
    with pytest.raises(AssertionError, match="archcalc shape"):
        assert_same((1, 8, 8), [("layer", ["input"], drawn)], exact_rejection=True)


@given(one_layer())
def test_one_layer_of_any_rank_agrees_with_torch(drawn):
    """A conv, transposed conv, pool, adaptive pool, norm, pad or upsample on [C, L], [C, H, W] or [C, D, H, W]."""
    input_shape, layer = drawn
    assert_same(input_shape, [("layer", ["input"], layer)], exact_rejection=True)


@given(stacks())
def test_stacks_of_any_rank_agree_with_torch(drawn):
    input_shape, layers = drawn
    names = [f"l{index}" for index in range(len(layers))]
    steps = [(name, [previous], layer) for name, previous, layer in zip(names, ["input"] + names, layers)]
    assert_same(input_shape, steps, exact_rejection=False)
