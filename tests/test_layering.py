"""The package's layers import one way, domains never import each other, and no modules form
an import cycle (DESIGN.md). Imports inside functions count: a lazy import is still an arrow.

    core -> text, video -> domains -> integrations -> train -> eval -> bench -> quickstart, cli
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "rlvr_world"

LAYERS = {
    "core": 0,
    "text": 1,
    "video": 1,
    "domains": 2,
    "integrations": 3,
    "train": 4,
    "eval": 5,
    "bench": 6,
    "quickstart": 7,
    "cli": 7,
    "__init__": 7,
    "__main__": 7,
}
"""Top-level package or module -> its layer: a module imports only its own layer or lower."""


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, name: str) -> set[str]:
    """The `rlvr_world` modules a file imports, anywhere in it (relative imports resolved)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("rlvr_world")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if target.startswith("rlvr_world"):
                out.add(target)
                # `from rlvr_world.x import y` may name a module y
                out |= {f"{target}.{a.name}" for a in node.names}
    return out


def graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in SRC.rglob("*.py")}
    return {
        name: {t for t in imports_of(path, name) if t in modules and t != name}
        for name, path in modules.items()
    }


def layer_of(module: str) -> tuple[str, int]:
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else "__init__"
    return top, LAYERS[top]


def domain_of(module: str) -> str | None:
    """`rlvr_world.domains.web.sim` -> `web`; the domains package itself -> None."""
    parts = module.split(".")
    if len(parts) > 3 and parts[1] == "domains" and (SRC / "domains" / parts[2]).is_dir():
        return parts[2]
    return None


def test_every_top_level_module_has_a_layer():
    tops = {layer_of(m)[0] for m in graph() if len(m.split(".")) > 1} - {"__init__"}
    found = {p.stem for p in SRC.glob("*.py")} | {
        p.name for p in SRC.iterdir() if p.is_dir() and p.name != "__pycache__"
    }
    assert tops <= set(LAYERS)
    assert found <= set(LAYERS)


def test_imports_point_down_the_layers():
    wrong = []
    for module, targets in graph().items():
        top, level = layer_of(module)
        for target in targets:
            target_top, target_level = layer_of(target)
            if target_level > level or {top, target_top} == {"text", "video"}:
                wrong.append(f"{module} -> {target}")
    assert not sorted(wrong), "\n".join(sorted(wrong))


def test_no_domain_imports_another():
    wrong = [
        f"{module} -> {target}"
        for module, targets in graph().items()
        for target in targets
        if domain_of(module) and domain_of(target) and domain_of(module) != domain_of(target)
    ]
    assert not wrong, "\n".join(sorted(wrong))


def test_generic_layers_name_no_domain_module():
    """`train`, `eval` and `cli` reach a domain only through its bundle (`get_domain`)."""
    wrong = [
        f"{module} -> {target}"
        for module, targets in graph().items()
        if layer_of(module)[0] in ("train", "eval", "cli", "quickstart")
        for target in targets
        if domain_of(target)
    ]
    assert not wrong, "\n".join(sorted(wrong))


def strongly_connected(edges: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's components of more than one module (each one an import cycle)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return components


def test_no_import_cycles():
    edges = graph()
    # a package's __init__ re-exporting its own modules is not a cycle of two modules
    for module, targets in edges.items():
        edges[module] = {t for t in targets if not module.startswith(t + ".")}
    assert strongly_connected(edges) == []


@pytest.mark.parametrize(
    "edges, cycles",
    [
        ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
        ({"a": {"b"}, "b": {"a"}}, [["a", "b"]]),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
    ],
)
def test_the_cycle_finder_finds_cycles(edges, cycles):
    assert strongly_connected(edges) == cycles


def test_library_code_never_prints():
    """Only the command line talks to the terminal (a domain's commands get an `echo`)."""
    for path in SRC.rglob("*.py"):
        if path.name == "cli.py":
            continue
        calls = [
            node
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "print"
        ]
        assert not calls, f"{path.relative_to(SRC)} calls print()"
