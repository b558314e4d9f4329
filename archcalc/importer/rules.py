"""Import rules: which torch modules and functions map to which layer type, and how to read them.

Each layer type declares its rules in its registry entry (`LayerType.torch_import`, next to its
`build_torch`); users add rules for their own modules with `register_import`. This module holds the
lookup (the rule format, `ImportRule`, and the `Call` a reader sees are in archcalc/layers/imports.py):

- a module call matches a rule for its class or a base class, as long as the class does not override
  `forward` (a subclass that computes something else must not be counted as its base);
- a function call matches by the function object itself (`torch.cat`, `F.relu`, `operator.add`,
  `torch.Tensor.view`; torch.fx's method calls are looked up on `torch.Tensor`).

User rules come first, then the registry's; among rules for the same target the first whose `when`
accepts the call wins.
"""

from __future__ import annotations

from typing import Any

from archcalc.layers import REGISTRY
# The rule format lives beside the layer types that declare rules (archcalc/layers/imports.py).
from archcalc.layers.imports import Call, CannotMap, ImportRule, spec_sides


_USER_RULES: list[ImportRule] = []


def register_import(rule: ImportRule) -> ImportRule:
    """Add a rule for your own module class or function; it takes precedence over the built-in rules."""
    if rule.layer not in REGISTRY:
        from archcalc.errors import ArchcalcError, closest

        raise ArchcalcError(f"import rule for unknown layer type {rule.layer!r}{closest(rule.layer, list(REGISTRY))}")
    if not rule.modules and not rule.functions:
        raise ValueError("an ImportRule needs at least one module class or function")
    _USER_RULES.insert(0, rule)
    return rule


def unregister_import(rule: ImportRule) -> None:
    _USER_RULES.remove(rule)


class RuleTable:
    """Every rule, indexed by module class and by function."""

    def __init__(self) -> None:
        self.by_module: dict[type, list[ImportRule]] = {}
        self.by_function: dict[Any, list[ImportRule]] = {}
        rules = list(_USER_RULES)
        for layer in REGISTRY.values():
            rules.extend(layer.torch_import())
        for rule in rules:
            for cls in rule.modules:
                self.by_module.setdefault(cls, []).append(rule)
            for function in rule.functions:
                self.by_function.setdefault(function, []).append(rule)
            for target in filter(None, map(loaded, rule.foreign)):
                table = self.by_module if isinstance(target, type) else self.by_function
                table.setdefault(target, []).append(rule)

    def module_rules(self, module: Any) -> list[ImportRule]:
        """Rules for this module's class, or for a base class whose forward it keeps (for archcalc's
        wrapper of a layer invoked as a function, `torch_modules.Invoked`: its inner module's)."""
        kind = type(unwrap(module)[0])
        for cls in kind.__mro__:
            rules = self.by_module.get(cls)
            if rules and getattr(kind, "forward", None) is getattr(cls, "forward", None):
                return rules
        return []

    def function_rules(self, function: Any) -> list[ImportRule]:
        try:
            return self.by_function.get(function, [])
        except TypeError:  # an unhashable callable
            return []


def unwrap(module: Any) -> tuple[Any, str]:
    """(the module a call reads, its call form): archcalc's build of a layer invoked as a function, method or
    operator (a spec's `call:`) wraps the layer's module in `Invoked`; every other module is itself."""
    from archcalc.torch_modules import Invoked

    return (module.inner, module.call) if isinstance(module, Invoked) else (module, "module")


def call_form(target: Any) -> str:
    """How a traced function call invokes its layer (graph.CALLS): a Tensor method (`x.mean`), an operator
    (`x + y`, torch.fx's operator.add or Tensor.__add__) or a function (F.relu, torch.cat)."""
    name = qualified_name(target)
    if name.startswith("operator.") or name.rsplit(".", 1)[-1].startswith("__"):
        return "operator"
    return "method" if name.startswith("torch.Tensor.") else "function"


def loaded(dotted: str) -> Any:
    """The class or function `package.module.Name` if its module is already imported, else None."""
    import sys

    module, _, name = dotted.rpartition(".")
    return getattr(sys.modules.get(module), name, None)


def method(name: str) -> Any:
    """torch.fx records `x.view(...)` as the method name; the rules are keyed by `torch.Tensor.view`."""
    import torch

    return getattr(torch.Tensor, name, name)


def qualified_name(target: Any, is_module: bool = False) -> str:
    """`torch.nn.modules.conv.Conv2d`, `mypkg.models.Swizzle`, `torch.cat`, `torch.Tensor.view`."""
    if is_module:
        kind = type(target)
        return f"{kind.__module__}.{kind.__qualname__}"
    if type(target).__module__ == "torch._ops":  # torch.ops.aten.relu and its overloads
        return f"torch.ops.{target}"
    qualname = getattr(target, "__qualname__", None) or getattr(target, "__name__", None) or repr(target)
    if "<locals>" in qualname:  # a wrapper made by a factory (F.max_pool2d): its __name__ is the public one
        qualname = getattr(target, "__name__", qualname)
    module = getattr(target, "__module__", None)
    if module == "torch._C._nn":  # F.avg_pool2d, F.gelu: C functions exposed in torch.nn.functional
        module = "torch.nn.functional"
    if qualname.startswith(("TensorBase.", "_TensorBase.", "getset_descriptor.")):
        return "torch.Tensor." + qualname.split(".", 1)[1]
    if qualname.startswith("_VariableFunctionsClass."):
        return "torch." + qualname.split(".", 1)[1]
    if module and module.startswith("torch._C._") and module.count(".") == 2:  # torch._C._fft.fft_rfft2
        module = "torch." + module.rsplit("._", 1)[1]
        qualname = qualname.removeprefix(module.rsplit(".", 1)[1] + "_")
    elif module is None or module.startswith("torch._C"):
        module = "torch"
    module = module.lstrip("_") if module in ("_operator", "_functools") else module
    return qualname if module == "builtins" else f"{module}.{qualname}"


__all__ = ["Call", "CannotMap", "ImportRule", "RuleTable", "call_form", "method", "qualified_name",
           "register_import", "spec_sides", "unregister_import", "unwrap"]
