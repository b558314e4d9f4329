"""A valid 100,000-layer spec loads and analyses with no recursion: a deep chain with long skip
connections, then a wide fan-out of long branches merged by one concat."""

from __future__ import annotations

import inspect
import sys

from archcalc.analysis import analyse
from archcalc.spec import load_spec_text

GROUPS, SKIPS, BRANCHES, BRANCH_LENGTH = 9_000, 5_000, 50, 1_000


def big_spec() -> str:
    lines = [
        "name: big",
        "input: [8, 8, 8]",
        "layers:",
        "  - name: chain",  # 9,000 residual groups of 5 layers: 45,000 layers in a row
        f"    repeat: {GROUPS}",
        "    layers:",
        "      - {name: conv, type: conv2d, out_channels: 8, kernel: 3, padding: 1}",
        "      - {name: relu, type: relu}",
        "      - {name: conv2, type: conv2d, out_channels: 8, kernel: 1}",
        "      - {name: bn, type: batchnorm}",
        "      - {name: add, type: add, inputs: [bn, input]}",
    ]
    # 5,000 adds, each also reading a chain output from up to 45,000 layers back
    for k in range(SKIPS):
        previous = f"skip{k - 1}" if k else "chain"
        lines.append(f"  - {{name: skip{k}, type: add, inputs: [{previous}, chain.{k * GROUPS // SKIPS}.add]}}")
    # 50 branches of 1,000 convs, all reading the last skip, merged by one concat
    conv = f"{{type: conv2d, out_channels: 8, kernel: 1, repeat: {BRANCH_LENGTH}}}"
    lines += [f"  - {{name: branch{j}, inputs: skip{SKIPS - 1}, layers: [{conv}]}}" for j in range(BRANCHES)]
    lines.append(f"  - {{name: merge, type: concat, inputs: [{', '.join(f'branch{j}' for j in range(BRANCHES))}]}}")
    return "\n".join(lines) + "\n"


class recursion_limit:
    """Run with little room above the caller: any recursion over the graph would fail."""

    def __init__(self, room: int) -> None:
        self.limit = len(inspect.stack()) + room

    def __enter__(self) -> None:
        self.old = sys.getrecursionlimit()
        sys.setrecursionlimit(self.limit)

    def __exit__(self, *exc: object) -> None:
        sys.setrecursionlimit(self.old)


def test_hundred_thousand_layers() -> None:
    graph = load_spec_text(big_spec(), "big")
    assert len(graph.nodes) == GROUPS * 5 + SKIPS + BRANCHES * BRANCH_LENGTH + 1 == 100_001
    with recursion_limit(room=60):
        report = analyse(graph)

    assert [layer.name for layer in report.layers[:6]] == [
        "chain.0.conv", "chain.0.relu", "chain.0.conv2", "chain.0.bn", "chain.0.add", "chain.1.conv"]  # fmt: skip
    order = {layer.name: position for position, layer in enumerate(report.layers)}
    assert all(order[name] < order[layer.name] for layer in report.layers for name in layer.inputs if name != "input")
    assert report.layer("skip0").inputs == ["chain.8999.add", "chain.0.add"]

    per_group = (8 * 8 * 9 + 8) + (8 * 8 + 8) + 2 * 8  # conv 3x3, conv 1x1, batchnorm scale and shift
    assert report.totals.trainable_params == GROUPS * per_group + BRANCHES * BRANCH_LENGTH * (8 * 8 + 8)
    assert report.totals.buffers == GROUPS * (2 * 8 + 1)
    assert report.layer("merge").output_shape == [8 * BRANCHES, 8, 8]
    assert report.depth == 2 * GROUPS + BRANCH_LENGTH  # weighted layers on the longest path
    # each 3x3 conv widens the field by 2; the skip from the group input does not shrink it
    assert report.layer("chain.8999.add").receptive_field == [1 + 2 * GROUPS] * 2
    # the peak keeps every chain output a later skip still reads: 9,000 / 5,000 of them, rounded up
    assert report.totals.peak_activation_bytes > 4_000 * 8 * 8 * 8 * 4
