"""The files a markdown report writes beside itself (`report --format markdown --output net.md`):
net_layers.png (per-layer MACs and params), net_rf.png (receptive-field growth) and, with
`--diagram dot`, net.dot. Returned as bytes; the CLI writes them atomically.
"""

from __future__ import annotations

from pathlib import Path

from archcalc.analysis.results import Report
from archcalc.errors import ArchcalcError
from archcalc.render.markdown import DIAGRAMS, Attachments


def check_diagram(diagram: str) -> None:
    if diagram not in DIAGRAMS:
        raise ArchcalcError(f"--diagram takes {', '.join(DIAGRAMS)}; got {diagram!r}")


def beside(report: Report, output: str, diagram: str, plots: bool) -> tuple[Attachments, dict[Path, bytes]]:
    """The attachments of a markdown report written to `output`, and the files to write next to it."""
    check_diagram(diagram)
    target = Path(output)
    files: dict[Path, bytes] = {}
    attachments = Attachments(diagram=diagram)
    if diagram == "dot":
        from archcalc.render.diagram import dot

        path = target.with_name(target.stem + ".dot")
        files[path], attachments.dot_file = dot(report).encode("utf-8"), path.name
    if plots:
        from archcalc.render.plots import layer_costs_png, receptive_field_png

        for suffix, title, draw in (("_layers.png", "MACs and params per layer", layer_costs_png),
                                    ("_rf.png", "Receptive-field growth through the depth", receptive_field_png)):
            path = target.with_name(target.stem + suffix)
            files[path] = draw(report)
            attachments.plots.append((title, path.name))
    return attachments, files
