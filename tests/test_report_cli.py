"""`archcalc report`: formats, the JSON contract, batch and dtype, exports, the schema, import hygiene."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from archcalc import analyse, load_spec
from archcalc.cli import app
from archcalc.render import FORMATS, render
from archcalc.spec import builtin_specs
from tests.conftest import ROOT, check_golden

runner = CliRunner()

CONTRACT_TOTALS = {"params", "trainable_params", "non_trainable_params", "buffers", "macs", "flops", "connections",
                   "activations", "param_bytes", "activation_bytes"}  # fmt: skip
CONTRACT_LAYER = {"name", "type", "inputs", "output_shape", "params", "macs", "flops", "connections", "activations",
                  "receptive_field", "effective_stride", "effective_padding"}  # fmt: skip


def invoke(*args: str):
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result


def test_json_contract():
    data = json.loads(invoke("report", "alexnet_original", "--format", "json").stdout)
    assert list(data)[:6] == ["name", "input_shape", "batch", "dtype", "totals", "layers"]
    assert (data["name"], data["input_shape"], data["batch"], data["dtype"]) == ("alexnet_original", [3, 227, 227],
                                                                                  1, "float32")  # fmt: skip
    assert CONTRACT_TOTALS <= set(data["totals"])
    assert all(type(v) is int for v in data["totals"].values())
    for layer in data["layers"]:
        assert CONTRACT_LAYER <= set(layer)
        assert all(type(layer[k]) is int for k in ("params", "macs", "flops", "connections", "activations"))
        assert all(type(s) is int for s in layer["output_shape"])
        for key in ("receptive_field", "effective_stride", "effective_padding"):
            assert layer[key] is None or (len(layer[key]) == 2 and all(type(v) is int for v in layer[key]))
    assert data["layers"][0]["inputs"] == ["input"]


def test_batch_scales_costs_not_structure():
    one = analyse(load_spec("vgg16"))
    eight = analyse(load_spec("vgg16"), batch=8)
    t1, t8 = one.totals, eight.totals
    assert (t8.macs, t8.flops, t8.activations) == (8 * t1.macs, 8 * t1.flops, 8 * t1.activations)
    assert (t8.params, t8.connections, t8.neurons, t8.param_bytes) == (t1.params, t1.connections, t1.neurons,
                                                                        t1.param_bytes)  # fmt: skip
    assert t8.activation_bytes == 8 * t1.activation_bytes
    data = json.loads(invoke("report", "vgg16", "--batch", "8", "--format", "json").stdout)
    assert data["batch"] == 8 and data["totals"]["macs"] == t8.macs


def test_dtype_sets_memory():
    t32 = analyse(load_spec("vgg16")).totals
    t16 = analyse(load_spec("vgg16"), dtype="float16").totals
    assert t32.param_bytes == 4 * t32.params and t16.param_bytes == 2 * t16.params
    assert t16.activation_bytes * 2 == t32.activation_bytes


def test_input_override_through_cli():
    data = json.loads(invoke("report", "vgg16", "--input", "3x448x448", "--format", "json").stdout)
    assert data["input_shape"] == [3, 448, 448]
    assert next(layer for layer in data["layers"] if layer["name"] == "pool5")["output_shape"] == [512, 14, 14]


def test_csv_round_trips_through_pandas_with_exact_integers():
    import pandas as pd

    report = analyse(load_spec("vgg16"), batch=8)
    frame = pd.read_csv(io.StringIO(invoke("report", "vgg16", "--batch", "8", "--format", "csv").stdout))
    assert list(frame["name"]) == [layer.name for layer in report.layers]
    for column in ("params", "macs", "flops", "connections", "activations", "buffers"):
        assert str(frame[column].dtype) == "int64", column
        assert [int(v) for v in frame[column]] == [getattr(layer, column) for layer in report.layers], column
        assert int(frame[column].sum()) == getattr(report.totals, column)
    assert frame.loc[frame["name"] == "conv5_3.conv", "receptive_field"].item() == "196x196"


def test_markdown_and_table_show_exact_totals():
    markdown = invoke("report", "vgg16", "--format", "markdown").stdout
    assert "| params | 138,357,544 | 138.36 M |" in markdown
    assert "`conv5_3.conv`" in markdown
    table = invoke("report", "vgg16").stdout
    assert "138.36 M" in table and "│ conv5_3 " in table  # the conv block (conv and relu) at the default depth
    assert "138,357,544" in invoke("report", "vgg16", "--exact").stdout


def test_output_file_is_written(tmp_path):
    out = tmp_path / "alexnet.json"
    result = invoke("report", "alexnet_original", "--format", "json", "--output", str(out))
    assert result.stdout == ""
    assert json.loads(out.read_text())["totals"]["params"] == 60_965_224


@pytest.mark.parametrize("fmt", FORMATS)
def test_goldens(fmt, update_goldens):
    report = analyse(load_spec("examples/depthwise_separable"))
    suffix = {"table": "txt", "markdown": "md"}.get(fmt, fmt)
    check_golden(f"depthwise_separable.{suffix}", render(report, fmt), update_goldens)


def test_schema_validates_every_builtin_spec():
    import jsonschema

    from archcalc.spec.source import load_document

    schema = json.loads(invoke("schema").stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    specs = builtin_specs()
    assert "vgg16" in specs and "examples/stem_7x7" in specs
    for name, path in specs.items():
        errors = list(validator.iter_errors(json.loads(json.dumps(load_document(path)))))
        assert not errors, (name, errors[0].message)
    bad = {"input": [3, 8, 8], "layers": [{"type": "conv2d", "out_channels": 4, "kernal": 3}]}
    assert list(validator.iter_errors(bad))


def test_zoo_lists_builtin_specs_with_descriptions():
    text = invoke("zoo").stdout
    assert "vgg16" in text and "alexnet_original" in text and "examples/stem_7x7" in text
    rows = json.loads(invoke("zoo", "--format", "json").stdout)
    assert all(row["description"] for row in rows)
    vgg16 = next(row for row in rows if row["name"] == "vgg16")
    assert (vgg16["params"], vgg16["macs"], vgg16["knobs"]) == (138_357_544, 15_470_264_320, ["num_classes"])
    assert "138.36 M" in text and "15.47 G" in text and "knobs (--set)" in text


def test_analytic_path_never_imports_torch_or_pandas():
    code = (
        "import sys\n"
        "from archcalc.cli import app\n"
        "from typer.testing import CliRunner\n"
        "for fmt in ('table', 'json', 'csv', 'markdown', 'html'):\n"
        "    r = CliRunner().invoke(app, ['report', 'vgg16', '--format', fmt])\n"
        "    assert r.exit_code == 0, r.output\n"
        "heavy = sorted(m for m in ('torch', 'pandas', 'numpy', 'matplotlib', 'fvcore') if m in sys.modules)\n"
        "print(','.join(heavy))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert result.stdout.strip() == ""


def test_command_table_names_every_command():
    """The console script loads only the module of the command it runs: the table must be complete."""
    from archcalc.cli import COMMANDS, load_commands

    app = load_commands()
    registered = {c.name or c.callback.__name__.replace("_", "-") for c in app.registered_commands}
    assert registered == set(COMMANDS)


@pytest.mark.parametrize("args", [["report", "examples/stem_7x7", "--format", "json"], ["zoo"], ["--help"],
                                  ["report", "no_such_spec"]])
def test_console_script_runs_each_command_alone(args):
    """The installed `archcalc` entry point (main), in a fresh process: output, exit code, no traceback."""
    code = "import sys; from archcalc.cli import main; sys.argv = ['archcalc'] + sys.argv[1:]; main()"
    result = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=ROOT)
    assert "Traceback" not in result.stderr
    if args == ["report", "no_such_spec"]:
        assert result.returncode == 2 and result.stderr.startswith("archcalc: error: ")
    else:
        assert result.returncode == 0 and result.stdout
