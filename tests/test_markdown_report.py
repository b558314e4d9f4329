"""Markdown reports as self-contained documents: sections, heaviest layers, Mermaid and DOT diagrams
(collapsed for large nets), PNG plots written beside the file; and the analytic path stays light."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from archcalc import analyse, load_spec_text
from archcalc.cli import app
from archcalc.render.mermaid import MERMAID_MAX_NODES
from tests.conftest import ROOT
from tests.png import png_size

runner = CliRunner()

# A ResNet-like net of 167 layers (4 stages of 5 blocks) for readability at depth.
DEEP = """
name: deep_resnet
input: [3, 224, 224]
blocks:
  basic:
    params: {c: null, s: 1}
    layers:
      - {name: conv1, type: conv2d, out_channels: c, kernel: 3, stride: s, padding: 1, bias: false}
      - {name: bn1, type: batchnorm}
      - {name: relu1, type: relu}
      - {name: conv2, type: conv2d, out_channels: c, kernel: 3, padding: 1, bias: false}
      - {name: bn2, type: batchnorm}
      - {name: proj, type: conv2d, out_channels: c, kernel: 1, stride: s, bias: false, inputs: input}
      - {name: add, type: add, inputs: [bn2, proj]}
      - {name: relu2, type: relu}
layers:
  - {name: conv1, type: conv2d, out_channels: 64, kernel: 7, stride: 2, padding: 3, bias: false}
  - {name: bn1, type: batchnorm}
  - {name: relu, type: relu}
  - {name: maxpool, type: max_pool2d, kernel: 3, stride: 2, padding: 1}
  - {name: layer1, repeat: 5, block: basic, args: {c: 64}}
  - {name: layer2, repeat: 5, block: basic, args: {c: 128, s: "2 if i == 0 else 1"}}
  - {name: layer3, repeat: 5, block: basic, args: {c: 256, s: "2 if i == 0 else 1"}}
  - {name: layer4, repeat: 5, block: basic, args: {c: 512, s: "2 if i == 0 else 1"}}
  - {name: avgpool, type: global_avg_pool}
  - {name: flatten, type: flatten}
  - {name: fc, type: linear, out_features: 1000}
