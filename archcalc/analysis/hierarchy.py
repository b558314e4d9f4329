"""The block tree of a report: layers grouped by the dotted paths of their names (`layer1.0.conv1` lies in
block `layer1.0`, which lies in `layer1`), each block with the subtotals of its layers.

Every layer is a leaf in exactly one place, so the children of a block add up to the block and the
top-level entries add up to the report's totals. A name that is both a layer and the prefix of others
(`head` and `head.fc`) appears twice among its siblings: the layer, and the block. Entries are listed in the order of
their first layer. Built with one loop over the layers and one over the blocks (no recursion):
100,000-layer reports work.

`rows(tree, depth)` flattens the tree for a table at a depth: blocks above `depth` are shown with
their children below them, blocks at `depth` collapsed to one subtotal row. `auto_depth` picks the
depth a person would want to read: every layer of a small network, block subtotals of a big one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import accumulate
from operator import attrgetter

from archcalc.analysis.results import LayerResult, Report

SUMMED = ("params", "trainable_params", "non_trainable_params", "buffers", "macs", "flops", "connections",
          "activations")  # fmt: skip
WEIGHTED = ("conv", "linear")
ROW_BUDGET = 40  # the default depth is the deepest level whose table stays within this many rows,
SPARSE_ROWS = 12  # or one level deeper when that gives fewer than this many rows
ROW_LIMIT = 64  # and the next level stays within this many


@dataclass
class Block:
    """A node of the tree: a block (a name prefix shared by layers) or a single layer (`layer` set, no children)."""

    name: str  # the full dotted path; "" for the root
    level: int  # 0 for the root, 1 for top-level entries
    layer: LayerResult | None = None
    children: list["Block"] = field(default_factory=list)
    layer_count: int = 0
    params: int = 0
    trainable_params: int = 0
    non_trainable_params: int = 0
    buffers: int = 0
    macs: int = 0
    flops: int = 0
    connections: int = 0
    activations: int = 0
    output_shape: list[int] = field(default_factory=list)  # of its last layer in topological order
    last: LayerResult | None = None  # its last layer in topological order (the block's output)
    weighted: list[LayerResult] = field(default_factory=list)  # its conv and linear layers (at most two kept)

    @property
    def label(self) -> str:
        """The last component of the name (what an indented tree row shows)."""
        return self.name.rsplit(".", 1)[-1] if self.name else ""

    @property
    def is_layer(self) -> bool:
        return self.layer is not None

    def height(self) -> int:
        """Levels below this entry (0 for a layer)."""
        return len(_level_sizes(self))


def block_tree(report: Report) -> Block:
    """The root block (the whole network) with the block tree below it."""
    root = Block("", 0)
    blocks: dict[str, Block] = {}
    for layer in report.layers:
        parts = layer.name.split(".")
        parent = root
        for end in range(1, len(parts)):
            path = ".".join(parts[:end])
            block = blocks.get(path)
            if block is None:
                block = blocks[path] = Block(path, end)
                parent.children.append(block)
            _add(block, layer)
            parent = block
        parent.children.append(_leaf(layer, len(parts)))
    # the root holds every layer: its sums by column
    layers = report.layers
    root.layer_count = len(layers)
    for key in SUMMED:
        setattr(root, key, sum(map(attrgetter(key), layers)))
    if layers:
        root.output_shape, root.last = layers[-1].output_shape, layers[-1]
    root.weighted = [layer for layer in layers if layer.category in WEIGHTED][:2]
    return root


def _leaf(layer: LayerResult, level: int) -> Block:
    return Block(layer.name, level, layer, [], 1, layer.params, layer.trainable_params, layer.non_trainable_params,
                 layer.buffers, layer.macs, layer.flops, layer.connections, layer.activations, layer.output_shape,
                 layer, [layer] if layer.category in WEIGHTED else [])  # fmt: skip


def _add(block: Block, layer: LayerResult) -> None:
    """Add a layer to a block's sums (one line per SUMMED key: a loop of getattr costs twice as much)."""
    block.layer_count += 1
    block.params += layer.params
    block.trainable_params += layer.trainable_params
    block.non_trainable_params += layer.non_trainable_params
    block.buffers += layer.buffers
    block.macs += layer.macs
    block.flops += layer.flops
    block.connections += layer.connections
    block.activations += layer.activations
    block.output_shape, block.last = layer.output_shape, layer
    if layer.category in WEIGHTED and len(block.weighted) < 2:
        block.weighted.append(layer)


