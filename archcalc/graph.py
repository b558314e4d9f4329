"""The graph the analysers walk: flat nodes with resolved attributes, in topological order.

The network input is the pseudo-node named `input`. Node names are hierarchical paths
(`layer3.2.conv1`). `Graph.nodes` is topologically sorted (Kahn's algorithm, ties broken by the order
the spec declares them, so sequential specs keep their order); cycles are an error.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Any

from archcalc.errors import ArchcalcError
from archcalc.limits import DEFAULT_LIMITS, Limits

INPUT = "input"
# What the network input holds: numbers, or integer token ids (text models: `input_dtype: int64` in a spec,
# `--input-dtype int64` on the command line). Layers say what they read (LayerType.input_kind).
INPUT_DTYPES = ("float32", "int64")
Shape = tuple[int, ...]
# How the reference implementation invokes a layer (a spec's `call:`): as a module (the default), or as a
# function (F.relu, torch.cat), a Tensor method (x.mean) or an operator (x + y) outside any module. Module
# hooks (ptflops, thop, torchinfo) see only the first; each layer type says which others it takes
# (LayerType.calls), and archcalc's torch build invokes it that way (docs/spec-format.md, docs/conventions.md).
CALLS = ("module", "function", "method", "operator")

# The layer types by name: archcalc.layers registers every entry here when it is imported (which
# `import archcalc` does). The graph sits below the layers and only holds what they register: it never
# imports them (tests/test_layering.py).
REGISTRY: dict[str, Any] = {}
# A layer applied over leading axes of its input (a node's `over`): archcalc.layers.over registers here, as the
# entries do in REGISTRY, the factory that wraps an entry so its rules see one slice ({"wrap": applied_over}).
OVER_RULES: dict[str, Any] = {}


WEIGHT_KEYS = ("frozen", "masks", "shared", "shared_buffers", "tables")


@dataclass(frozen=True)
class WeightUse:
    """How a layer holds its weights beyond what its type counts (a spec's `weights:`; imports fill it in).

    frozen          of the parameters its type counts, this many have requires_grad=False (non-trainable)
    masks           buffer elements added by pruning (torch.nn.utils.prune's `weight_mask`)
    shared          parameter elements an earlier layer already holds (a module called again, tied
                    weights): shown on this row, counted once in the totals, as sum(p.numel()) does
    shared_buffers  the same for buffers
    tables          buffer elements of index and angle tables the layer reads through constants made in the
                    forward (Hugging Face's `position_ids`, RoPE's `inv_freq`; importer/constants.py)
    """

    frozen: int = 0
    masks: int = 0
    shared: int = 0
    shared_buffers: int = 0
    tables: int = 0

    def written(self) -> dict[str, int]:
        """The non-zero fields, as a spec writes them."""
        return {key: getattr(self, key) for key in WEIGHT_KEYS if getattr(self, key)}


NO_WEIGHT_USE = WeightUse()


@dataclass(frozen=True)
class UnusedWeights:
    """Weights a model holds that its forward does not use for this input (a spec's top-level `unused:`; imports
    fill it in): GoogLeNet's and Inception v3's auxiliary heads, which run only in training. No layer computes with
    them, so they have no row and no MACs; the totals count them, as sum(p.numel()) does.

    name     the module (`aux1`) or parameter (`encoder.extra`) that holds them
    params   parameter elements, trainable or not
    frozen   of those, this many have requires_grad=False
    buffers  buffer elements
    """

    name: str
    params: int = 0
    frozen: int = 0
    buffers: int = 0


@dataclass
class Node:
    name: str
    type: str
    attrs: dict[str, Any]
    inputs: list[str]
    line: int | None = None
    file: str | None = None
    weights: WeightUse = NO_WEIGHT_USE
    call: str = "module"  # one of CALLS
    # The layer runs on each slice of the first `over` axes of its input on its own (heads, windows or rows folded
    # into torch's batch; a spec's `over:`, archcalc/layers/over.py); 0: on the whole sample.
    over: int = 0
    # The registry entry (an archcalc.layers.LayerType), looked up once: analysers ask it for every rule
    # of every node.
    rule: Any = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.rule = REGISTRY[self.type] if not self.over else OVER_RULES["wrap"](REGISTRY[self.type], self.over)

    def error(self, exc: ArchcalcError) -> ArchcalcError:
        """Attach this node's location to an error raised by one of its rules."""
        return exc.located(file=self.file, line=self.line, path=self.name)


@dataclass
class Graph:
    name: str
    input_shape: Shape
    nodes: list[Node]
    outputs: list[str]
    file: str | None = None
    description: str = ""
    source: str = ""
    variables: dict[str, Any] = field(default_factory=dict)
    input_dtype: str = "float32"  # "int64": the input is token ids
    limits: Limits = DEFAULT_LIMITS  # the bounds it was loaded under; the analysers keep to them too
    unused: tuple[UnusedWeights, ...] = ()  # weights no layer uses: counted in the totals, not in any row

    def node(self, name: str) -> Node:
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)


def topological_order(nodes: list[Node]) -> list[Node]:
    """Kahn's algorithm; ties go to the earlier-declared node. Iterative, O(n log n)."""
    declared = {INPUT}
    for node in nodes:
        if not declared.issuperset(node.inputs):
            break
        declared.add(node.name)
    else:
        # Every input is declared before its reader (sequential specs, most others): Kahn's algorithm with
        # ties to the earlier-declared node would give the declared order itself.
        return list(nodes)
    index = {node.name: position for position, node in enumerate(nodes)}
    pending = [0] * len(nodes)
    consumers: list[list[int]] = [[] for _ in nodes]
    for position, node in enumerate(nodes):
        for name in node.inputs:
            if name == INPUT:
                continue
            pending[position] += 1
            consumers[index[name]].append(position)
    ready = [position for position, count in enumerate(pending) if count == 0]
    heapq.heapify(ready)
    order: list[Node] = []
    while ready:
        position = heapq.heappop(ready)
        order.append(nodes[position])
        for consumer in consumers[position]:
            pending[consumer] -= 1
            if pending[consumer] == 0:
                heapq.heappush(ready, consumer)
    if len(order) != len(nodes):
        stuck = {nodes[p].name for p, count in enumerate(pending) if count > 0}
        first = next(node for node in nodes if node.name in stuck)
        cycle = _find_cycle(first, nodes, index, stuck)
        raise ArchcalcError(
            f"inputs form a cycle: {' -> '.join(cycle)}", file=first.file, line=first.line, path=first.name
        )
    return order


def _find_cycle(start: Node, nodes: list[Node], index: dict[str, int], stuck: set[str]) -> list[str]:
    """Walk back through stuck inputs (every stuck node has one) until a name repeats."""
    seen: dict[str, int] = {}
    path: list[str] = []
    current = start
    while current.name not in seen:
        seen[current.name] = len(path)
        path.append(current.name)
        current = nodes[index[next(name for name in current.inputs if name in stuck)]]
    cycle = path[seen[current.name] :] + [current.name]
    return cycle[::-1]
