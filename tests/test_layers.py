"""The house rules of the package: layers import only downward, no module imports itself back in a circle,
and the client side (transports, the VEN) never loads the VTN's server package.

The layer order is the one of ARCHITECTURE (docs/architecture.md): a package may import the packages of
lower layers and its own modules, never a package of its own layer or above.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "transactive"

#: bottom to top; packages on one line are siblings and may not import each other
LAYERS: list[set[str]] = [
    {"errors", "_xmlutil"},
    {"model", "market", "schemas"},
    {"calendar", "simulate"},
    {"emix"},
    {"ei"},
    {"codec"},
    {"ledger", "protocol"},
    {"services", "transport"},
    {"ven"},
    {"vtn"},
    {"interop"},
    {"cli"},
]
RANK = {name: n for n, layer in enumerate(LAYERS) for name in layer}


def _modules() -> dict[str, Path]:
    """Module name -> file, for every module of the installed tree (vtn/, ven/, interop/ through their links)."""
    found: dict[str, Path] = {}
    for directory, _dirs, files in os.walk(PACKAGE, followlinks=True):
        for name in files:
            if not name.endswith(".py"):
                continue
            path = Path(directory) / name
            parts = path.relative_to(ROOT).with_suffix("").parts
            module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[module] = path
    return found


MODULES = _modules()


def _imports(module: str, path: Path) -> set[str]:
    """The transactive modules ``module`` imports (anywhere in it: at the top, in functions, under
    TYPE_CHECKING), resolved to modules of the tree."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names.add(base)
            names.update(f"{base}.{a.name}" for a in node.names)  # `from pkg import module`
    return {n for n in names if n in MODULES and n != module}


GRAPH = {module: _imports(module, path) for module, path in MODULES.items()}


def _layer(module: str) -> str | None:
    """A module's layer: the package under transactive (None for the facade and ``python -m transactive``'s
    entry point, transactive/__main__.py, which is the command line's)."""
    parts = module.split(".")
    if module == "transactive.__main__":
        return None
    return parts[1] if len(parts) > 1 else None


def test_every_package_of_the_tree_has_a_layer() -> None:
    packages = {_layer(m) for m in MODULES} - {None}
    assert packages <= set(RANK), f"give these packages a layer in LAYERS: {sorted(packages - set(RANK))}"


def test_imports_point_only_to_lower_layers() -> None:
    upward = []
    for module, imported in GRAPH.items():
        source = _layer(module)
        if source is None:  # transactive/__init__.py, the facade
            continue
        for target in imported:
            layer = _layer(target)
            if layer is None or layer == source:
                continue
            if RANK[layer] >= RANK[source]:
                upward.append(f"{module} -> {target}")
    assert upward == []


def test_no_module_imports_itself_back_through_a_circle() -> None:
    # Tarjan's strongly connected components: any component of more than one module is a circle
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for target in GRAPH[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(GRAPH)))
    for module in sorted(GRAPH):
        if module not in index:
            visit(module)
    assert circles == []


@pytest.mark.parametrize("entry", ["transactive.ven", "transactive.transport.http", "transactive.transport.mqtt",
                                   "transactive.transport.memory", "transactive.protocol"])
def test_the_client_side_loads_nothing_of_the_server(entry: str) -> None:
    code = (f"import sys, {entry}\n"
            "print('\\n'.join(m for m in sys.modules if m.startswith(('transactive.services', 'transactive.vtn'))))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert result.stdout.split() == []


def test_the_architecture_page_shows_these_layers() -> None:
    import re

    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| (\d+) \| (.+?) \| .+ \|$", page, flags=re.MULTILINE)
    documented = [set(re.findall(r"`transactive\.(\w+)`", packages)) for _n, packages in rows]
    assert documented == LAYERS


#: modules allowed past the size limit: data, not logic
DATA_TABLES = {"transactive.ei.oadr.examples"}
#: "no room over about 600 lines" (issue 10)
MAX_LINES = 650


def test_no_module_is_an_oversized_room() -> None:
    sizes = {module: len(path.read_text().splitlines()) for module, path in MODULES.items()}
    big = {module: n for module, n in sizes.items() if n > MAX_LINES and module not in DATA_TABLES}
    assert not big, f"split these modules (one concern each): {big}"
