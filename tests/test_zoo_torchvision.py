"""The torchvision-named zoo specs reproduce torchvision's models exactly.

For each spec: the analytic report, archcalc's own torch build and an independent reference module
(tests/reference/, torchvision's module tree re-created from its public source) agree layer by layer
(output shape, params, buffers) and in total; the totals equal what torchvision publishes.
"""

from __future__ import annotations

import pytest
import torch

from archcalc.analysis import analyse
from archcalc.errors import ArchcalcError
from archcalc.spec import load_spec
from tests.reference import classic, densenet, inception, resnet
from tests.zoo_compare import compare, densenet_names, positional_names

REFERENCES = {**classic.MODELS, **resnet.MODELS, **densenet.MODELS, **inception.MODELS}

# torchvision's published parameter counts: the "num_params" of each model's IMAGENET1K_V1 weights
# (torchvision/models/*.py, shown as num_params on pytorch.org/vision/stable/models).
PUBLISHED_PARAMS = {
    "alexnet": 61_100_840,
    "vgg11": 132_863_336,
    "vgg13": 133_047_848,
    "vgg16": 138_357_544,
    "vgg19": 143_667_240,
    "vgg16_bn": 138_365_992,
    "googlenet": 6_624_904,
    "inception_v3": 27_161_264,  # counts the auxiliary head (AuxLogits), see test_inception_v3_aux_head
    "resnet18": 11_689_512,
    "resnet34": 21_797_672,
    "resnet50": 25_557_032,
    "resnet101": 44_549_160,
    "resnet152": 60_192_808,
    "resnext50_32x4d": 25_028_904,
    "wide_resnet50_2": 68_883_240,
    "densenet121": 7_978_856,
    "densenet169": 14_149_480,
    "squeezenet1_0": 1_248_424,
    "squeezenet1_1": 1_235_496,
}

# torchvision's published GFLOPS (the "_ops" of the same weights, 3 decimals): multiply-adds of the
# convs and linear layers at the weights' crop size in inference mode, which is archcalc's MACs.
PUBLISHED_GFLOPS = {
    "alexnet": 0.714, "vgg11": 7.609, "vgg13": 11.308, "vgg16": 15.47, "vgg19": 19.632, "vgg16_bn": 15.47,
    "googlenet": 1.498, "inception_v3": 5.713, "resnet18": 1.814, "resnet34": 3.664, "resnet50": 4.089,
    "resnet101": 7.801, "resnet152": 11.514, "resnext50_32x4d": 4.23, "wide_resnet50_2": 11.398,
    "densenet121": 2.834, "densenet169": 3.36, "squeezenet1_0": 0.819, "squeezenet1_1": 0.349,
}  # fmt: skip

VGG = ("vgg11", "vgg13", "vgg16", "vgg19", "vgg16_bn")


def reference(name: str, **kwargs) -> torch.nn.Module:
    with torch.device("meta"):
        return REFERENCES[name](**kwargs)


def rename_for(name: str, graph, model):
    if name in VGG:
        return positional_names(graph, model)
    if name.startswith("densenet"):
        return densenet_names
    return lambda node: node


def test_every_reference_has_a_published_count():
    assert set(REFERENCES) == set(PUBLISHED_PARAMS) == set(PUBLISHED_GFLOPS)


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_spec_matches_torchvision_layer_by_layer(name):
    graph = load_spec(name)
    model = reference(name)
    result = compare(graph, model, rename_for(name, graph, model))
    # The comparison really paired the layers: every conv and linear layer of the spec has its module.
    weighted = [node.name for node in graph.nodes if node.type in ("conv2d", "linear")]
    assert weighted and all(node in result.matched for node in weighted)


@pytest.mark.parametrize("name", sorted(PUBLISHED_PARAMS))
def test_params_equal_torchvision_published(name):
    overrides = {"aux_logits": True} if name == "inception_v3" else {}
    assert analyse(load_spec(name, overrides)).totals.params == PUBLISHED_PARAMS[name]


