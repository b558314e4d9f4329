"""fourier_position_encoding: the 2-D Fourier position encoding of XCiT and EdgeNeXt (timm's
PositionalEncodingFourier), made in forward from the token grid's shape alone, then projected by a 1x1 conv:
[dim, H, W] (`grid` [H, W]). It reads no input value: its one input (the network input in an import) only places it
in the graph, and its output is added to the tokens by an ordinary add.

    {type: fourier_position_encoding, grid: [16, 16], hidden_dim: 32, dim: 168}
        EdgeNeXt: the encoding is made for every sample (`torch.zeros(B, H, W)`), the conv runs on the batch
    {type: fourier_position_encoding, grid: [28, 28], hidden_dim: 32, dim: 128, once: true}
        XCiT's form: made on a batch of one, then repeated over the batch (the work is once per call)

Per position (y, x) the normalised coordinates y/(H + ε)·2π and x/(W + ε)·2π give h = hidden_dim angles each,
coordinate / temperature^(2⌊i/2⌋/h), whose sines (even i) and cosines (odd i) make 2h features; a 1x1 conv
(2h → dim, with a bias) projects them. Let P = H·W.

    params       2h·dim + dim (the conv; bias: false leaves out dim)
    macs         P·2h·dim
    flops        the conv P·dim·(2·2h − 1 + bias) + the features 2·3·P (an add, a divide and a multiply per
                 coordinate) + 2·2h·P (a divide and a sine or cosine per feature) + 4h (the h frequencies)
    connections  P·dim·(2h + bias) (the conv's)
With `once` these are made once per call (`per_call`), else once per sample. Receptive field: none (the output
depends on no input position). Peers: the conv only (fvcore aten::_convolution MACs, FlopCounterMode 2·MACs;
sin, cos, cumsum, div and pow have no handle); ptflops and thop hook the nn.Conv2d; torchinfo counts its weight
and bias times the positions.
"""

from __future__ import annotations

from archcalc.errors import ArchcalcError
from archcalc.layers.attrs import Attr, Bool, Float, Int, IntList
from archcalc.layers.base import Attrs, LayerType, Params, Shape, register
from archcalc.layers.formula import Expr, Formula, Term, counts, product
from archcalc.layers.imports import CannotMap, ImportRule

# timm's classes, by dotted name (ImportRule.foreign): used only when timm is already imported.
TIMM_CLASSES = ("timm.models.edgenext.PositionalEncodingFourier", "timm.models.xcit.PositionalEncodingFourier")


@register
class FourierPositionEncoding(LayerType):
    name = "fourier_position_encoding"
    summary = "XCiT's / EdgeNeXt's 2-D Fourier position encoding of the token grid, projected by a 1x1 conv"
    category = "conv"
    neurons = True
    dense_macs = True
    min_inputs = 0
    attrs = (
        Attr("grid", IntList(), doc="the token grid [H, W] the encoding is made for"),
        Attr("dim", Int(), doc="output channels of the 1x1 projection"),
        Attr("hidden_dim", Int(), 32, "h: angles per axis (2h features: sines and cosines)"),
        Attr("temperature", Float(minimum=0.0), 10000.0, "the frequencies' base"),
        Attr("bias", Bool(), True, "the projection has a bias"),
        Attr("once", Bool(), False, "made on a batch of one and repeated over the batch (XCiT): once per call"),
    )
    flops_rule = "the 1x1 conv's + 6P + 4hP + 4h for the Fourier features (P = H·W positions)"
    connections_rule = "P·dim·(2h + bias): the 1x1 conv's"

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        if len(a["grid"]) != 2:
            raise ArchcalcError(f"{self.name}: the encoding is 2-D, grid must be [H, W], got {list(a['grid'])}")
        if a["hidden_dim"] % 2:
            raise ArchcalcError(f"{self.name}: hidden_dim must be even (sines and cosines alternate), got "
                                f"{a['hidden_dim']}")  # fmt: skip
        return (a["dim"], *a["grid"])

    def params(self, a: Attrs, ins: list[Shape], out: Shape) -> Params:
        return Params(trainable=(2 * a["hidden_dim"] + int(a["bias"])) * a["dim"])

    def terms(self, a: Attrs) -> dict[str, Expr]:
        positions = product(Term(name, size) for name, size in zip(("H", "W"), a["grid"]))
        h, dim, bias = Term("h", a["hidden_dim"]), Term("dim", a["dim"]), int(a["bias"])
        conv = positions * dim * (4 * h) if bias else positions * dim * (4 * h - 1)
        return {"params": (2 * h + 1) * dim if bias else 2 * h * dim, "macs": positions * 2 * h * dim,
                "flops": conv + 6 * positions + 4 * h * positions + 4 * h,
                "connections": positions * dim * (2 * h + 1) if bias else positions * dim * 2 * h}  # fmt: skip

    def macs(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return self.terms(a)["macs"].value()  # type: ignore[return-value]

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return self.terms(a)["flops"].value()  # type: ignore[return-value]

    def per_call(self, a: Attrs, ins: list[Shape], out: Shape) -> tuple[int, int]:
        return (self.macs(a, ins, out), self.flops(a, ins, out)) if a["once"] else (0, 0)

    def connections(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return self.terms(a)["connections"].value()  # type: ignore[return-value]

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape) -> None:
        return None

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        return [Formula("C_out", Term("dim", a["dim"])),
                *(Formula(f"{name}_out", Term(name, size)) for name, size in zip(("H", "W"), a["grid"]))]

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        t = self.terms(a)
        once = " (once per call)" if a["once"] else ""
        return counts(params=t["params"], macs=t["macs"], flops=t["flops"], connections=t["connections"],
                      notes={"FLOPs": "the 1x1 conv, the coordinates, the angles and their sines/cosines, the "
                                      "frequencies" + once, "MACs": "the 1x1 conv" + once})  # fmt: skip

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_positions as tp

        return tp.FourierPositionEncoding(tuple(a["grid"]), a["hidden_dim"], a["dim"], a["temperature"],
                                          a["bias"], a["once"])  # fmt: skip

    def torch_import(self) -> tuple:
        from archcalc import torch_positions as tp

        def mine(call) -> dict:
            m = call.module
            return {"grid": list(m.grid), "dim": m.dim, "hidden_dim": m.hidden_dim, "temperature": m.temperature,
                    "bias": m.token_projection.bias is not None, "once": m.once}  # fmt: skip

        def timm(call) -> dict:
            """EdgeNeXt's: called with the (B, H, W) shape, made for every sample; XCiT's: called with B, H, W, made
            on a batch of one and repeated over the batch (once per call)."""
            m = call.module
            if len(call.out_shape) != 3 or call.in_shapes:
                raise CannotMap(f"makes a tensor of shape {list(call.out_shape)}, not [dim, H, W] per sample")
            return {"grid": list(call.out_shape[1:]), "dim": m.dim, "hidden_dim": m.hidden_dim,
                    "temperature": float(m.temperature), "bias": m.token_projection.bias is not None,
                    "once": len(call.args) == 3}  # XCiT's forward(B, H, W); EdgeNeXt's forward((B, H, W))

        return (ImportRule(self.name, modules=(tp.FourierPositionEncoding,), read=mine),
                ImportRule(self.name, foreign=TIMM_CLASSES, read=timm, note="timm's PositionalEncodingFourier, made from "
                           "the grid's shape: EdgeNeXt's for every sample, XCiT's once per call (once: true)"))  # fmt: skip

