"""GCViT's global-context window attention (timm 1.0.31 timm/models/gcvit.py, copied down to the lines that
matter; each piece names its source). The global query is computed once per image and repeated for each of the
image's windows with `q_global.repeat_interleave(B // q_global.shape[0], dim=0)`: [B, h, w, C] -> [B·nW, h, w, C],
each image's copies together, so the batch is merged into axis 0 (archcalc/importer/layout.py) and each sample
is its global query expanded along a new axis of nW (archcalc/layers/stack.py, expand)."""

from __future__ import annotations

from torch import nn

from tests.models.relative_position import RelPosBias


class WindowAttentionGlobal(nn.Module):
    """gcvit.py: WindowAttentionGlobal (the dropouts left out: identities at inference)."""

    def __init__(self, dim: int, num_heads: int, window_size: tuple[int, int], use_global: bool = True) -> None:
        super().__init__()
        self.window_size, self.num_heads, self.head_dim = window_size, num_heads, dim // num_heads
        self.scale = self.head_dim**-0.5
        self.use_global = use_global
        self.rel_pos = RelPosBias(window_size=window_size, num_heads=num_heads)
        self.qkv = nn.Linear(dim, dim * 2 if use_global else dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x, q_global=None):
        B, N, C = x.shape
        if self.use_global and q_global is not None:
            kv = self.qkv(x)
            kv = kv.reshape(B, N, 2, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
            k, v = kv.unbind(0)
            q = q_global.repeat_interleave(B // q_global.shape[0], dim=0)
            q = q.reshape(B, N, self.num_heads, self.head_dim).permute(0, 2, 1, 3)
        else:
            qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
            q, k, v = qkv.unbind(0)
        q = q * self.scale
        attn = q @ k.transpose(-2, -1).contiguous()
        attn = self.rel_pos(attn)
        attn = attn.softmax(dim=-1)
        x = (attn @ v).transpose(1, 2).reshape(B, N, C)
        return self.proj(x)


def window_partition(x, window_size: tuple[int, int]):
    """gcvit.py: window_partition."""
    B, H, W, C = x.shape
    x = x.view(B, H // window_size[0], window_size[0], W // window_size[1], window_size[1], C)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, window_size[0], window_size[1], C)


def window_reverse(windows, window_size: tuple[int, int], img_size: tuple[int, int]):
    """gcvit.py: window_reverse."""
    H, W = img_size
    C = windows.shape[-1]
    x = windows.view(-1, H // window_size[0], W // window_size[1], window_size[0], window_size[1], C)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, H, W, C)


class GlobalContextBlock(nn.Module):
    """gcvit.py: GlobalContextVitBlock's attention half (the MLP half is any other block's)."""

    def __init__(self, dim: int, num_heads: int, window_size: tuple[int, int], use_global: bool) -> None:
        super().__init__()
        self.window_size = window_size
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttentionGlobal(dim, num_heads, window_size, use_global=use_global)

    def _window_attn(self, x, q_global=None):
        B, H, W, C = x.shape
        x_win = window_partition(x, self.window_size)
        x_win = x_win.view(-1, self.window_size[0] * self.window_size[1], C)
        attn_win = self.attn(x_win, q_global)
        return window_reverse(attn_win, self.window_size, (H, W))

    def forward(self, x, q_global=None):
        return x + self._window_attn(self.norm1(x), q_global)


class GlobalContextStage(nn.Module):
    """gcvit.py: GlobalContextVitStage: the global query (its FeatureBlock, log2(resolution / window) levels of
    an MbConv and a max pool, here a depthwise conv and the pool) read by every other block (use_global=i % 2)."""

    def __init__(self, dim: int = 16, resolution: int = 8, window: int = 4, num_heads: int = 2, depth: int = 2) -> None:
        super().__init__()
        levels = (resolution // window).bit_length() - 1  # gcvit.py: int(math.log2(feat_size / window_size))
        self.global_block = nn.Sequential(*[m for _ in range(levels) for m in (
            nn.Conv2d(dim, dim, 3, padding=1, groups=dim), nn.MaxPool2d(3, stride=2, padding=1))])  # fmt: skip
        self.blocks = nn.ModuleList([GlobalContextBlock(dim, num_heads, (window, window), use_global=i % 2 != 0)
                                     for i in range(depth)])  # fmt: skip

    def forward(self, x):  # NCHW in and out
        global_query = self.global_block(x).permute(0, 2, 3, 1)
        x = x.permute(0, 2, 3, 1)
        for block in self.blocks:
            x = block(x, global_query)
        return x.permute(0, 3, 1, 2)
