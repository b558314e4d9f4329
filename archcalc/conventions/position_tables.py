"""How the peer tools count resized_position_embedding (layers/resized_position.py): a learned position table
interpolated (F.interpolate) or tiled to the token grid once per call, on a batch of one, then added to the
tokens with `+` (no tool counts aten::add or aten::tile).

    fvcore      aten::upsample_bilinear2d 4 per output element, aten::upsample_nearest2d 1 (a 2-D grid table, not
                antialiased); the antialiased kernels, 1-D and 3-D interpolation have no handle: 0
    ptflops     the patched F.interpolate: output elements of each interpolated table (E·L for a grid table,
                E·g_i per resized factorised axis), per analysed sample
    torchinfo   0: the tables are not named weight or bias
FlopCounterMode registers no interpolation (its default: 0); thop hooks no such module (0).

fourier_position_encoding (layers/fourier_position.py) is a 1x1 nn.Conv2d on features made from the grid: every
tool counts that conv by its defaults for dense convs, except torchinfo, whose conv rule multiplies the weights and
bias by the conv's output positions and its *output's* batch, which is 1 for the form made once per call (`once`).
"""

from __future__ import annotations

from archcalc.conventions.base import Rule, zero
from archcalc.layers import numel


def _fvcore(v) -> int:
    a = v.attrs
    if a["factorized"] or a["antialias"] or len(a["grid"]) != 2:
        return 0
    return {"bilinear": 4, "nearest": 1}.get(a["mode"], 0) * numel(a["grid"]) * v.ins[0][-1]


def _ptflops(v) -> int:
    a, width = v.attrs, v.ins[0][-1]
    if a["mode"] is None:
        return 0
    resized = [g for g, t in zip(a["grid"], a["table"]) if g != t]  # a factorised table of the right length: as is
    outputs = sum(resized) if a["factorized"] else numel(a["grid"])
    return outputs * width * v.batch


RULES = {
    "fvcore": Rule(_fvcore, "once per call: aten::upsample_bilinear2d 4 per table element, upsample_nearest2d 1 (a "
                            "2-D grid table, not antialiased); other interpolations, tile and add: no handle"),
    "ptflops": Rule(_ptflops, "F.interpolate (patched): the interpolated tables' output elements"),
    "torchinfo": zero("its tables are not named weight or bias"),
}


def _fourier_torchinfo(v) -> dict[str, int]:
    """(weights + bias) x N x H·W, N the conv's own batch (1 when made once per call)."""
    batch = 1 if v.attrs["once"] else v.batch
    positions = v.out[1] * v.out[2]
    bias = v.attrs["dim"] if v.attrs["bias"] else 0
    return {"macs": (v.params - bias) * positions * batch, "bias": bias * positions * batch}


FOURIER_TORCHINFO = Rule(_fourier_torchinfo, "the 1x1 conv: (weights + bias) x N x output positions, N = 1 when "
                                             "made once per call")
