"""Generate large valid specs: a deep chain plus a wide DAG with long skip connections.

    python benchmarks/scale_spec.py 100000 > big.yaml

Units of five layers (conv 1x1, batchnorm, relu, a parallel 3x3 branch, an add) are chained; every
`skip_every` units an extra add joins the current node with the output of a unit far back, so the
graph has long-range edges as well as depth. Layer count = n (rounded down to whole units, plus
the final layers).
"""

from __future__ import annotations

import sys


def scale_spec(layers: int, channels: int = 8, size: int = 8, skip_every: int = 50, skip_span: int = 400) -> str:
    lines = [
        f"name: scale_{layers}",
        f"description: synthetic {layers:,}-layer spec (deep chain, wide DAG, long skips)",
        f"input: [{channels}, {size}, {size}]",
        "layers:",
    ]
    unit_outputs: list[str] = []
    previous = "input"
    count = 0
    unit = 0
    while count + 6 <= layers:
        p = f"u{unit}"
        lines += [
            f"  - {{name: {p}_conv, type: conv2d, out_channels: {channels}, kernel: 1, inputs: {previous}}}",
            f"  - {{name: {p}_bn, type: batchnorm}}",
            f"  - {{name: {p}_relu, type: relu}}",
            f"  - {{name: {p}_side, type: conv2d, out_channels: {channels}, kernel: 3, padding: 1, inputs: {previous}}}",
            f"  - {{name: {p}_add, type: add, inputs: [{p}_relu, {p}_side]}}",
        ]
        count += 5
        previous = f"{p}_add"
        if unit % skip_every == 0 and unit >= skip_span:
            far = unit_outputs[unit - skip_span]
            lines.append(f"  - {{name: {p}_skip, type: add, inputs: [{previous}, {far}]}}")
            previous = f"{p}_skip"
            count += 1
        unit_outputs.append(previous)
        unit += 1
    while count < layers:
        lines.append(f"  - {{name: tail{count}, type: identity, inputs: {previous}}}")
        previous = f"tail{count}"
        count += 1
    lines.append(f"outputs: [{previous}]")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(scale_spec(int(sys.argv[1])))
