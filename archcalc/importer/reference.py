"""The mapping table of docs/import.md, generated from the registry's import rules (so it never drifts)."""

from __future__ import annotations

from archcalc.importer.rules import qualified_name
from archcalc.layers import REGISTRY

BEGIN, END = "<!-- BEGIN generated import table -->", "<!-- END generated import table -->"


def _module_name(cls: type) -> str:
    if cls.__module__.startswith("torch.nn"):
        return f"nn.{cls.__qualname__}"
    if cls.__module__.startswith("archcalc."):
        return f"archcalc's {cls.__qualname__}"
    return f"{cls.__module__}.{cls.__qualname__}"


def _function_name(function: object) -> str:
    return qualified_name(function).replace("torch.nn.functional.", "F.")


def import_table_markdown() -> str:
    lines = [BEGIN, "| layer type | torch modules | functions and tensor methods |", "|---|---|---|"]
    for name in sorted(REGISTRY):
        modules: list[str] = []
        functions: list[str] = []
        for rule in REGISTRY[name].torch_import():
            note = f" ({rule.note})" if rule.note else ""
            modules += [f"`{_module_name(cls)}`{note}" for cls in rule.modules]
            functions += [f"`{_function_name(function)}`{note}" for function in rule.functions]
            when_loaded = f" (when {{}} is imported{'; ' + rule.note if rule.note else ''})"
            for dotted in rule.foreign:  # by name: the table must not depend on what happens to be imported
                listed = modules if dotted.rpartition(".")[2][:1].isupper() else functions
                listed.append(f"`{dotted}`" + when_loaded.format(dotted.split(".")[0]))
        alias = REGISTRY[name].imported_as
        none = f"- (they import as `{alias}`)" if alias else "-"
        lines.append(f"| `{name}` | {', '.join(dict.fromkeys(modules)) or none} "
                     f"| {', '.join(dict.fromkeys(functions)) or none} |")  # fmt: skip
    return "\n".join(lines + [END])
