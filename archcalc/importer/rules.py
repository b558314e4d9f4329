"""Import rules: which torch modules and functions map to which layer type, and how to read them.

Each layer type declares its rules in its registry entry (`LayerType.torch_import`, next to its
`build_torch`); users add rules for their own modules with `register_import`. This module only holds
the rule format, the `Call` a reader sees, and the lookup:

- a module call matches a rule for its class or a base class, as long as the class does not override
  `forward` (a subclass that computes something else must not be counted as its base);
- a function call matches by the function object itself (`torch.cat`, `F.relu`, `operator.add`,
  `torch.Tensor.view`; torch.fx's method calls are looked up on `torch.Tensor`).

User rules come first, then the registry's; among rules for the same target the first whose `when`
accepts the call wins.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from archcalc.layers import REGISTRY, Shape


class CannotMap(Exception):
    """Raised by a reader when the call uses something the layer type cannot express."""


@dataclass
class Call:
    """One traced call, as a reader sees it.

    `target` is the nn.Module instance (module calls) or the function. Shapes exclude the batch axis;
    `in_shapes` lists the tensor operands in the order they become the layer's inputs.
    """

    target: Any
    args: tuple
    kwargs: dict
    is_module: bool
    in_shapes: list[Shape] = field(default_factory=list)
    out_shape: Shape = ()

    @property
    def module(self) -> Any:
        return self.target if self.is_module else None

    def bind(self, *names: str, **defaults: Any) -> dict[str, Any]:
        """Match the call's arguments to parameter `names` (in positional order); `defaults` fill the
        rest. An argument the rule does not know about is a CannotMap, never silently ignored."""
        if len(self.args) > len(names):
            raise CannotMap(f"takes {len(self.args)} positional arguments, the rule knows {len(names)}")
        bound = dict(zip(names, self.args))
        for key, value in self.kwargs.items():
            if key not in names:
                raise CannotMap(f"argument {key!r} is not understood")
            if key in bound:
                raise CannotMap(f"argument {key!r} given twice")
            bound[key] = value
        for name in names:
            if name not in bound:
                if name not in defaults:
                    raise CannotMap(f"argument {name!r} is missing")
                bound[name] = defaults[name]
        return bound

    def axis(self, dim: int, rank: int | None = None) -> int:
        """A torch dim (counting the batch axis) as a sample axis; the batch axis itself cannot map."""
        rank = (len(self.in_shapes[0]) if self.in_shapes else len(self.out_shape)) + 1 if rank is None else rank
        if not -rank <= dim < rank:
            raise CannotMap(f"dim {dim} is out of range")
        if dim % rank == 0:
            raise CannotMap("works across the batch axis")
        return dim if dim < 0 else dim - 1  # counting from the end means the same without the batch axis


def _no_attrs(call: Call) -> dict:
    return {}


@dataclass(frozen=True)
class ImportRule:
    """Maps torch `modules` (classes) and/or `functions` to the registry layer type `layer`.

    `read(call)` returns the layer's attributes as a spec would write them (validated afterwards by
    the layer type; None means "the default"); it raises CannotMap for configurations the type cannot
    express. `when(call)`
    narrows the rule (for example, archcalc's Padded wrapper maps to conv2d only around a Conv2d).
    """

    layer: str
    modules: tuple[type, ...] = ()
    functions: tuple[Callable, ...] = ()
    read: Callable[[Call], dict] = _no_attrs
    when: Callable[[Call], bool] | None = None
    note: str = ""  # the condition in words, for docs/import.md


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

    def module_rules(self, module: Any) -> list[ImportRule]:
        """Rules for this module's class, or for a base class whose forward it keeps."""
        kind = type(module)
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


def spec_sides(torch_pad: Any) -> list[int]:
    """torch's F.pad order for the last two axes (left, right, top, bottom) -> [top, bottom, left, right]."""
    if len(torch_pad) == 2:  # (left, right) only
        return [0, 0, int(torch_pad[0]), int(torch_pad[1])]
    if len(torch_pad) != 4:
        raise CannotMap(f"pads {len(torch_pad) // 2} axes; only the two spatial axes map")
    left, right, top, bottom = (int(p) for p in torch_pad)
    return [top, bottom, left, right]
