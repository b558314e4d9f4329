"""The install is reproducible: every package in the environment is the version requirements.lock pins.

`make setup` installs from the lock; a package missing from it (a new dependency added to pyproject.toml
without `make lock`) would float to whatever release is newest on the day of a fresh install.
"""

from __future__ import annotations

import re
import sysconfig
from importlib import metadata
from pathlib import Path

from packaging.version import Version

LOCK = Path(__file__).resolve().parents[1] / "requirements.lock"
NOT_LOCKED = {"archcalc", "pip"}  # the project itself; pip is pinned in the Makefile


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _locked() -> dict[str, str]:
    pins = {}
    for line in LOCK.read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"requirements.lock: {line!r} is not an exact pin"
            pins[_canonical(name)] = version
    return pins


def test_every_installed_package_is_pinned_in_the_lock() -> None:
    pins = _locked()
    # Only what is installed in the environment: setuptools puts its vendored packages' metadata on
    # sys.path while it builds a wheel (tests/test_packaging.py does, in the same worker).
    installed = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    for dist in metadata.distributions(path=sorted(installed)):
        name = _canonical(dist.metadata["Name"])
        if name in NOT_LOCKED:
            continue
        assert name in pins, f"{name} is installed but not in requirements.lock (run `make lock`)"
        # Compared as versions: thop's 0.1.1-2209072238 is 0.1.1.post2209072238; torch 2.13.0+cpu is 2.13.0.
        assert Version(dist.version).public == Version(pins[name]).public, f"{name} {dist.version} is installed, the lock pins {pins[name]}"


def test_every_declared_dependency_is_in_the_lock() -> None:
    pins = _locked()
    pyproject = (LOCK.parent / "pyproject.toml").read_text()
    declared = re.findall(r'^\s*"([A-Za-z0-9_.-]+)\s*[<>=!~;\[]', pyproject, flags=re.M)
    assert len(declared) >= 10
    for name in declared:
        assert _canonical(name) in pins, f"pyproject.toml declares {name}, requirements.lock does not pin it"
