"""The wheel is what `pip install archcalc` gives a user: every package and every built-in spec must be in it.

The development install is editable and reads specs/ from the checkout, so only a real wheel shows a file
left out (the built-in specs once were: `archcalc report vgg16` failed after a plain `pip install .`).
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # No build isolation: the dev extras hold setuptools, and the build needs nothing from the network.
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--wheel-dir", str(out), str(ROOT)], check=True, capture_output=True)  # fmt: skip
    (built,) = out.glob("archcalc-*.whl")
    return built


def _wheel_names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def test_every_source_module_is_in_the_wheel(wheel: Path) -> None:
    names = _wheel_names(wheel)
    sources = {path.relative_to(ROOT).as_posix() for path in (ROOT / "archcalc").rglob("*.py")
               if "__pycache__" not in path.parts}  # fmt: skip
    assert sources, "no sources found"
    assert sources - names == set()


def test_every_builtin_spec_is_in_the_wheel(wheel: Path) -> None:
    names = _wheel_names(wheel)
    specs = {f"archcalc/specs/{path.relative_to(ROOT / 'specs').as_posix()}" for path in (ROOT / "specs").rglob("*")
             if path.suffix in (".yaml", ".yml", ".json")}  # fmt: skip
    assert len(specs) > 40
    assert specs - names == set()


def test_the_installed_wheel_finds_its_builtin_specs(wheel: Path, tmp_path: Path) -> None:
    """Unpacked outside the checkout, the package reads the specs it carries, not the repository's."""
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(tmp_path)
    probe = (
        "import json, sys\n"
        "from archcalc.analysis import analyse\n"
        "from archcalc.spec import builtin_specs, load_spec, specs_dir\n"
        "result = analyse(load_spec('vgg16'))\n"
        "print(json.dumps({'dir': str(specs_dir()), 'count': len(builtin_specs()),"
        " 'params': result.totals.params}))\n"
    )
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tmp_path)}
    # -S keeps the checkout's editable install (a site .pth hook) out; the wheel's dependencies are
    # pure-Python files of this interpreter's environment, added after the unpacked wheel.
    site_packages = next(p for p in sys.path if p.endswith("site-packages"))
    completed = subprocess.run([sys.executable, "-S", "-c", f"import sys; sys.path.append({site_packages!r})\n" + probe],
                               env=env, cwd=tmp_path, capture_output=True, text=True)  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    found = json.loads(completed.stdout)
    assert Path(found["dir"]) == tmp_path / "archcalc" / "specs"
    assert found["count"] == len([p for p in (ROOT / "specs").rglob("*.yaml")])
    assert found["params"] == 138_357_544  # VGG-16's published parameter count
