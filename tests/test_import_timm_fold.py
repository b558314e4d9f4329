"""timm's sliding-window blocks (tests/models/timm_fold.py, copied from timm 1.0.31) import complete and exact:
VOLO's outlook attention (nn.Unfold, F.fold) and its token-label head (`x_aux.max(1)[0]`), TNT's pixel embedding
(nn.Unfold), F.unfold / F.fold called as functions, and HaloNet's HaloAttn (`kv.unfold(2, ...).unfold(3, ...)` on
maps whose batch is merged with the heads, relative-position keys as matmul operands); each as
tests/import_exact.py requires (complete, params and buffers, fvcore and FlopCounterMode at batch 1 and 2, round
trip and `check`)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from archcalc import analyse
from archcalc.importer import import_model
from tests.import_exact import assert_complete_and_exact, assert_round_trip_and_check
from tests.import_exact import seeded as _model
from tests.models import timm_fold as tf

CASES = {
    "volo_outlooker": (tf.Outlooker, (6, 6, 16)),
    "volo_outlooker_strided": (lambda: tf.Outlooker(stride=2), (7, 6, 16)),
    "volo_aux_head": (tf.VoloAuxHead, (10, 16)),
    "tnt_pixel_embed": (tf.PixelEmbed, (3, 32, 32)),
    "unfold_fold_functions": (tf.UnfoldFold, (3, 7, 6)),
    "halo_attn": (tf.HaloAttn, (16, 8, 8)),
    "halo_attn_scaled_pos": (lambda: tf.HaloAttn(num_heads=4, halo_size=2, qk_ratio=0.5, scale_pos_embed=True),
                             (16, 8, 8)),
    "halo_attn_stride2_avg": (lambda: tf.HaloAttn(dim=8, dim_out=16, stride=2, block_size=3, qkv_bias=True),
                              (8, 6, 6)),
}
LAYERS = {  # the types the calls of interest import as
    "volo_outlooker": {"unfold", "fold"},
    "volo_outlooker_strided": {"unfold", "fold"},
    "volo_aux_head": {"amax"},
    "tnt_pixel_embed": {"unfold"},
    "unfold_fold_functions": {"unfold", "fold"},
    "halo_attn": {"unfold_axis", "matmul"},
    "halo_attn_scaled_pos": {"unfold_axis", "matmul"},
    "halo_attn_stride2_avg": {"unfold_axis", "avg_pool2d"},
}


@pytest.mark.parametrize("case", list(CASES))
def test_imports_complete_and_equal_to_torch_and_the_tools(case):
    factory, shape = CASES[case]
    report = assert_complete_and_exact(factory, shape)
    assert LAYERS[case] <= {layer.type for layer in report.layers}
    with torch.no_grad():
        out = _model(factory)(torch.randn(2, *shape))
    assert out.numel() == 2 * math.prod(report.layers[-1].output_shape)  # TNT merges its patches into the batch


@pytest.mark.parametrize("case", list(CASES))
def test_round_trips_and_check_passes(case):
    assert_round_trip_and_check(*CASES[case])


def test_fold_counts_the_adds_torch_does():
    """fold's FLOPs: a position receiving n > 0 column elements takes n − 1 adds (ones folded give n)."""
    report = analyse(import_model(_model(tf.Outlooker), (6, 6, 16)).graph)
    [fold] = [layer for layer in report.layers if layer.type == "fold"]
    columns = torch.ones(1, 16 * 9, 36)
    counts = F.fold(columns, (6, 6), 3, padding=1)
    assert fold.connections == int(counts.sum()) == 16 * 16 * 16  # per axis 6 windows x 3 taps - 2 on the padding
    assert fold.flops == int(counts.sum()) - int((counts > 0).sum())
    assert fold.macs == 0


def test_max_with_a_dim_imports_as_amax_and_other_forms_stay_unsupported():
    class Both(torch.nn.Module):
        def forward(self, x):
            values, indices = x.max(1)
            return values + indices

    report = analyse(import_model(Both, (4, 5)).graph)
    assert not report.complete
    assert any("indices" in gap.reason for gap in report.unsupported), [gap.reason for gap in report.unsupported]

    class Everything(torch.nn.Module):
        def forward(self, x):
            return x * x.max()

    report = analyse(import_model(Everything, (4, 5)).graph)
    assert [gap.op for gap in report.unsupported][0] == "torch.Tensor.max"  # the maximum of the whole batch


def test_windows_across_the_batch_axis_stay_unsupported():
    class AcrossBatch(torch.nn.Module):
        def forward(self, x):
            return x.unfold(0, 2, 1)

    report = analyse(import_model(AcrossBatch, (4, 5)).graph)
    assert [gap.op for gap in report.unsupported] == ["torch.Tensor.unfold"]
    assert "batch" in report.unsupported[0].reason


def test_unfold_axis_imports_with_its_sample_axis():
    class Windows(torch.nn.Module):
        def forward(self, x):
            return x.unfold(-1, 3, 2).unfold(1, 2, 2)

    report = analyse(import_model(Windows, (4, 6, 7)).graph)
    assert report.complete and [layer.type for layer in report.layers] == ["unfold_axis", "unfold_axis"]
    assert [layer.attributes["axis"] for layer in report.layers] == [-1, 0]
    assert report.layers[-1].output_shape == list(torch.zeros(1, 4, 6, 7).unfold(-1, 3, 2).unfold(1, 2, 2).shape[1:])
