"""The campaign's timm sample: every timm family's smallest member, and the median member of the
largest families, 150 models in all.

    python -m benchmarks.real_models.timm_sample OUT.json

A family is a module of `timm.models` (timm.list_modules(): resnet, vision_transformer, convnext, ...);
its members are timm.list_models(module=family). Each member is built on the meta device (no weights)
to count its parameters; members that cannot be built there are built on the CPU when they are small
enough to probe, else left out of the ranking (the output lists them). Per family the sample takes
the member with the fewest parameters and the lower median by parameters (ties broken by name): the
candidates, cached per timm version. `select` then takes every family's smallest member (98 families
in timm 1.0.31) and the median members of the families with the most members (ties by family name)
until the sample has SAMPLE_SIZE models: the big families (vision_transformer, resnet, efficientnet,
convnext, ...) are what most people run, and a second, typical member of them is worth more than one
of a family of three. Each model runs at its own default input size (pretrained_cfg's `input_size`).
The choice depends only on the timm version: the same version gives the same sample.
"""

from __future__ import annotations

import json
import sys
import time
import warnings


def _count(name: str) -> tuple[int, tuple[int, ...]]:
    import timm
    import torch

    try:
        with torch.device("meta"):
            model = timm.create_model(name, pretrained=False)
    except Exception:  # noqa: BLE001 - some constructors compute with tensors; the CPU can
        model = timm.create_model(name, pretrained=False)
    params = sum(p.numel() for p in model.parameters())
    size = tuple(model.pretrained_cfg.get("input_size") or (3, 224, 224))
    return params, size


def sample() -> dict:
    import timm

    families, failures = [], {}
    started = time.perf_counter()
    for family in sorted(timm.list_modules()):
        members = []
        for name in sorted(timm.list_models(module=family)):
            try:
                params, size = _count(name)
            except Exception as exc:  # noqa: BLE001 - recorded, not fatal
                failures[name] = f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
                continue
            members.append({"name": name, "params": params, "input_size": list(size)})
        if not members:
            continue
        members.sort(key=lambda m: (m["params"], m["name"]))
        chosen = [(members[0], "smallest")]
        median = members[(len(members) - 1) // 2]
        if median is not members[0]:
            chosen.append((median, "median"))
        for member, role in chosen:
            families.append({"family": family, "role": role, "members": len(members), **member})
    return {"timm": timm.__version__, "seconds": round(time.perf_counter() - started, 1), "sample": families,
            "not_built": failures}  # fmt: skip


SAMPLE_SIZE = 150


def select(candidates: list[dict], size: int = SAMPLE_SIZE) -> list[dict]:
    """Every family's smallest member, then medians of the largest families until `size` models."""
    smallest = [c for c in candidates if c["role"] == "smallest"]
    medians = sorted((c for c in candidates if c["role"] == "median"), key=lambda c: (-c["members"], c["family"]))
    chosen = smallest + medians[: max(0, size - len(smallest))]
    return sorted(chosen, key=lambda c: (c["family"], c["role"] != "smallest"))


def main() -> None:
    warnings.simplefilter("ignore")
    result = sample()
    with open(sys.argv[1] + ".tmp", "w") as out:
        json.dump(result, out, indent=1)
    import os

    os.replace(sys.argv[1] + ".tmp", sys.argv[1])


if __name__ == "__main__":
    main()