"""
CHAIN = "input: [4, 8, 8]\nlayers:\n" + "".join(
    f"  - {{name: c{i}, type: conv2d, out_channels: 4, kernel: 3, padding: 1}}\n" for i in range(150))


def report_md(*args: str):
    result = runner.invoke(app, ["report", *args, "--format", "markdown"])
    assert result.exit_code == 0, result.output
    return result


def mermaid_block(text: str) -> str:
    return re.search(r"```mermaid\n(.*?)```", text, re.S).group(1)


def test_sections_and_heaviest_layers():
    text = report_md("vgg16").stdout
    headings = re.findall(r"^##+ (.+)$", text, re.M)
    assert headings == ["Summary", "Blocks", "Heaviest layers", "By MACs", "By params", "Graph", "Layers"]
    heaviest = text.split("### By params")[1].split("## Graph")[0]
    assert heaviest.count("\n| ") == 11  # the header and ten layers
    assert "| 1 | `fc6` | linear | 4096 | 102,764,544 (102.76 M) | 74.3% |" in heaviest
    block = mermaid_block(text)
    # 40 layers, 18 boxes: conv blocks (conv + ReLU), equal neighbours merged, ReLU and dropout folded into each fc
    assert len(re.findall(r'^  n\d+\["', block, re.M)) == 18 and block.count("-->") == 18
    assert 'conv5_1 … conv5_3 ×3 · conv2d k3 p1 (2 layers each)<br/>7.08 M params' in block
    assert 'n7["conv3_2 … conv3_3 ×2 · conv2d k3 p1 (2 layers each)' in block
    assert '["fc6 · linear + relu6, drop6<br/>102.76 M params' in block


def test_deep_net_diagram_draws_stages_and_blocks(tmp_path):
    spec = tmp_path / "deep.yaml"
    spec.write_text(DEEP)
    text = report_md(str(spec)).stdout
    block = mermaid_block(text)
    nodes = re.findall(r'^ +(n\d+)\["(.*?)"\]', block, re.M)
    assert [label.split(" · ")[0] for _, label in nodes] == [
        "conv1", "maxpool", "avgpool", "fc", "layer1.0 … layer1.4 ×5", "layer2.0", "layer2.1 … layer2.4 ×4",
        "layer3.0", "layer3.1 … layer3.4 ×4", "layer4.0", "layer4.1 … layer4.4 ×4"]  # fmt: skip
    assert block.count("subgraph") == 4 and 'subgraph s_layer2 ["layer2"]' in block
    assert "conv1 · conv2d k7 s2 p3 + bn1, relu" in block
    assert "167 layers drawn as 11 boxes (blocks at depth 2" in text
    inside = re.findall(r"<details><summary>inside (.*?): (\d+) layers</summary>", text)
    assert inside == [("layer1.0 (and 4 more like it)", "8"), ("layer2.0", "8"), ("layer2.1 (and 3 more like it)", "8"),
                      ("layer3.0", "8"), ("layer3.1 (and 3 more like it)", "8"), ("layer4.0", "8"),
                      ("layer4.1 (and 3 more like it)", "8")]  # fmt: skip
    first = text.split("<details>")[1]
    assert 'n0["conv1 · conv2d k3 p1 + bn1, relu1' in first and "n_in --> n2" in first  # the projection
    assert "n1 --> n3" in first and "n2 --> n3" in first  # both paths into the add


def test_long_chain_is_drawn_as_runs(tmp_path):
    spec = tmp_path / "chain.yaml"
    spec.write_text(CHAIN)
    text = report_md(str(spec)).stdout
    nodes = re.findall(r"^  n\d+\[", mermaid_block(text), re.M)
    assert 2 <= len(nodes) <= MERMAID_MAX_NODES
    assert "150 boxes drawn as 50 runs of up to 3" in text


def test_plots_are_written_beside_the_file_and_linked(tmp_path):
    spec = tmp_path / "deep.yaml"
    spec.write_text(DEEP)
    out = tmp_path / "deep.md"
    result = runner.invoke(app, ["report", str(spec), "--format", "markdown", "--output", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert "![MACs and params per layer](deep_layers.png)" in text
    assert "![Receptive-field growth through the depth](deep_rf.png)" in text
    width, height = png_size((tmp_path / "deep_layers.png").read_bytes())
    # 167 layers: the 30 heaviest and one bar for the rest, 16 px each.
    assert width == 1200 and 31 * 16 <= height <= 31 * 16 + 200
    width, height = png_size((tmp_path / "deep_rf.png").read_bytes())
    assert (width, height) == (1000, 500)


def test_no_plots_to_stdout_or_with_no_plots(tmp_path):
    assert "## Plots" not in report_md("vgg16").stdout
    out = tmp_path / "vgg.md"
    runner.invoke(app, ["report", "vgg16", "--format", "markdown", "--output", str(out), "--no-plots"])
    assert "## Plots" not in out.read_text() and sorted(p.name for p in tmp_path.iterdir()) == ["vgg.md"]


def test_dot_diagram_file_has_every_layer_and_edge(tmp_path):
    spec = tmp_path / "deep.yaml"
    spec.write_text(DEEP)
    out = tmp_path / "deep.md"
    result = runner.invoke(app, ["report", str(spec), "--format", "markdown", "--output", str(out), "--diagram",
                                 "dot", "--no-plots"])  # fmt: skip
    assert result.exit_code == 0, result.output
    dot = (tmp_path / "deep.dot").read_text()
    report = analyse(load_spec_text(DEEP))
    assert dot.startswith('digraph "deep_resnet" {') and dot.rstrip().endswith("}")
    assert dot.count(" -> ") == sum(len(layer.inputs) for layer in report.layers)
    assert all(f'"{layer.name}" [label=' in dot for layer in report.layers)
    assert "[deep.dot](deep.dot)" in out.read_text() and "```mermaid" not in out.read_text()
    inline = report_md(str(spec), "--diagram", "dot").stdout
    assert "```dot\ndigraph" in inline
    assert "## Graph" not in report_md(str(spec), "--diagram", "none").stdout


@pytest.mark.parametrize("command", [
    ["explain", "vgg16"], ["explain", "vgg16", "fc6", "--format", "markdown"],
    ["compare", "vgg16", "alexnet_original", "--format", "csv", "--by", "stage"],
    ["sweep", "examples/stacked_3x3", "--set", "n=1,2", "--format", "markdown"],
    ["report", "vgg16", "--train", "--format", "json"], ["report", "vgg16", "--format", "markdown", "--diagram", "dot"],
])  # fmt: skip
def test_new_commands_stay_off_heavy_imports(command):
    code = (
        "import sys\n"
        "from archcalc.cli import app\n"
        "from typer.testing import CliRunner\n"
        f"r = CliRunner().invoke(app, {command!r})\n"
        "assert r.exit_code == 0, r.output\n"
        "heavy = sorted(m for m in ('torch', 'pandas', 'numpy', 'matplotlib') if m in sys.modules)\n"
        "print(','.join(heavy))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert result.stdout.strip() == ""
