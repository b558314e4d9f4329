"""Forwards whose sizes depend on tensor values, as a detector's are (issue 17: detection models work or
say exactly why not). Small stand-ins for torchvision's detection heads: a score threshold, then the
surviving boxes (torchvision/models/detection/roi_heads.py: `torch.where(scores > score_thresh)[0]`)."""

from __future__ import annotations

import torch
from torch import nn


class ThresholdThenFactory(nn.Module):
    """Keeps the positions scoring above a threshold; returns a fresh tensor sized by how many passed."""

    def __init__(self) -> None:
        super().__init__()
        self.score = nn.Conv2d(3, 1, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scores = self.score(x).flatten(1)
        keep = torch.where(scores > 0.5)[0]
        return torch.zeros(keep.shape[0], 4)


class MaskedSelection(nn.Module):
    """Feature rows picked by a boolean mask, then a head: the head's rows depend on the mask."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Linear(4, 8)
        self.head = nn.Linear(8, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.features(x)
        return self.head(features[features.sum(-1) > -1e9])


class Fixed(nn.Module):
    """torch.where with three arguments is elementwise: nothing data-dependent."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.features(x)
        return torch.where(y > 0, y, x)
