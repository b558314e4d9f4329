"""The LSTM language model of Zaremba, Sutskever & Vinyals (2014) against its reference implementation,
PyTorch's examples/word_language_model (RNNModel("LSTM", ntoken, ninp, nhid, nlayers, dropout), untied),
which re-creates the paper's Torch code: the same embedding, two-bias LSTM and softmax layer.

The spec reads the token ids (`input_dtype: int64`): its embedding, LSTM and softmax layers must equal
the reference's modules, and its totals the reference's parameters and FlopCounterMode's count.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from archcalc import analyse, load_spec


class WordLanguageModel(nn.Module):
    """examples/word_language_model/model.py's RNNModel for rnn_type "LSTM", tie_weights=False."""

    def __init__(self, ntoken: int, ninp: int, nhid: int, nlayers: int, dropout: float = 0.5) -> None:
        super().__init__()
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(ntoken, ninp)
        self.rnn = nn.LSTM(ninp, nhid, nlayers, dropout=dropout)
        self.decoder = nn.Linear(nhid, ntoken)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:  # [L, N] token ids, sequence first as the example
        emb = self.drop(self.encoder(tokens))
        output, _ = self.rnn(emb)
        return self.decoder(self.drop(output))


def numel(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


# (variables, units, the paper's unrolled steps, reference parameter total)
SIZES = [
    ({}, 650, 35, 19_780_400),  # medium
    ({"hidden": 200, "num_steps": 20, "dropout": 0}, 200, 20, 4_653_200),  # small
    ({"hidden": 1500, "dropout": 0.65}, 1500, 35, 66_034_000),  # large
]


@pytest.mark.parametrize("variables, units, steps, total", SIZES, ids=["medium", "small", "large"])
def test_the_spec_is_the_reference_model(variables, units, steps, total):
    graph = load_spec("zaremba_lstm_medium", variables)
    report = analyse(graph)
    with torch.device("meta"):
        reference = WordLanguageModel(10_000, units, units, 2, variables.get("dropout", 0.5)).eval()
    assert numel(reference) == report.totals.params == total
    for name in ("encoder", "rnn", "decoder"):
        assert report.layer(name).params == numel(getattr(reference, name)), name
    assert graph.input_shape == (steps,) and graph.input_dtype == "int64"
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        reference(torch.zeros((steps, 1), dtype=torch.long, device="meta"))
    assert counter.get_total_flops() == 2 * report.totals.macs


def test_medium_figures():
    report = analyse(load_spec("zaremba_lstm_medium"))
    # 2 layers x (4 x 650 x 1,300 weights + 2 x 2,600 biases); 650 x 10,000 + 10,000
    assert [report.layer(name).params for name in ("encoder", "rnn", "decoder")] == [6_500_000, 6_770_400, 6_510_000]
    assert report.totals.params == 19_780_400
    # torch's second bias vector per gate: one bias (TensorFlow's BasicLSTMCell) would give 19,775,200
    assert 19_780_400 - 2 * 4 * 650 == 19_775_200
    assert (report.layer("rnn").macs, report.layer("decoder").macs) == (35 * 2 * 4 * 650 * 1300, 35 * 650 * 10_000)
