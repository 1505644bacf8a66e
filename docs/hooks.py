"""MkDocs hook: option tables built from the code at build time, so they never drift.

A page line `<!-- options: SECTION -->` becomes a table (option, default, meaning) of every
`rlvr_world.train.config.describe()` row whose dotted name starts with `SECTION.` (or is
`SECTION`): `rlvr`, `rlvr.loss`, `video`, ... Two special sections: `top-level` (the rows with
no dot) and `all` (a `## SECTION` heading and table for every section, in `describe()` order,
the top-level rows first). Sections are found by prefix, so a domain's own config section
shows up without a change here. A marker that matches no row fails the build, naming the
sections there are.

Two more markers keep the extension guide in step with the code:
`<!-- fields: module:Class -->` becomes a table (field, default, meaning) of a dataclass's
fields and their docstrings, and `<!-- docstring: module:NAME -->` the docstring written under a
module-level name (e.g. `rlvr_world.domains.base:HOOKS`).
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import re

from mkdocs.exceptions import PluginError

MARKER = re.compile(
    r"^<!--\s*(?P<kind>options|fields|docstring):\s*(?P<target>[\w.:\-]+)\s*-->[ \t]*$",
    re.MULTILINE,
)
TOP_LEVEL = "top-level"


def option_rows() -> list[tuple[str, str, str]]:
    """(dotted name, default, doc) of every run-config field."""
    from rlvr_world.train.config import describe

    return describe()


def section_of(name: str) -> str:
    return name.split(".", 1)[0] if "." in name else TOP_LEVEL


def sections(rows: list[tuple[str, str, str]]) -> list[str]:
    """Section names in order of first appearance, the top-level rows' first."""
    names = list(dict.fromkeys(section_of(name) for name, _, _ in rows))
    return sorted(names, key=lambda s: s != TOP_LEVEL)


def select(rows: list[tuple[str, str, str]], section: str) -> list[tuple[str, str, str]]:
    if section == TOP_LEVEL:
        return [row for row in rows if "." not in row[0]]
    return [row for row in rows if row[0] == section or row[0].startswith(section + ".")]


def cell(text: str) -> str:
    """One table cell: whitespace (the docstrings' line breaks) collapsed, pipes escaped."""
    return " ".join(text.split()).replace("|", "\\|")


def table(rows: list[tuple[str, str, str]], first: str = "option") -> str:
    lines = [f"| {first} | default | meaning |", "| --- | --- | --- |"]
    for name, default, doc in rows:
        lines.append(f"| `{name}` | `{cell(default)}` | {cell(doc)} |")
    return "\n".join(lines)


def load(target: str):
    """`"module:NAME"` -> (module, the named object)."""
    module_name, _, name = target.partition(":")
    module = importlib.import_module(module_name)
    return module, getattr(module, name)


def docstrings_after(body: list[ast.stmt]) -> dict[str, str]:
    """Name -> the string literal right after its (annotated) assignment in a block."""
    docs = {}
    for node, following in zip(body, body[1:]):
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        names = [t.id for t in targets if isinstance(t, ast.Name)]
        value = getattr(following, "value", None)
        if names and isinstance(value, ast.Constant) and isinstance(value.value, str):
            docs[names[0]] = inspect.cleandoc(value.value)
    return docs


def dataclass_fields(target: str) -> str:
    _, cls = load(target)
    tree = ast.parse(inspect.getsource(cls))
    docs = docstrings_after(tree.body[0].body)
    rows = []
    for item in dataclasses.fields(cls):
        if item.default is not dataclasses.MISSING:
            default = repr(item.default)
        elif item.default_factory is not dataclasses.MISSING:
            default = repr(item.default_factory())
        else:
            default = "required"
        rows.append((item.name, default, docs.get(item.name, "")))
    return table(rows, first="field")


def attribute_docstring(target: str) -> str:
    module, _ = load(target)
    doc = docstrings_after(ast.parse(inspect.getsource(module)).body).get(target.partition(":")[2])
    if not doc:
        raise PluginError(f"{target} has no docstring under it")
    return doc


def section_doc(section: str) -> str:
    """The docstring of a section's dataclass, when the run config names one; else ''."""
    try:
        from rlvr_world.train import config

        run_config = config.run_config_class() if hasattr(config, "run_config_class") else None
        run_config = run_config or config.RunConfig
        instance = getattr(run_config(), section)
    except Exception:  # a section the run config cannot name: the table alone
        return ""
    if not dataclasses.is_dataclass(instance):
        return ""
    doc = inspect.getdoc(type(instance)) or ""
    generated = doc.startswith(type(instance).__name__ + "(")  # dataclass's own signature text
    return "" if generated else " ".join(doc.split())


def all_sections(rows: list[tuple[str, str, str]]) -> str:
    parts = []
    for section in sections(rows):
        heading = "Top level" if section == TOP_LEVEL else f"`{section}`"
        anchor = TOP_LEVEL if section == TOP_LEVEL else section
        doc = section_doc(section) if section != TOP_LEVEL else ""
        parts.append(f"## {heading} {{#{anchor}}}\n\n" + (f"{doc}\n\n" if doc else ""))
        parts[-1] += table(select(rows, section))
    return "\n\n".join(parts)


def on_page_markdown(markdown: str, page, config, files) -> str:
    if not MARKER.search(markdown):
        return markdown
    rows = option_rows() if "<!-- options:" in markdown else []

    def replace(match: re.Match) -> str:
        kind, section = match.group("kind"), match.group("target")
        if kind == "fields":
            return dataclass_fields(section)
        if kind == "docstring":
            return attribute_docstring(section)
        if section == "all":
            return all_sections(rows)
        chosen = select(rows, section)
        if not chosen:
            known = ", ".join(["all", *sections(rows)])
            raise PluginError(
                f"{page.file.src_path}: no options in section {section!r}; known: {known}"
            )
        return table(chosen)

    return MARKER.sub(replace, markdown)