def _level_sizes(block: Block) -> list[int]:
    """How many entries lie 1, 2, ... levels below `block` (one pass per level, no recursion)."""
    sizes, frontier = [], block.children
    while frontier:
        sizes.append(len(frontier))
        frontier = [child for entry in frontier for child in entry.children]
    return sizes


@dataclass
class Row:
    """One row of a table at a depth: an entry, how deep it is indented, and whether it is collapsed."""

    block: Block
    indent: int
    collapsed: bool  # a block shown as one subtotal row (its children are not listed)

    @property
    def expanded(self) -> bool:
        return bool(self.block.children) and not self.collapsed


def rows(tree: Block, depth: int | None) -> list[Row]:
    """Preorder rows to `depth` levels (None: every level). Expanded blocks come before their children."""
    out: list[Row] = []
    stack = list(reversed(tree.children))
    while stack:
        block = stack.pop()
        collapsed = bool(block.children) and depth is not None and block.level >= depth
        out.append(Row(block, block.level - 1, collapsed))
        if block.children and not collapsed:
            stack.extend(reversed(block.children))
    return out


def leaves(table_rows: list[Row]) -> list[Row]:
    """The rows that partition the layers: layers and collapsed blocks (their sums give the totals)."""
    return [row for row in table_rows if not row.expanded]


def auto_depth(tree: Block) -> int:
    """The deepest level whose table stays within ROW_BUDGET rows (at least 1), one deeper when that is
    sparse (under SPARSE_ROWS) and the next still reads (within ROW_LIMIT): the 27 stages and bottlenecks
    of ResNet-50's 175 layers, VGG16's 21 conv blocks and pools, ResNet-152's 61 bottlenecks."""
    sizes = list(accumulate(_level_sizes(tree)))  # rows at each depth: every entry down to that level
    best = 1
    for depth, size in enumerate(sizes, start=1):
        if size > ROW_BUDGET:
            break
        best = depth
    if sizes and sizes[best - 1] < SPARSE_ROWS and best < len(sizes) and sizes[best] <= ROW_LIMIT:
        best += 1
    return best


def resolve_depth(tree: Block, depth: int | str | None) -> int:
    """A depth option as a level: None or 'auto' -> auto_depth, 'all' -> every level, N -> N (at least 1)."""
    if depth is None or depth == "auto":
        return auto_depth(tree)
    if depth == "all":
        return max(tree.height(), 1)
    return depth  # type: ignore[return-value]


def block_dict(tree: Block, depth: int) -> dict:
    """The tree to `depth` levels as nested plain data (JSON): every entry with its sums; blocks at `depth`
    without their children. Built with an explicit stack."""
    def entry(block: Block) -> dict:
        data = {"name": block.name, "kind": block.layer.type if block.is_layer else "block",
                "layers": block.layer_count, **{key: getattr(block, key) for key in SUMMED},
                "output_shape": block.output_shape}  # fmt: skip
        if block.children and block.level < depth:
            data["children"] = []
        return data

    root = {"name": "", "kind": "network", "layers": tree.layer_count, **{key: getattr(tree, key) for key in SUMMED},
            "output_shape": tree.output_shape, "children": []}  # fmt: skip
    stack = [(tree, root)]
    while stack:
        block, data = stack.pop()
        for child in block.children:
            child_data = entry(child)
            data["children"].append(child_data)
            if "children" in child_data:
                stack.append((child, child_data))
    return root


__all__ = ["Block", "Row", "auto_depth", "block_dict", "block_tree", "leaves", "resolve_depth", "rows"]
