"""The convention rules of the recurrent layers against the real tools (fvcore, ptflops, thop, torchinfo
and torch's FlopCounterMode, on the CPU for the fused nn.LSTM / GRU / RNN, as people run it), as
tests/test_conventions_rules.py does for the other types: each tool's total on archcalc's torch build
equals its profile's prediction, at batch 1 and 2. The cases join
tests/test_conventions_rules_nd.py's table; here, what the tools get wrong is pinned as numbers.
"""

from __future__ import annotations

import json

from archcalc import analyse, load_spec_text
from archcalc.conventions import count_convention
from tests.test_conventions_rules import case

SEQUENCE = (4, 5)  # 4 steps of 5 features

CASES = [
    case("lstm", SEQUENCE, {"type": "lstm", "hidden_size": 7}),
    case("lstm-stacked-bidirectional-projected", SEQUENCE, {"type": "lstm", "hidden_size": 7, "num_layers": 2,
                                                            "bidirectional": True, "proj_size": 3}),
    case("lstm-nobias-three-layers", SEQUENCE, {"type": "lstm", "hidden_size": 4, "num_layers": 3, "bias": False}),
    case("gru", SEQUENCE, {"type": "gru", "hidden_size": 7}),
    case("gru-stacked-bidirectional", SEQUENCE, {"type": "gru", "hidden_size": 6, "num_layers": 2,
                                                 "bidirectional": True}),
    case("rnn", SEQUENCE, {"type": "rnn", "hidden_size": 7}),
    case("rnn-relu-nobias-bidirectional", SEQUENCE, {"type": "rnn", "hidden_size": 5, "nonlinearity": "relu",
                                                     "bias": False, "bidirectional": True, "num_layers": 2}),
    case("lstm_cell", (5,), {"type": "lstm_cell", "hidden_size": 7}),
    case("gru_cell", (5,), {"type": "gru_cell", "hidden_size": 7}),
    case("rnn_cell-relu-nobias", (5,), {"type": "rnn_cell", "hidden_size": 6, "nonlinearity": "relu",
                                        "bias": False}),
]


def totals(input_shape, layer: dict, batch: int = 1) -> dict[str, int]:
    graph = load_spec_text(json.dumps({"input": list(input_shape), "layers": [layer]}))
    report = analyse(graph, batch=batch)
    return {name: count_convention(graph, report, name).total
            for name in ("archcalc", "fvcore", "ptflops", "thop", "torchinfo", "torch")}  # fmt: skip


def test_what_each_tool_makes_of_one_lstm():
    """LSTM(5, 7) over 4 steps: 336 MACs per step (4 x 7 x 12), 392 parameters."""
    assert totals(SEQUENCE, {"type": "lstm", "hidden_size": 7}, batch=2) == {
        "archcalc": 2 * 4 * 336,
        "fvcore": 0,  # aten::lstm has no handle
        "ptflops": 2 * 4 * (336 + 56 + 70),  # + both biases + 10 elementwise ops per hidden unit
        "thop": 2 * 4 * (4 * (7 * 12 + 7 + 14) + 4 * 7),
        "torchinfo": 2 * 4 * 392,  # the parameters once per step
        "torch": 0,  # on the CPU, oneDNN's fused aten::mkldnn_rnn_layer: no flop formula
    }


def test_thop_ignores_the_projection_and_torchinfo_a_cells_steps():
    projected = totals(SEQUENCE, {"type": "lstm", "hidden_size": 7, "proj_size": 3})
    plain = totals(SEQUENCE, {"type": "lstm", "hidden_size": 7})
    assert projected["thop"] == plain["thop"] and projected["archcalc"] != plain["archcalc"]
    # a projected LSTM is not fused on the CPU: FlopCounterMode sees its products
    assert (plain["torch"], projected["torch"]) == (0, 2 * projected["archcalc"])
    cell = totals((5,), {"type": "lstm_cell", "hidden_size": 7})
    assert cell["torchinfo"] == 392 * 7  # the cell's [N, H] output read as [N, L]: x H
    assert cell["fvcore"] == cell["archcalc"] == 336  # two aten::linear, no bias
