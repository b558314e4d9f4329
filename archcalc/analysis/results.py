"""Plain data returned by the analysis. Renderers turn it into tables, CSV, markdown or JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from archcalc.analysis.llm import LLMFigures
    from archcalc.analysis.training import Training
    from archcalc.conventions import ConventionResult

DTYPE_BYTES = {"float64": 8, "float32": 4, "float16": 2, "bfloat16": 2, "int8": 1, "uint8": 1}


@dataclass
class LayerResult:
    name: str
    type: str
    inputs: list[str]
    output_shape: list[int]
    params: int
    trainable_params: int
    non_trainable_params: int
    buffers: int
    macs: int
    flops: int
    connections: int
    activations: int
    receptive_field: list[int] | None
    effective_stride: list[int] | None
    effective_padding: list[int] | None
    rf_aligned: bool | None
    category: str
    line: int | None = None
    attributes: dict = field(default_factory=dict)  # the resolved attributes (kernel, stride, ...), None left out
    # (read-only: analyse gives layers that read alike, same type, attributes and input shapes, one dict)
    # Of `params` and `buffers`, the elements an earlier layer already holds (a module called again, tied
    # weights): the totals count them once, so totals.params = sum(params) - sum(shared_params).
    shared_params: int = 0
    shared_buffers: int = 0
    # Layers with the same number here (analyse numbers them) read alike: same type, attributes, `over` and input
    # shapes, and no `weights:` of their own. They have equal values in every field but name, inputs, line and
    # the receptive-field ones, so a renderer may write those once (a 100,000-layer spec repeats a few layers).
    # None: a layer that shares them with no other.
    signature: int | None = None


@dataclass
class Totals:
    params: int
    trainable_params: int
    non_trainable_params: int
    buffers: int
    macs: int
    flops: int
    connections: int
    activations: int
    neurons: int
    param_bytes: int
    activation_bytes: int
    peak_activation_bytes: int


@dataclass
class Gap:
    """A layer archcalc cannot count (an imported torch operation without a rule)."""

    name: str
    op: str
    where: str
    reason: str


@dataclass
class Report:
    name: str
    input_shape: list[int]
    batch: int
    dtype: str
    totals: Totals
    layers: list[LayerResult]
    outputs: list[str]
    depth: int = 0  # layers with weights (conv, linear, ...) on the longest path: VGG16 16, ResNet-50 50
    file: str | None = None
    description: str = ""
    source: str = ""
    variables: dict = field(default_factory=dict)
    training: "Training | None" = None  # analyse(..., training=TrainingPlan(...)) (report --train)
    convention: "ConventionResult | None" = None  # analyse(..., convention="fvcore") (report --convention)
    llm: "LLMFigures | None" = None  # a decoder's LLM arithmetic (analysis/llm.py); None for other graphs
    # False when some layer's costs are unknown (see `unsupported`): the totals leave those out.
    complete: bool = True
    unsupported: list[Gap] = field(default_factory=list)
    # Weights no layer uses (graph.UnusedWeights: aux heads): in the totals, in no row. totals.params =
    # sum(rows' params) - sum(shared_params) + sum(unused params); likewise buffers.
    unused: list = field(default_factory=list)

    def layer(self, name: str) -> LayerResult:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(name)

    def to_frame(self, depth: int | str | None = None):
        """A pandas DataFrame: one row per layer, or per block at `depth` (archcalc/notebook.py)."""
        from archcalc import notebook

        return notebook.layers_frame(self) if depth is None else notebook.blocks_frame(self, depth)

    def __repr__(self) -> str:
        t = self.totals
        return (f"Report({self.name}: {len(self.layers)} layers, input {self.input_shape}, batch {self.batch}, "
                f"{t.params:,} params, {t.macs:,} MACs)")  # fmt: skip

    def _repr_html_(self) -> str:  # Jupyter shows a table, not the dataclass
        from archcalc.notebook import report_html

        return report_html(self)
