"""`archcalc explain SPEC BLOCK`: a block's subtotals as sums over its units, and how its units connect.

The units are the block's children (descending through levels with a single child: DenseNet's
`denseblock1` -> `denselayer` -> units `0` ... `5`). A unit *receives* an earlier unit's feature maps
when they reach its input unchanged: through concatenations only (a conv, a norm or an add makes new
maps). The block's own input counts as one source. So in a dense block of L layers, layer ℓ receives
the block input and the ℓ − 1 layers before it, and the block has 1 + 2 + … + L = L(L+1)/2 direct
connections (Huang et al., "Densely Connected Convolutional Networks", 2017); a ResNet stage's units
each receive only their predecessor, L connections.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from archcalc.analysis.hierarchy import Block, block_tree
from archcalc.analysis.results import Report
from archcalc.errors import ArchcalcError, closest
from archcalc.layers.formula import Const, Expr, Formula, Group, Term

BLOCK_INPUT = "block input"
FEW_UNITS = 8  # a sum over more units is written as Σ
CARRIES = ("concat",)  # layer types whose output holds their inputs' maps unchanged


@dataclass
class UnitLinks:
    unit: str
    sources: list[str]  # earlier units (or BLOCK_INPUT) whose maps reach this unit's input unchanged


@dataclass
class BlockExplanation:
    report: Report
    block: Block
    units: list[Block]
    formulas: list[Formula]
    links: list[UnitLinks] = field(default_factory=list)
    dense: bool = False  # unit k receives k sources: the L(L+1)/2 pattern


def find_block(tree: Block, name: str) -> Block | None:
    stack = [tree]
    while stack:
        block = stack.pop()
        if block.name == name and block.children:
            return block
        stack.extend(block.children)
    return None


def _units(block: Block) -> list[Block]:
    while len(block.children) == 1 and block.children[0].children:
        block = block.children[0]
    return block.children


def unit_label(block: Block, unit: str) -> str:
    """A unit's name inside its block (`denselayer.0`); a bare index keeps the block's name (`layer1.0`)."""
    relative = unit[len(block.name) + 1 :] if unit.startswith(block.name + ".") else unit
    return f"{block.label}.{relative}" if relative.isdigit() else relative


def _sum(block: Block, units: list[Block], key: str, label: str) -> Formula:
    if len(units) > FEW_UNITS:
        value = sum(getattr(unit, key) for unit in units)
        return Formula(label, Term(f"Σ over {len(units)} units", value), "the units' values")
    expr: Expr = Term(unit_label(block, units[0].name), getattr(units[0], key))
    for unit in units[1:]:
        expr = expr + Term(unit_label(block, unit.name), getattr(unit, key))
    return Formula(label, expr, "the units' values")


def unit_links(report: Report, units: list[Block]) -> list[UnitLinks]:
    """For each unit, the sources whose maps reach its input unchanged (one pass in topological order)."""
    unit_of: dict[str, str] = {}
    for unit in units:
        stack = [unit]
        while stack:
            block = stack.pop()
            if block.is_layer:
                unit_of[block.name] = unit.name
            stack.extend(block.children)
    carried: dict[str, frozenset[str]] = {}  # tensor -> the sources it holds unchanged
    received: dict[str, set[str]] = {unit.name: set() for unit in units}
    for layer in report.layers:
        mine = unit_of.get(layer.name)
        if mine is None:
            continue
        for name in layer.inputs:
            if unit_of.get(name) != mine:  # enters the unit from outside it
                received[mine] |= carried.get(name, frozenset([BLOCK_INPUT]))
        if layer.type in CARRIES:
            carried[layer.name] = frozenset().union(*(carried.get(n, frozenset([BLOCK_INPUT]) if unit_of.get(n) is None
                                                                  else frozenset([mine])) for n in layer.inputs))
        else:
            carried[layer.name] = frozenset([mine])
    order = {unit.name: position for position, unit in enumerate(units)}
    return [UnitLinks(unit.name, sorted(received[unit.name], key=lambda s: order.get(s, -1))) for unit in units]


def explain_block(report: Report, name: str) -> BlockExplanation:
    tree = block_tree(report)
    block = find_block(tree, name)
    if block is None:
        blocks = []
        stack = [tree]
        while stack:
            item = stack.pop()
            blocks += [child.name for child in item.children if child.children]
            stack.extend(item.children)
        raise ArchcalcError(f"no block named {name!r} in {report.name}{closest(name, blocks)}", file=report.file)
    units = _units(block)
    formulas = [_sum(block, units, key, label) for key, label in (("params", "params"), ("macs", "MACs"),
                                                           ("flops", "FLOPs"), ("activations", "activations"))]
    links = unit_links(report, units)
    counts = [len(link.sources) for link in links]
    dense = len(units) > 1 and counts == list(range(1, len(units) + 1))
    if dense:
        size = len(units)
        expr = Group(Term("L", size) * Group(Term("L", size) + 1)) / Const(2)
        formulas.append(Formula("direct connections", expr, "dense connectivity: unit ℓ receives the block input "
                                "and all ℓ − 1 earlier units (Huang et al. 2017)"))  # fmt: skip
    else:
        connections = Term("Σ sources per unit", sum(counts))
        formulas.append(Formula("direct connections", connections, "maps reaching each unit unchanged"))
    return BlockExplanation(report, block, units, formulas, links, dense)


__all__ = ["BLOCK_INPUT", "BlockExplanation", "UnitLinks", "explain_block", "find_block", "unit_label", "unit_links"]
