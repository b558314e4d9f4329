"""Importing recurrent models: nn.LSTM / nn.GRU / nn.RNN (batch first) and the cells map to archcalc's
recurrent types, complete and equal to torch (parameters, and MACs by FlopCounterMode on meta); their
final states, which the layers do not model, make whatever reads them unsupported, saying so; every
recurrent rule case comes back from archcalc's own build and from the plain torch.nn module."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from archcalc import analyse, load_spec_text
from archcalc.importer import import_model
from archcalc.spec.export import export_spec, graph_difference
from archcalc.torch_build import build_module
from tests.test_import_models import torch_counts
from tests.test_import_roundtrip import assert_same_analysis
from tests.test_layer_rules_recurrent import CASES, IDS


class Tagger(nn.Module):
    """A sequence tagger: a recurrent stack, then a linear layer on every step's output."""

    def __init__(self, kind: str = "lstm", batch_first: bool = True, **kwargs) -> None:
        super().__init__()
        cls = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[kind]
        self.rnn = cls(5, 6, batch_first=batch_first, **kwargs)
        self.fc = nn.Linear(self.rnn.hidden_size * (2 if self.rnn.bidirectional else 1)
                            if not getattr(self.rnn, "proj_size", 0) else self.rnn.proj_size, 3)  # fmt: skip

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.fc(out)


TAGGERS = [
    ("lstm", {"num_layers": 2, "bidirectional": True}, "{type: lstm, hidden_size: 6, num_layers: 2, bidirectional: true}"),
    ("lstm", {"proj_size": 2}, "{type: lstm, hidden_size: 6, proj_size: 2}"),
    ("gru", {"bias": False}, "{type: gru, hidden_size: 6, bias: false}"),
    ("rnn", {"nonlinearity": "relu", "num_layers": 3, "dropout": 0.1},
     "{type: rnn, hidden_size: 6, nonlinearity: relu, num_layers: 3, dropout: 0.1}"),
]


@pytest.mark.parametrize("kind, kwargs, layer", TAGGERS, ids=[f"{t[0]}-{'-'.join(t[1])}" for t in TAGGERS])
def test_a_recurrent_model_imports_complete_and_equal_to_torch(kind, kwargs, layer):
    factory = lambda: Tagger(kind, **kwargs)  # noqa: E731
    result = import_model(factory, (4, 5))
    report = analyse(result.graph)
    assert report.complete and not result.notes
    assert (report.totals.params, report.totals.macs) == torch_counts(factory, (4, 5))
    expected = load_spec_text(f"{{input: [4, 5], layers: [{layer}, {{type: linear, out_features: 3}}]}}")
    assert_same_analysis(expected, result.graph, ignore=("line", "attributes", "name", "inputs"))
    assert graph_difference(result.graph, load_spec_text(export_spec(result.graph))) is None


class FinalState(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.gru, self.fc = nn.GRU(5, 6, batch_first=True), nn.Linear(6, 2)

    def forward(self, x):
        _, h = self.gru(x)
        return self.fc(h[-1])


def test_reading_a_final_state_is_unsupported_and_says_why():
    report = analyse(import_model(FinalState, (4, 5)).graph)
    assert not report.complete
    [gap] = report.unsupported
    assert gap.op == "operator.getitem"
    assert "the final state h_n of gru, which archcalc does not model as an output" in gap.reason
    assert [layer.type for layer in report.layers] == ["gru", "unsupported", "linear"]


def test_sequence_first_modules_are_unsupported():
    report = analyse(import_model(lambda: Tagger("lstm", batch_first=False), (3, 5)).graph)
    assert {gap.op for gap in report.unsupported} == {"torch.nn.modules.rnn.LSTM"}  # output, h_n, c_n
    assert report.unsupported[0].reason == "batch_first=False: archcalc reads sequences batch first ([N, L, H_in])"


class Cells(nn.Module):
    """A GRU cell fed a state computed from the input, and an LSTM cell started from zeros."""

    def __init__(self) -> None:
        super().__init__()
        self.init, self.gru, self.lstm = nn.Linear(5, 6), nn.GRUCell(5, 6), nn.LSTMCell(6, 4)

    def forward(self, x):
        h = self.gru(x, torch.tanh(self.init(x)))
        h2, _ = self.lstm(h)
        return h2


def test_cells_import_with_their_state_inputs():
    result = import_model(Cells, (5,))
    report = analyse(result.graph)
    assert report.complete
    assert [(layer.type, len(node.inputs)) for layer, node in zip(report.layers, result.graph.nodes)] == [
        ("linear", 1), ("tanh", 1), ("gru_cell", 2), ("lstm_cell", 1)]
    assert (report.totals.params, report.totals.macs) == torch_counts(Cells, (5,))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_every_recurrent_case_comes_back_from_torch(case):
    graph = load_spec_text(json.dumps({"input": list(case.input), "layers": [case.layer]}), case.id)
    with torch.device("meta"):
        reference = case.reference().eval()
    for module in (build_module(graph), reference):
        imported = import_model(module, case.input).graph
        assert_same_analysis(graph, imported, ignore=("line", "attributes", "name", "inputs"))
        assert analyse(imported).complete
