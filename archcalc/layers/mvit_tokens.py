"""MViT's token plumbing around its attention (torchvision/models/video/mvit.py): tokens [N, C] that are a
class token and a T×H×W grid, N = 1 + T·H·W (the grid is `thw`, which the model carries beside the tensor).

token_pool (torchvision's Pool(MaxPool3d, None): MultiscaleBlock.pool_skip, the shortcut of a block that
pools its queries)
    the grid tokens max-pooled over T×H×W with `kernel`, `stride` and padding k // 2, the class token kept in
    front: [1 + |g|, C], g_a = ⌊(n_a + 2⌊k_a/2⌋ − k_a) / s_a⌋ + 1
    flops        n − 1 comparisons per pooled output, n = window elements inside the grid (padding excluded):
                 C·(Π_a Σn_a − |g|), Σn_a = the window taps inside the grid along axis a, summed over the outputs
    connections  C·Π_a Σn_a (n per output)
grid_positions (torchvision's PositionalEncoding)
    a learned class token in front of [T·H·W, C]: [1 + T·H·W, C], params C. `separable` (MViTv1, without
    relative positions): plus a position embedding added to every token, built from a temporal table
    [T, C], a spatial table [H·W, C] and the class token's row [C]
    params       C (+ T·C + H·W·C + C separable)
    flops        separable: (1 + T·H·W)·C adds. Building the embedding from its tables (T·H·W·C adds) does
                 not depend on the batch: not counted, like Swin's bias gathering
    connections  0 (an add of a parameter is a bias, not a link)

Receptive field: a token sequence is outside the channels-first field analysis (None).
"""

from __future__ import annotations

from archcalc.errors import ArchcalcError
from archcalc.layers.attrs import Attr, Bool, Sizes
from archcalc.layers.base import Attrs, LayerType, Params, Shape, numel, register
from archcalc.layers.formula import Formula, Group, Term, counts, product
from archcalc.layers.imports import CannotMap, ImportRule
from archcalc.layers.multiscale_attention import TORCHVISION, pooled_grid


def _grid_tokens(layer: str, shape: Shape, grid: tuple[int, ...], cls: int) -> None:
    if len(shape) != 2:
        raise ArchcalcError(f"{layer} needs [N, C] tokens, got shape {list(shape)}")
    if shape[0] != cls + numel(grid):
        what = "a class token and the " if cls else "the "
        raise ArchcalcError(f"{layer}: {shape[0]} tokens are not {what}{'x'.join(map(str, grid))} grid "
                            f"({cls + numel(grid)})")  # fmt: skip


def _taps(size: int, kernel: int, stride: int, outputs: int) -> int:
    """Window taps inside [0, size) along one axis, summed over the outputs (padding k // 2)."""
    pad = kernel // 2
    return sum(min(i * stride - pad + kernel, size) - max(i * stride - pad, 0) for i in range(outputs))


def _thw(call) -> list[int]:
    thw = call.args[1] if len(call.args) > 1 else call.kwargs.get("thw")
    if not isinstance(thw, (tuple, list)) or len(thw) != 3:
        raise CannotMap(f"the grid thw is not three sizes ({thw!r})")
    return [int(size) for size in thw]


