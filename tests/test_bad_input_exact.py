"""Bad values of the attributes issue 17's exactness work added (strided_slice `starts`, relative_position_attention
`mask`, conv `padding: valid` kept as torch's string) end in one line naming the file, the line and the layer,
exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from archcalc.cli import app
from tests.cli_errors import assert_one_line_error

ATTENTION = ("{type: relative_position_attention, table: [25, 2], index: [81], axis: 0, bias: [1, 2, 9, 9], "
             "inputs: [input, input, input]")  # fmt: skip
CASES = {
    "starts-count": ("[5, 5, 8]", "{type: strided_slice, steps: [2, 2], starts: [1]}", "1 starts for 2 steps"),
    "starts-beyond": ("[5, 5, 8]", "{type: strided_slice, steps: [2], starts: [5]}", "start 5 leaves nothing"),
    "starts-negative": ("[5, 5, 8]", "{type: strided_slice, steps: [2], starts: [-1]}", "must be >= 0"),
    "mask-shape": ("[2, 9, 8]", ATTENTION + ", mask: [3, 9, 9]}", "a mask of shape [3, 9, 9] does not broadcast"),
    "valid-too-big": ("[3, 4, 4]", "{type: conv2d, out_channels: 2, kernel: 5, padding: valid}", "larger than"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_new_attributes_are_one_line_exit_2(tmp_path: Path, case: str) -> None:
    shape, layer, message = CASES[case]
    spec = tmp_path / "bad.yaml"
    spec.write_text(f"input: {shape}\nlayers:\n  - {layer}\n")
    result = CliRunner().invoke(app, ["report", str(spec)])
    assert_one_line_error(result, message)
    assert "bad.yaml" in result.stderr and ":3" in result.stderr