@pytest.mark.parametrize("name", sorted(PUBLISHED_GFLOPS))
def test_macs_round_to_torchvision_published_gflops(name):
    assert round(analyse(load_spec(name)).totals.macs / 1e9, 3) == PUBLISHED_GFLOPS[name]


def test_inception_v3_aux_head():
    """torchvision's published count includes AuxLogits; the spec adds it with aux_logits=true."""
    plain, with_aux = load_spec("inception_v3"), load_spec("inception_v3", {"aux_logits": True})
    aux_module = reference("inception_v3", aux_logits=True).AuxLogits
    aux_params = sum(p.numel() for p in aux_module.parameters())
    assert aux_params == 3_326_696
    assert analyse(plain).totals.params + aux_params == PUBLISHED_PARAMS["inception_v3"]
    result = compare(with_aux, reference("inception_v3", aux_logits=True), training=True)
    assert "AuxLogits.conv1.conv" in result.matched and "AuxLogits.fc" in result.matched


def test_googlenet_aux_heads_match_the_bare_constructor():
    """googlenet() without weights keeps aux1 and aux2: 13,004,888 params."""
    graph = load_spec("googlenet", {"aux_logits": True})
    result = compare(graph, reference("googlenet", aux_logits=True), training=True)
    assert {"aux1.fc1", "aux2.fc2", "aux2.conv.conv"} <= set(result.matched)
    assert analyse(graph).totals.params == 13_004_888


# The exposed knobs reach torchvision's other published models.
KNOBS = [
    ("resnet50", {"layers": [3, 4, 23, 3], "groups": 32, "width_per_group": 8}, 88_791_336),  # resnext101_32x8d
    ("resnet50", {"layers": [3, 4, 23, 3], "groups": 64, "width_per_group": 4}, 83_455_272),  # resnext101_64x4d
    ("wide_resnet50_2", {"layers": [3, 4, 23, 3]}, 126_886_696),  # wide_resnet101_2
    ("resnext50_32x4d", {"groups": 1, "width_per_group": 64}, 25_557_032),  # back to resnet50
    ("resnet18", {"layers": [3, 4, 6, 3]}, 21_797_672),  # resnet34
    ("densenet121", {"growth_rate": 48, "block_config": [6, 12, 36, 24], "num_init_features": 96}, 28_681_000),
    ("densenet121", {"block_config": [6, 12, 48, 32]}, 20_013_928),  # densenet201
]


@pytest.mark.parametrize("name, overrides, published", KNOBS)
def test_variables_reach_other_torchvision_models(name, overrides, published):
    assert analyse(load_spec(name, overrides)).totals.params == published


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_num_classes_is_a_variable(name):
    graph = load_spec(name, {"num_classes": 10})
    model = reference(name, num_classes=10)
    compare(graph, model, rename_for(name, graph, model))
    assert analyse(graph).layers[-1].output_shape == [10]


# torchvision's "min_size" of each model's weights: the smallest input the model accepts.
MIN_SIZE = {"alexnet": 63, "vgg11": 32, "vgg13": 32, "vgg16": 32, "vgg19": 32, "vgg16_bn": 32, "googlenet": 15,
            "inception_v3": 75, "resnet18": 1, "resnet34": 1, "resnet50": 1, "resnet101": 1, "resnet152": 1,
            "resnext50_32x4d": 1, "wide_resnet50_2": 1, "densenet121": 29, "densenet169": 29,
            "squeezenet1_0": 21, "squeezenet1_1": 17}  # fmt: skip


@pytest.mark.parametrize("name", sorted(MIN_SIZE))
def test_smallest_input_matches_torchvision_min_size(name):
    """At torchvision's min_size every layer still agrees; one pixel less is refused with a clear error."""
    size = MIN_SIZE[name]
    graph = load_spec(name, input_shape=(3, size, size))
    model = reference(name)
    compare(graph, model, rename_for(name, graph, model))
    if size > 1:
        with pytest.raises(ArchcalcError, match="collapses"):
            analyse(load_spec(name, input_shape=(3, size - 1, size - 1)))
