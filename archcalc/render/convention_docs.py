"""The per-tool rule tables of docs/conventions.md, generated from the profiles (tests keep them current)."""

from __future__ import annotations

from archcalc.conventions import PROFILES

BEGIN, END = "<!-- rules:begin (generated from archcalc/conventions/*_rules.py) -->", "<!-- rules:end -->"


def rules_reference_markdown() -> str:
    """For each convention: its headline call, then the layer types grouped by how the tool counts them."""
    lines = [BEGIN]
    for profile in PROFILES.values():
        lines += ["", f"### {profile.name}", "", f"`{profile.headline}`: {profile.unit} ({profile.tool}).", "",
                  "| archcalc layer types | what the tool counts |", "|---|---|"]  # fmt: skip
        groups: dict[str, list[str]] = {}
        for type_name in sorted(profile.rules):
            groups.setdefault(profile.rules[type_name].text, []).append(type_name)
        for text, types in groups.items():
            lines.append(f"| {', '.join(f'`{t}`' for t in types)} | {text} |")
        invoked: dict[str, list[str]] = {}  # the layers a spec marks `call: function | method | operator`
        for (type_name, call), rule in sorted(profile.invoked_rules.items()):
            invoked.setdefault(rule.text, []).append(f"`{type_name}` ({call})")
        lines += ["", "Invoked as a function, method or operator (`call:`):", "",
                  "| archcalc layer types (call form) | what the tool counts |", "|---|---|"]  # fmt: skip
        lines += [f"| {', '.join(types)} | {text} |" for text, types in invoked.items()]
    return "\n".join(lines + ["", END]) + "\n"


def replace_rules_section(document: str) -> str:
    """`document` with its generated section rewritten."""
    start, stop = document.index(BEGIN), document.index(END) + len(END) + 1
    return document[:start] + rules_reference_markdown() + document[stop:]
