"""Every name the package reads is bound somewhere in its module (or is a builtin).

An import rule that raises `CannotMap` from a module that never imported it fails only when a model
takes that path, as a `NameError` the importer records as the rule failing (timm's gemma4_vit matmul
and csatv2's buffer-weight F.linear both hit it in linear.py). Read from the source with `ast`, the
check covers paths no test model takes. It is deliberately coarse (a name bound in any scope of the
module counts as bound), so it can miss a name bound only in another function, never flag a good one.
"""

from __future__ import annotations

import ast
import builtins
from pathlib import Path

import pytest
import torch

import archcalc

PACKAGE = Path(archcalc.__file__).parent
MODULE_ATTRIBUTES = {"__file__", "__path__", "__name__", "__doc__", "__spec__", "__package__"}


def unbound_names(source: str) -> list[tuple[int, str]]:
    """(line, name) for each name loaded in `source` that no statement of it binds."""
    tree = ast.parse(source)
    bound = set(dir(builtins)) | MODULE_ATTRIBUTES
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            bound.add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            bound.update(node.names)
        elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            bound.add(node.name)
    return [(node.lineno, node.id) for node in ast.walk(tree)
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id not in bound]


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_every_name_read_is_bound(path):
    assert unbound_names(path.read_text()) == []


def test_the_check_finds_an_exception_that_was_never_imported():
    """The bug it guards against: linear.py raised CannotMap without importing it."""
    source = "from archcalc.layers.imports import ImportRule\n\ndef read(call):\n    raise CannotMap('no')\n"
    assert unbound_names(source) == [(4, "CannotMap")]


def test_a_matmul_with_a_parameter_the_rule_refuses_says_why():
    """The path that raised the NameError in gemma4_vit: `x.matmul(table)` with a parameter that is not an
    [n_in, n_out] matrix reaches linear's CannotMap, which must read as a reason, not as a failed rule."""
    from torch import nn

    from archcalc import analyse
    from archcalc.importer import import_model

    class MatmulByTable(nn.Module):
        def __init__(self):
            super().__init__()
            self.table = nn.Parameter(torch.zeros(2, 8, 4))

        def forward(self, x):
            return x.matmul(self.table)

    report = analyse(import_model(MatmulByTable(), (2, 5, 8)).graph)
    [gap] = report.unsupported
    assert "not the right-hand [n_in, n_out] matrix" in gap.reason and "failed" not in gap.reason
    assert report.totals.params == 64
