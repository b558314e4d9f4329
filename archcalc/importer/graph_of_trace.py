"""A trace -> the Graph the analysers walk, with the notes worth telling the user: the dispatcher's loop
(mapping.Mapper) over the calls, then the graph's outputs, and why there is none when the forward's sizes depend
on the data (data_dependent.py)."""

from __future__ import annotations

import torch

from archcalc.errors import ArchcalcError
from archcalc.graph import INPUT, Graph, topological_order
from archcalc.importer.data_dependent import counted_for_this_trace, first_data_dependent, no_fixed_graph
from archcalc.importer.mapping import Mapper
from archcalc.importer.outputs import returned_tensors
from archcalc.importer.rules import RuleTable
from archcalc.importer.trace import Trace


def to_graph(trace: Trace, input_shape: tuple[int, ...], batch: int, table: RuleTable, model: torch.nn.Module,
             name: str, source: str) -> tuple[Graph, list[str]]:  # fmt: skip
    """The graph of a trace, and notes worth telling the user."""
    mapper = Mapper(trace, batch, table, model)
    nodes = mapper.run()
    unused = mapper.unused(model)
    outputs = []
    returned = returned_tensors(trace.output, mapper.notes)
    for t in returned:
        producer = mapper.producer.get(id(t))
        if producer is not None and producer != INPUT and producer not in outputs:
            outputs.append(producer)  # the input returned beside results (a dict of outputs) is not one
    if returned and not outputs and all(mapper.producer.get(id(t)) == INPUT for t in returned):
        raise ArchcalcError("the model returns its input unchanged; there is nothing to analyse")
    dependent = first_data_dependent(trace.calls)
    if not nodes or not outputs:
        if dependent is not None:
            raise ArchcalcError(no_fixed_graph(dependent))
        raise ArchcalcError("the model's output is not computed from its input; there is nothing to analyse")
    if dependent is not None:
        mapper.notes.append(counted_for_this_trace(dependent))
    graph = Graph(name=name, input_shape=input_shape, nodes=topological_order(nodes), outputs=outputs, source=source,
                  unused=unused)
    return graph, mapper.notes
