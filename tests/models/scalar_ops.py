"""Small models with constant operands and pointwise math, each form of each operation (issue 17: scalar
operands). The library blocks they reproduce are named where a line is taken from one."""

from __future__ import annotations

import operator

import torch
import torch.nn.functional as F
from torch import nn


class Operators(nn.Module):
    """Every operator with a number on either side: x * 0.5, x + 1, 1 - x, x / 2, 2 / x, x ** 2, 2 ** x, -x."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x * 0.5 + 1
        y = 0.25 * y - 3
        y = (1 - y) / 2
        y = 2 / (y**2 + 1)
        y = 2**y
        y = -y + abs(y)
        return 3 + y


class Functions(nn.Module):
    """torch functions: torch.add(x, 1), torch.sub, torch.rsub, torch.mul, torch.div, torch.pow either way,
    torch.add with alpha, and the math functions."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.add(x, 1)
        y = torch.sub(y, 0.5, alpha=2)
        y = torch.rsub(y, 1)
        y = torch.mul(y, 0.5)
        y = torch.div(y, 4)
        y = torch.pow(y, 2)
        y = torch.pow(2, y)
        y = torch.rsqrt(torch.sqrt(torch.exp(torch.log(torch.abs(y) + 1))))
        y = torch.reciprocal(torch.square(torch.neg(y)))
        return torch.clamp(torch.erf(y), min=-0.5, max=0.5)


class Methods(nn.Module):
    """Tensor methods, in place and not: x.mul(0.5), x.add(1), x.pow(2), x.div_(2), x.sub_(1), x.sqrt_(),
    x.clamp(min=...), x.clamp_max, and the augmented operators (x *= 0.5)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x.mul(0.5).add(1).pow(2).sub(0.1).div(3)
        y = y.clone()
        y.div_(2)
        y.sub_(1)
        y.mul_(0.5)
        y.add_(2)
        y *= 0.5
        y += 1
        y = y.abs().sqrt_().exp().log().neg().reciprocal().rsqrt()
        return y.clamp(min=1e-6).clamp_max(10.0).square()


class Attention(nn.Module):
    """The attention scale: q * self.scale with scale a float attribute (timm's Attention, `q = q * self.scale`),
    then a softmax."""

    def __init__(self, dim: int = 8) -> None:
        super().__init__()
        self.scale = dim**-0.5
        self.qkv = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q = self.qkv(x) * self.scale
        return F.softmax(q, dim=-1)  # (x.softmax is imported as a module softmax, which ptflops and thop count)


class GeluTanh(nn.Module):
    """The GELU tanh approximation written out (timm's layers/activations.py `gelu_tanh`-style maths):
    0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x ** 3)))."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        inner = 0.7978845608028654 * (x + 0.044715 * torch.pow(x, 3.0))
        return 0.5 * x * (1.0 + torch.tanh(inner))


class RmsNormMaths(nn.Module):
    """Normalisation maths from mobilenetv5-style RMS norms: x * torch.rsqrt(x.pow(2).mean(-1) + eps)."""

    def __init__(self, eps: float = 1e-6) -> None:
        super().__init__()
        self.eps = eps
        self.proj = nn.Linear(6, 6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.proj(x)
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)


class Convolutional(nn.Module):
    """A conv net with the constants between its layers: a residual scaled by 0.2 (timm's
    inception_resnet_v2 `out * self.scale + x`), a clamp and 1 - sigmoid."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x) * 0.2 + x
        y = torch.clamp(y, 0.0, 6.0) / 6
        return 1 - torch.sigmoid(F.relu(y))


class Unmappable(nn.Module):
    """Forms that are not a constant operand and must stay unsupported (said, never counted as zero): an
    integer tensor, a floor division, a tensor clamp bound, an infinite constant, a number operand of a tensor
    made in forward."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.div(x, 2, rounding_mode="floor")
        y = torch.clamp(y, min=x)
        return y + float("inf")


class IntegerInput(nn.Module):
    """Token ids shifted by one (an integer tensor: not the floating-point `scalar` layer)."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(10, 4)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.embed(operator.add(ids, 1))


MODELS = {"operators": Operators, "functions": Functions, "methods": Methods, "attention": Attention,
          "gelu_tanh": GeluTanh, "rms_norm_maths": RmsNormMaths, "convolutional": Convolutional}  # fmt: skip
INPUTS = {"operators": (3, 4, 4), "functions": (3, 4, 4), "methods": (3, 4, 4), "attention": (5, 8),
          "gelu_tanh": (4, 6), "rms_norm_maths": (5, 6), "convolutional": (3, 6, 6)}  # fmt: skip


class Hooked(nn.Module):
    """One of the models above behind control flow on a shape, which torch.fx cannot trace: the importer runs it
    with forward hooks, and sees Tensor.__rsub__, __rtruediv__, __rpow__, __imul__ instead of operator.*."""

    def __init__(self, inner: type[nn.Module]) -> None:
        super().__init__()
        self.inner = inner()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if int(x.shape[-1]) < 0:  # never true; fx cannot take int() of a Proxy
            return x
        return self.inner(x)