@register
class TokenPool(LayerType):
    name = "token_pool"
    summary = "MViT's max pool over the T×H×W grid of [1 + T·H·W, C] tokens, the class token kept"
    category = "pool"
    flops_rule = "n - 1 comparisons per output, n = window elements inside the grid"
    connections_rule = "n per output"
    attrs = (
        Attr("thw", Sizes(3), doc="the token grid [T, H, W] after the class token"),
        Attr("kernel", Sizes(3), doc="pooling window [k_t, k_h, k_w] (padding k // 2)"),
        Attr("stride", Sizes(3), None, "default: the kernel"),
    )

    def grids(self, a: Attrs, ins: list[Shape]) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
        grid, stride = tuple(a["thw"]), tuple(a["stride"] or a["kernel"])
        _grid_tokens(self.name, ins[0], grid, 1)
        out = pooled_grid(grid, a["kernel"], stride)
        if min(out) < 1:
            raise ArchcalcError(f"token_pool: the {'x'.join(map(str, grid))} grid pools to nothing")
        return grid, stride, out

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        return (1 + numel(self.grids(a, ins)[2]), ins[0][1])

    def taps(self, a: Attrs, ins: list[Shape]) -> list[int]:
        grid, stride, out = self.grids(a, ins)
        return [_taps(n, k, s, o) for n, k, s, o in zip(grid, a["kernel"], stride, out)]

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return ins[0][1] * (numel(tuple(self.taps(a, ins))) - (out[0] - 1))

    def connections(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return ins[0][1] * numel(tuple(self.taps(a, ins)))

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape) -> None:
        return None

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        _, _, grid = self.grids(a, ins)
        return [Formula("N_out", 1 + product([Term(f"{axis}_out", n) for axis, n in zip("THW", grid)]),
                        "the class token and the pooled grid"),
                Formula("C_out", Term("C", ins[0][1]))]  # fmt: skip

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        read = product([Term("C", ins[0][1])] + [Term(f"Σn_{axis}", n) for axis, n in zip("thw", self.taps(a, ins))])
        return counts(flops=read - Term("outputs", ins[0][1] * (out[0] - 1)), connections=read,
                      notes={"FLOPs": "n − 1 comparisons per output; Σn_a: window taps inside the grid along axis a, "
                                      "summed over the outputs; the class token is only copied"})  # fmt: skip

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_mvit

        return torch_mvit.TokenPool(tuple(a["thw"]), tuple(a["kernel"]), tuple(a["stride"] or a["kernel"]))

    def torch_import(self) -> tuple:
        from archcalc import torch_mvit

        def archcalc_read(call) -> dict:
            m = call.module
            return {"thw": list(m.thw), "kernel": list(m.pool.kernel_size), "stride": list(m.pool.stride)}

        def read(call) -> dict:
            from torch import nn

            m = call.module
            pool = m.pool
            if not isinstance(pool, nn.MaxPool3d) or m.norm_act is not None:
                raise CannotMap("only a Pool of a MaxPool3d without a norm is a token_pool")
            kernel, stride, padding, dilation = (list(value) if isinstance(value, (tuple, list)) else [value] * 3
                                                 for value in (pool.kernel_size, pool.stride, pool.padding,
                                                               pool.dilation))  # fmt: skip
            if padding != [k // 2 for k in kernel] or dilation != [1, 1, 1] or pool.ceil_mode:
                raise CannotMap("the max pool's padding is not k // 2 (or it dilates, or rounds up)")
            if len(call.in_shapes[0]) != 2:
                raise CannotMap("pools [B, heads, N, C] tokens; only the block's [B, N, C] shortcut maps")
            return {"thw": _thw(call), "kernel": kernel, "stride": stride}

        return (ImportRule(self.name, modules=(torch_mvit.TokenPool,), read=archcalc_read),
                ImportRule(self.name, foreign=(f"{TORCHVISION}.Pool",), read=read,
                           note="a Pool of a MaxPool3d (MultiscaleBlock.pool_skip); thw: from the call"))


@register
class GridPositions(LayerType):
    name = "grid_positions"
    summary = "MViT's class token in front of T×H×W grid tokens, with MViTv1's separable position embedding"
    category = "structure"
    flops_rule = "separable: one add per output element"
    attrs = (
        Attr("thw", Sizes(3), doc="the token grid [T, H, W]"),
        Attr("separable", Bool(), False, "MViTv1: add a position embedding from temporal and spatial tables"),
    )

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        _grid_tokens(self.name, ins[0], tuple(a["thw"]), 0)
        return (ins[0][0] + 1, ins[0][1])

    def params(self, a: Attrs, ins: list[Shape], out: Shape) -> Params:
        (T, H, W), C = a["thw"], ins[0][1]
        return Params(trainable=C + ((T + H * W + 1) * C if a["separable"] else 0))

    def embedding_params(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        """The position tables (separable): (T + H·W + 1)·C."""
        (T, H, W), C = a["thw"], ins[0][1]
        return (T + H * W + 1) * C if a["separable"] else 0

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return numel(out) if a["separable"] else 0

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape) -> None:
        return None

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        return [Formula("N_out", 1 + Term("N", ins[0][0]), "the class token in front"),
                Formula("C_out", Term("C", ins[0][1]))]  # fmt: skip

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        C = Term("C", ins[0][1])
        if not a["separable"]:
            return counts(params=C, notes={"FLOPs": "a concatenation only moves data"})
        T, H, W = (Term(axis, n) for axis, n in zip("THW", a["thw"]))
        return counts(params=C + Group(T + H * W + 1) * C, flops=Group(1 + T * H * W) * C,
                      notes={"FLOPs": "the position embedding added to every token; building it is per forward, "
                                      "not per sample"})  # fmt: skip

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_mvit

        return torch_mvit.GridPositions(ins[0][1], tuple(a["thw"]), a["separable"])

    def torch_import(self) -> tuple:
        from archcalc import torch_mvit

        def read(call) -> dict:
            m = call.module
            thw = [m.temporal_size, *m.spatial_size]
            separable = m.spatial_pos is not None and m.temporal_pos is not None and m.class_pos is not None
            if not separable and (m.spatial_pos is not None or m.temporal_pos is not None or m.class_pos is not None):
                raise CannotMap("some but not all of its position tables are set")
            return {"thw": thw, "separable": separable}

        return (ImportRule(self.name, modules=(torch_mvit.GridPositions,), read=read),
                ImportRule(self.name, foreign=(f"{TORCHVISION}.PositionalEncoding",), read=read))
