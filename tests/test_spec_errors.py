"""Bad specs: one line naming file, line and layer path; exit 2; no traceback; no output written."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from archcalc.cli import app

HEADER = "input: [3, 16, 16]\nlayers:\n"

# (id, spec text, expected line, expected layer path or None, words the message must contain)
CASES = [
    ("unknown-type", HEADER + "  - {name: c1, type: conv2}\n", 3, "c1", ["unknown layer type 'conv2'",
                                                                          "did you mean 'conv2d'", "known types"]),
    ("missing-attribute", HEADER + "  - {name: c1, type: conv2d, kernel: 3}\n", 3, "c1", ["out_channels"]),
    ("mistyped-attribute", HEADER + "  - name: c1\n    type: conv2d\n    out_channels: 8\n    kernal: 3\n",
     6, "c1", ["no attribute 'kernal'", "did you mean 'kernel'"]),
    ("wrong-type", HEADER + "  - {name: c1, type: conv2d, out_channels: eight, kernel: 3}\n", 3, "c1",
     ["undefined variable 'eight'"]),
    ("float-size", HEADER + "  - {name: c1, type: conv2d, out_channels: 8.5, kernel: 3}\n", 3, "c1",
     ["must be an integer"]),
    ("negative-size", HEADER + "  - {name: c1, type: conv2d, out_channels: 8, kernel: -3}\n", 3, "c1",
     ["must be positive"]),
    ("zero-size", HEADER + "  - {name: c1, type: conv2d, out_channels: 0, kernel: 3}\n", 3, "c1",
     ["must be positive"]),
    ("collapse", HEADER + "  - {name: c1, type: conv2d, out_channels: 8, kernel: 3, stride: 2}\n"
     "  - {name: c2, type: conv2d, out_channels: 8, kernel: 9}\n", 4, "c2", ["collapses", "larger than"]),
    ("groups", HEADER + "  - {name: c1, type: conv2d, out_channels: 8, kernel: 3, groups: 2}\n", 3, "c1",
     ["not divisible by groups 2"]),
    ("add-mismatch", HEADER + "  - {name: a, type: conv2d, out_channels: 8, kernel: 3}\n"
     "  - {name: s, type: add, inputs: [a, input]}\n", 4, "s", ["do not match"]),
    ("concat-mismatch", HEADER + "  - {name: a, type: conv2d, out_channels: 8, kernel: 3}\n"
     "  - {name: s, type: concat, inputs: [a, input]}\n", 4, "s", ["differ outside axis 0"]),
    ("unknown-input", HEADER + "  - {name: a, type: relu}\n  - {name: b, type: relu, inputs: [aa]}\n", 4, "b",
     ["unknown input 'aa'", "did you mean 'a'"]),
    ("unknown-output", HEADER + "  - {name: a, type: relu}\noutputs: [aa]\n", 4, None,
     ["unknown layer in the spec's outputs: 'aa'", "did you mean 'a'"]),
    ("cycle", HEADER + "  - {name: a, type: relu, inputs: b}\n  - {name: b, type: relu, inputs: a}\n", 3, "a",
     ["cycle", "a -> b -> a"]),
    ("duplicate-name", HEADER + "  - {name: a, type: relu}\n  - {name: a, type: relu}\n", 4, "a",
     ["duplicate name 'a'"]),
    ("undefined-variable", "variables: {w: 2}\n" + HEADER + "  - {name: c, type: conv2d, out_channels: 'v * 8',"
     " kernel: 3}\n", 4, "c", ["undefined variable 'v'", "defined here: w"]),
    ("too-few-inputs", HEADER + "  - {name: s, type: add}\n", 3, "s", ["add takes at least 2 inputs"]),
    ("unknown-block", HEADER + "  - {name: b, block: basic}\n", 3, "b", ["unknown block 'basic'"]),
    ("recursive-block", "blocks:\n  loop:\n    layers:\n      - {name: again, block: loop}\n" + HEADER +
     "  - {name: top, block: loop}\n", 4, "top.again", ["instantiates itself", "loop -> loop"]),
    ("block-argument", "blocks:\n  b:\n    params: {c: 4}\n    layers: [relu]\n" + HEADER +
     "  - {name: x, block: b, args: {d: 1}}\n", 7, "x", ["no parameter 'd'"]),
    ("bad-expression", HEADER + "  - {name: c, type: conv2d, out_channels: '8 +', kernel: 3}\n", 3, "c",
     ["bad expression"]),
    ("unknown-top-key", "inputs: [3, 8, 8]\nlayers: [relu]\n", 1, None, ["unknown key 'inputs'",
                                                                          "did you mean 'input'"]),
    ("pool-padding", HEADER + "  - {name: p, type: max_pool2d, kernel: 2, padding: 2}\n", 3, "p",
     ["more than half the kernel"]),
    ("bad-call", HEADER + "  - name: act\n    type: relu\n    call: fuction\n", 5, "act",
     ["'call' must be one of module, function, method, operator", "did you mean 'function'"]),
    ("call-not-taken", HEADER + "  - {name: act, type: relu6, call: function}\n", 3, "act",
     ["relu6 is not invoked as a function"]),
    ("call-on-a-group", HEADER + "  - {name: g, call: function, layers: [relu]}\n", 3, "g", ["unknown key 'call'"]),
    ("yaml-syntax", HEADER + "  - {name: a, type: relu\n", 4, None, []),
    ("duplicate-key", HEADER + "  - name: a\n    type: relu\n    type: tanh\n", 5, None, ["duplicate key 'type'"]),
    ("python-tag", HEADER + "  - !!python/object/apply:os.system ['echo hi']\n", 3, None, ["tag"]),
]  # fmt: skip


@pytest.mark.parametrize(("case_id", "text", "line", "path", "words"), CASES, ids=[c[0] for c in CASES])
def test_bad_spec_gives_one_line_and_exit_2(tmp_path, case_id, text, line, path, words):
    spec = tmp_path / "bad.yaml"
    spec.write_text(text)
    out = tmp_path / "out.json"
    result = CliRunner().invoke(app, ["report", str(spec), "--format", "json", "--output", str(out)])
    assert result.exit_code == 2, result.output
    message = result.stderr.strip()
    assert "\n" not in message and "Traceback" not in message
    assert message.startswith(f"archcalc: error: {spec}:{line}: "), message
    if path is not None:
        assert f": layer {path}: " in message, message
    for word in words:
        assert word in message, message
    assert not out.exists()
    assert result.stdout == ""


def test_existing_output_is_left_untouched(tmp_path):
    spec = tmp_path / "bad.yaml"
    spec.write_text(HEADER + "  - {name: c1, type: conv2}\n")
    out = tmp_path / "out.json"
    out.write_text("precious")
    result = CliRunner().invoke(app, ["report", str(spec), "--format", "json", "--output", str(out)])
    assert result.exit_code == 2
    assert out.read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml", "out.json"]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["report", "no_such_spec"], ["no spec file or built-in spec named 'no_such_spec'"]),
        (["report", "resnet05"], ["did you mean 'resnet50'"]),
        (["report", "missing.yaml"], ["missing.yaml: no such file"]),
        (["report", "vgg16", "--format", "xml"], ["unknown format 'xml'"]),
        (["report", "vgg16", "--input", "3x0x2"], ["--input"]),
        (["report", "vgg16", "--input", "3xax2"], ["--input"]),
        (["report", "vgg16", "--set", "width=2"], ["no variable 'width'"]),
        (["report", "vgg16", "--set", "oops"], ["--set takes name=value"]),
        (["report", "vgg16", "--batch", "0"], ["batch must be a positive integer"]),
        (["report", "vgg16", "--batch", "many"], ["--batch"]),
        (["report", "vgg16", "--dtype", "float13"], ["unknown dtype"]),
        (["report", "vgg16", "--colour"], ["No such option"]),
        (["report", "vgg16", "--input", "3x16x16"], ["collapses"]),
        (["report", "vgg16", "--output", "/no/such/dir/x.json"], ["does not exist"]),
    ],
)
def test_bad_options_give_one_line_and_exit_2(args, words):
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    message = result.stderr.strip()
    assert "\n" not in message and message.startswith("archcalc: error: "), message
    for word in words:
        assert word in message, message


def test_error_names_file_line_and_layer_inside_blocks(tmp_path):
    spec = tmp_path / "deep.yaml"
    spec.write_text(
        "blocks:\n"
        "  unit:\n"
        "    params: {c: null}\n"
        "    layers:\n"
        "      - {name: conv, type: conv2d, out_channels: c, kernel: 3, padding: 1, groups: 3}\n"
        + HEADER
        + "  - {name: stage, block: unit, repeat: 2, args: {c: 'i * 4 + 3'}}\n"
    )
    result = CliRunner().invoke(app, ["report", str(spec)])
    assert result.exit_code == 2
    # instance 0 maps 3 -> 3 channels; instance 1 asks for 7 outputs in 3 groups.
    assert result.stderr.strip() == (
        f"archcalc: error: {spec}:5: layer stage.1.conv: conv2d: out_channels 7 is not divisible by groups 3"
    )
