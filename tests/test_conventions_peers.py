"""Every built-in spec against the real tools: archcalc's convention totals equal what fvcore, ptflops,
thop, torchinfo and torch's FlopCounterMode report for archcalc's torch build of the spec, exactly.

Sizes (the rules must hold at every size, so each spec is checked at two):
- the smallest input each spec accepts: all five tools;
- the spec's own input (224, 299, FCN's 500, U-Net's 572, the RPN's 600x1000): thop, torchinfo and
  torch on the meta device, where no arithmetic runs;
- a second small size for a subset covering every layer type the zoo uses: fvcore and ptflops.
fvcore and ptflops need real CPU tensors (fvcore's jit trace rejects meta tensors; on meta, batch
norm decomposes into Python ops that ptflops' patched Tensor.add / mul would count), so they run
at small sizes only. specs/stress/ (1.2 trillion parameters) is left out: no tool can build it.
"""

from __future__ import annotations

import pytest

from archcalc import analyse, load_spec
from archcalc.conventions import count_convention
from archcalc.errors import ArchcalcError
from archcalc.spec import builtin_specs
from tests.peer_check import CPU_TOOLS, META_TOOLS, cpu_tools_for, spec_module, tool_totals

# Transformers at a toy size (their rules hold at any size; the CPU tools need real weights, and a 7B
# model's do not fit a test): one block, a few tokens, narrow widths where the width is a variable.
LLM_SMALL = {"seq_len": 4, "num_layers": 1, "hidden_size": 64, "intermediate_size": 96, "vocab_size": 50,
             "num_heads": 4, "kv_heads": 4}  # fmt: skip
TRANSFORMERS_SMALL = {
    "vit_b_16": {"image_size": 32, "num_layers": 1}, "vit_l_16": {"image_size": 16, "num_layers": 1},
    "swin_t": {"image_size": 32, "depths": [2, 1, 1, 1], "embed_dim": 12},
    "swin_v2_t": {"image_size": 32, "depths": [2, 1, 1, 1], "embed_dim": 12},
    "convnext_tiny": {"image_size": 32, "depths": [1, 1, 1, 1], "widths": [8, 16, 24, 32]},
    "bert_base": {"seq_len": 4, "num_layers": 1, "hidden_size": 32, "num_heads": 2, "intermediate_size": 64,
                  "vocab_size": 40},
    "gpt2_small": {"seq_len": 4, "n_layer": 1, "n_embd": 32, "n_head": 2, "n_inner": 64, "vocab_size": 40},
    "llama2_7b": LLM_SMALL, "llama3_8b": {**LLM_SMALL, "kv_heads": 2},
}  # fmt: skip

# The smallest input each spec accepts (found by trying sizes upwards; one pixel less is refused):
# an input side for the --input override, or variables for specs whose size is a variable.
# Specs not listed run at their own (already small) input.
SMALLEST = {
    "alexnet": 63, "alexnet_original": 67, "darknet19": 32, "densenet121": 29, "densenet169": 29,
    "efficientnet_b0": 1, "fcn32s": {"size": 1}, "googlenet": 15, "googlenet_original": 223, "inception_v3": 75,
    "mobilenet_v1": 1, "mobilenet_v2": 1, "mobilenet_v3_large": 1, "mobilenet_v3_small": 1, "resnet18": 1,
    "resnet34": 1, "resnet50": 1, "resnet101": 1, "resnet152": 1, "resnext50_32x4d": 1, "wide_resnet50_2": 1,
    "se_resnet50": 3, "shufflenet_v2_x1_0": 1, "squeezenet1_0": 21, "squeezenet1_1": 17, "unet": {"size": 188},
    "vgg11": 32, "vgg13": 32, "vgg16": 32, "vgg16_bn": 32, "vgg19": 32, "vgg16_rpn": 16, "xception": 7,
    "vgg11_lrn": 32, "vgg16_c": 32, "fcn16s": {"size": 1}, "fcn8s": {"size": 1},
    "fast_rcnn_vgg16": {"height": 112, "width": 112, "rois": 1},
    "yolov1": 31, "yolov2": 32, "examples/stem_3x3x3": 1, "examples/stem_3x3x3_slim": 1, "examples/stem_7x7": 1,
    "examples/vgg16_rpn_window": 16, "examples/grouped_conv": 1, "examples/single_conv": 1,
    "examples/stacked_3x3": 1,
    "r3d_18": (3, 1, 1, 1), "mc3_18": (3, 1, 1, 1), "r2plus1d_18": (3, 1, 1, 1), "c3d": (3, 16, 16, 16),
    "unet3d": {"depth": 92, "size": 92, "width": 2}, "m5": (1, 1), "tcn": {"length": 1},
    **{name: TRANSFORMERS_SMALL[name] for name in TRANSFORMERS_SMALL}, "zaremba_lstm_medium": {"num_steps": 1},
}  # fmt: skip

