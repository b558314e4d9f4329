"""Gemma 4's vision encoder pieces (timm 1.0.31 timm/models/gemma4_vit.py, copied down to the lines that matter;
each class names its source)."""

from __future__ import annotations

import torch
from torch import nn


class Gemma4ClippableLinear(nn.Module):
    """gemma4_vit.py: Gemma4ClippableLinear, use_clipped=True: the input and the output clamped by 0-dim buffers
    (±inf as built; a checkpoint sets them)."""

    def __init__(self, in_features: int, out_features: int, use_clipped: bool = True) -> None:
        super().__init__()
        self.use_clipped = use_clipped
        self.linear = nn.Linear(in_features, out_features, bias=False)
        if use_clipped:
            self.register_buffer("input_min", torch.tensor(-float("inf")))
            self.register_buffer("input_max", torch.tensor(float("inf")))
            self.register_buffer("output_min", torch.tensor(-float("inf")))
            self.register_buffer("output_max", torch.tensor(float("inf")))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.use_clipped:
            x = torch.clamp(x, self.input_min, self.input_max)
        x = self.linear(x)
        if self.use_clipped:
            x = torch.clamp(x, self.output_min, self.output_max)
        return x


class Gemma4GatedMlp(nn.Module):
    """gemma4_vit.py: Gemma4GatedMlp: down_proj(gelu_tanh(gate_proj(x)) * up_proj(x)), clipped linears."""

    def __init__(self, in_features: int = 16, hidden_features: int = 24, use_clipped: bool = True) -> None:
        super().__init__()
        self.gate_proj = Gemma4ClippableLinear(in_features, hidden_features, use_clipped)
        self.up_proj = Gemma4ClippableLinear(in_features, hidden_features, use_clipped)
        self.down_proj = Gemma4ClippableLinear(hidden_features, in_features, use_clipped)
        self.act = nn.GELU(approximate="tanh")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(self.act(self.gate_proj(x)) * self.up_proj(x))


class ClampByParameter(nn.Module):
    """Not Gemma's: a bound that is a learned parameter is no clamp_buffers."""

    def __init__(self) -> None:
        super().__init__()
        self.low = nn.Parameter(torch.tensor(0.0))
        self.register_buffer("high", torch.tensor(1.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.clamp(x, self.low, self.high)


class ClampByVector(nn.Module):
    """Not Gemma's: per-feature bounds (buffers of 8 elements) are no scalar clamp."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("low", torch.zeros(8))
        self.register_buffer("high", torch.ones(8))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.clamp(self.low, self.high)
