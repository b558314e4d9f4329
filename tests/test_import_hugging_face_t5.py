"""Hugging Face's T5 encoder (issue 17's hf/t5-encoder): its relative-position bias is `relative_attention_bias(
buckets)` (nn.Embedding of a [L, S] bucket table computed from the sizes alone, no buffer), rearranged to
[1, H, L, S] and handed to F.scaled_dot_product_attention as attn_mask; the first layer computes it and T5Stack
passes the same tensor to every later layer. So each attention is one relative_position_attention layer with
`index_buffer: false`: the first holds the table, the others share it. (Totals against torch, FlopCounterMode and
fvcore: tests/test_import_hugging_face.py, which runs `t5_encoder` with the other models.)
"""

from __future__ import annotations

import warnings

from archcalc import analyse
from archcalc.importer import TRACE_BATCH
from tests.model_cases import assert_graph_round_trips_and_checks
from tests.test_import_hugging_face import TOKENS, imported

NAME = "t5_encoder"


def test_t5_encoder_holds_one_bias_table_that_every_layer_shares():
    graph = imported(NAME).graph
    assert analyse(graph, batch=TRACE_BATCH).complete
    attentions = [node for node in graph.nodes if node.type == "relative_position_attention"]
    assert len(attentions) == 3 and all(not node.attrs["index_buffer"] for node in attentions)
    assert [node.attrs["index"] for node in attentions] == [(TOKENS, TOKENS)] * 3
    assert [node.weights.shared for node in attentions] == [0, 8 * 4, 8 * 4]  # the first holds the [8, 4] table


def test_t5_encoder_round_trip_and_check():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_graph_round_trips_and_checks(imported(NAME).graph, NAME)