# A second small size (fvcore and ptflops) for specs that together use every layer type of the zoo.
SECOND = {
    "alexnet": 100, "alexnet_original": 99, "darknet19": 40, "efficientnet_b0": 40, "inception_v3": 80,
    "lenet5": 36, "mobilenet_v2": 40, "mobilenet_v3_small": 40, "resnet50": 40, "shufflenet_v2_x1_0": 40,
    "squeezenet1_1": 40, "unet": {"size": 204}, "vgg16_rpn": 20, "yolov1": 63, "yolov2": 64,
    "examples/dilated_124": 9, "examples/transposed_conv": 5,
    "fast_rcnn_vgg16": {"height": 128, "width": 128, "rois": 2},
    "r2plus1d_18": (3, 4, 9, 9), "mc3_18": (3, 3, 8, 8), "c3d": (3, 17, 20, 18),
    "unet3d": {"depth": 93, "size": 94, "width": 2}, "m5": (1, 333), "tcn": {"length": 30},
    "vit_b_16": {"image_size": 48, "num_layers": 1}, "swin_t": {"image_size": 64, "depths": [2, 1, 1, 1], "window": 3},
    "swin_v2_t": {"image_size": 64, "depths": [2, 1, 1, 1], "window": 3},
    "convnext_tiny": {"image_size": 64, "depths": [1, 1, 1, 1], "widths": [8, 16, 24, 32]},
    "bert_base": {"seq_len": 6, "num_layers": 1, "hidden_size": 32, "num_heads": 2, "vocab_size": 40},
    "llama3_8b": {**LLM_SMALL, "seq_len": 6, "kv_heads": 1},
    "zaremba_lstm_medium": {"num_steps": 3, "hidden": 24, "vocab_size": 50},
    "examples/attention_by_hand": {"tokens": 5, "width": 12, "heads": 3},
}  # fmt: skip

SPECS = sorted(name for name in builtin_specs() if not name.startswith("stress/"))


def load(name: str, size):
    """The spec at `size`: an input side (the spec's channels kept), a whole input shape (a tuple, for
    other ranks than images), variables, or None for its own input."""
    if isinstance(size, dict):
        return load_spec(name, size)
    if isinstance(size, tuple):
        return load_spec(name, input_shape=size)
    if size is None:
        return load_spec(name)
    channels = load_spec(name).input_shape[0]
    return load_spec(name, input_shape=(channels, size, size))


def check(graph, tools: tuple[str, ...]) -> None:
    report = analyse(graph)
    measured = tool_totals(spec_module(graph), tuple(graph.input_shape), tools, dtype=graph.input_dtype,
                           cpu_tools=cpu_tools_for(graph))  # fmt: skip
    for tool in tools:
        predicted = count_convention(graph, report, tool)
        assert measured[tool] == predicted.total, (tool, list(graph.input_shape), predicted.items)


def test_the_size_tables_name_real_specs():
    assert set(SMALLEST) <= set(SPECS) and set(SECOND) <= set(SPECS)


def test_the_second_size_subset_uses_every_layer_type_of_the_zoo():
    used = {node.type for name in SPECS for node in load_spec(name).nodes}
    covered = {node.type for name, size in SECOND.items() for node in load(name, size).nodes}
    assert used <= covered, sorted(used - covered)


@pytest.mark.parametrize("name", SPECS)
def test_all_tools_at_the_smallest_size(name):
    check(load(name, SMALLEST.get(name)), CPU_TOOLS + META_TOOLS)


@pytest.mark.parametrize("name", sorted(n for n, size in SMALLEST.items() if isinstance(size, int) and size > 1))
def test_the_smallest_size_is_the_smallest(name):
    with pytest.raises(ArchcalcError):
        analyse(load(name, SMALLEST[name] - 1))


@pytest.mark.parametrize("name", SPECS)
def test_meta_tools_at_the_specs_own_size(name):
    graph = load_spec(name)
    # FlopCounterMode counts attention as it runs on the CPU (tests/peer_check.py): at the smallest size only.
    check(graph, tuple(tool for tool in META_TOOLS if tool not in cpu_tools_for(graph)))


@pytest.mark.parametrize("name", sorted(SECOND))
def test_cpu_tools_at_a_second_size(name):
    check(load(name, SECOND[name]), CPU_TOOLS)
