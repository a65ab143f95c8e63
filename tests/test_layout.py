"""The layout's rules, read from the import graph of both packages.

Every ``import`` statement counts: at module level, inside functions and under
``TYPE_CHECKING``. The folders are the layers (ARCHITECTURE.md, "Layout"); a new
module is held to its folder's rule without a list to keep.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"lattice_rt_core": ROOT / "lattice_rt_core",
            "lattice_rt_tray": ROOT / "app" / "lattice_rt_tray"}
QT = {"PySide6", "shiboken6"}


@dataclass
class Module:
    name: str
    path: Path
    ours: set[str] = field(default_factory=set)  # modules of ours it imports, anywhere
    third_party: set[str] = field(default_factory=set)  # top-level names, anywhere
    third_party_top: set[str] = field(default_factory=set)  # the same, at module level only
    relative: list[int] = field(default_factory=list)  # line numbers of relative imports


def _module_name(package: str, base: Path, path: Path) -> str:
    parts = [package, *path.relative_to(base).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(tree: ast.Module) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import statement, and whether it runs when the module is imported."""
    top = {id(node) for node in tree.body}
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node, id(node) in top


@cache
def graph() -> dict[str, Module]:
    modules: dict[str, Module] = {}
    for package, base in PACKAGES.items():
        for path in sorted(base.rglob("*.py")):
            name = _module_name(package, base, path)
            modules[name] = Module(name, path)
    for module in modules.values():
        tree = ast.parse(module.path.read_text(encoding="utf-8"))
        for node, at_top in _imports(tree):
            if isinstance(node, ast.ImportFrom) and node.level:
                module.relative.append(node.lineno)
                continue
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                assert node.module is not None
                subs = [f"{node.module}.{alias.name}" for alias in node.names]
                targets = [s for s in subs if s in modules] or [node.module]
            for target in targets:
                top = target.split(".")[0]
                if top in PACKAGES:
                    module.ours.add(target)
                elif top != "__future__":
                    module.third_party.add(top)
                    if at_top:
                        module.third_party_top.add(top)
    return modules


def _cycles(modules: dict[str, Module]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(name: str) -> None:
        index[name] = low[name] = len(index)
        stack.append(name)
        on_stack.add(name)
        for target in modules[name].ours:
            if target not in modules:
                continue
            if target not in index:
                visit(target)
                low[name] = min(low[name], low[target])
            elif target in on_stack:
                low[name] = min(low[name], index[target])
        if low[name] == index[name]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == name:
                    break
            if len(component) > 1 or name in modules[name].ours:
                found.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for name in sorted(modules):
        if name not in index:
            visit(name)
    return found


# Each module's layer is named by its path: the first folder under the package, or the
# module itself at the package root.
CORE_LAYERS = {
    "protocol": "facts", "version": "facts", "paths": "facts", "store": "store",
    "net": "net", "client": "net",
    "engines": "engines", "auth": "auth", "http": "http",
    "process": "process", "server": "process",
    "cli": "cli", "commands": "cli", "__init__": "root",
}
#: which core layers a core layer may import
CORE_MAY = {
    "facts": {"facts"},
    "store": {"facts"},
    "net": {"facts", "net"},
    "engines": {"facts", "engines"},
    "auth": {"facts", "engines", "auth"},
    "http": {"facts", "net", "engines", "auth", "http"},
    "process": {"facts", "net", "engines", "auth", "http", "process", "store"},
    "cli": {"facts", "net", "engines", "auth", "http", "process", "store", "cli"},
    "root": set(),
}
TRAY_LAYERS = {"logic": "logic", "system": "system", "services": "services", "views": "views"}
#: which tray layers a tray layer may import ("root" is main, controller and their helpers)
TRAY_MAY = {
    "logic": {"logic"},
    "system": {"logic", "system"},
    "services": {"logic", "system", "services"},
    "views": {"logic", "system", "views"},
    "root": {"logic", "system", "services", "views", "root"},
}
#: which core layers a tray layer may use (only the composition root runs a server)
TRAY_MAY_USE_CORE = {
    "logic": {"facts", "net"},
    "system": {"facts", "net"},
    "services": {"facts", "net"},
    "views": {"facts"},
    "root": {"facts", "net", "process", "store", "cli"},
}


def layer(name: str) -> str:
    package, _, rest = name.partition(".")
    first = rest.split(".")[0] if rest else "__init__"
    if package == "lattice_rt_core":
        return CORE_LAYERS[first]
    return TRAY_LAYERS.get(first, "root")


def _package_of(name: str) -> str:
    return name.split(".")[0]


def test_every_module_has_a_layer() -> None:
    for name in graph():
        layer(name)  # KeyError names a core module outside every layer


def test_no_relative_imports() -> None:
    bad = {m.name: m.relative for m in graph().values() if m.relative}
    assert bad == {}


def test_no_import_cycles() -> None:
    assert _cycles(graph()) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    modules = {"a": Module("a", Path("a"), {"b"}), "b": Module("b", Path("b"), {"a"}),
               "c": Module("c", Path("c"), {"a"})}
    assert _cycles(modules) == [["a", "b"]]


def _violations() -> list[str]:
    bad = []
    for module in graph().values():
        mine = layer(module.name)
        for target in module.ours:
            theirs = layer(target)
            if _package_of(module.name) == "lattice_rt_core":
                if _package_of(target) != "lattice_rt_core":
                    bad.append(f"{module.name} -> {target}: the core never imports the tray")
                elif theirs not in CORE_MAY[mine] and target != module.name:
                    bad.append(f"{module.name} ({mine}) -> {target} ({theirs})")
                elif ".engines.local" in module.name and ".engines.redis" in target \
                        or ".engines.redis" in module.name and ".engines.local" in target:
                    bad.append(f"{module.name} -> {target}: one engine never imports the other")
            elif _package_of(target) == "lattice_rt_tray":
                if theirs not in TRAY_MAY[mine]:
                    bad.append(f"{module.name} ({mine}) -> {target} ({theirs})")
            elif theirs not in TRAY_MAY_USE_CORE[mine]:
                bad.append(f"{module.name} ({mine}) -> {target} (core {theirs})")
        if "lattice_rt_core.server" in module.ours and module.name.startswith("lattice_rt_tray") \
                and module.name != "lattice_rt_tray.main":
            bad.append(f"{module.name}: only main.py runs the embedded server")
    return bad


def test_each_layer_imports_only_what_it_may() -> None:
    assert _violations() == []


def _third_party_violations() -> list[str]:
    bad = []
    for module in graph().values():
        mine = layer(module.name)
        core = module.name.startswith("lattice_rt_core")
        if core and module.third_party & QT:
            bad.append(f"{module.name}: Qt in the core")
        if core and "starlette" in module.third_party and mine != "http":
            bad.append(f"{module.name}: starlette outside http/")
        if core and "uvicorn" in module.third_party and mine != "process":
            bad.append(f"{module.name}: uvicorn outside server.py and process/")
        if not core and mine == "logic" and module.third_party & QT:
            bad.append(f"{module.name}: Qt in logic/")
        if not core and mine == "system" and module.third_party_top & QT:
            bad.append(f"{module.name}: Qt at module level in system/")
    return bad


def test_each_layer_uses_only_its_libraries() -> None:
    assert _third_party_violations() == []


def test_every_logger_is_named_after_its_module() -> None:
    """The server's secret redactor covers every module's logger by name (server.py)."""
    bad = []
    for module in graph().values():
        if not module.name.startswith("lattice_rt_core"):
            continue
        tree = ast.parse(module.path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "getLogger":
                arg = node.args[0] if node.args else None
                at_module = any(node is getattr(stmt, "value", None) for stmt in tree.body)
                if at_module and not (isinstance(arg, ast.Name) and arg.id == "__name__"):
                    bad.append(f"{module.name}:{node.lineno}")
    assert bad == []


def test_the_package_inits_import_nothing() -> None:
    """Every ``__init__`` is a docstring, and at the roots, names loaded on first use."""
    for module in graph().values():
        if module.path.name == "__init__.py":
            assert module.ours == set(), module.name


def _loaded_after(statement: str) -> set[str]:
    # an entry of None is a module told never to load (see lattice_rt_core/__init__.py)
    code = (f"{statement}\nimport sys\n"
            "print(' '.join(n for n, m in sys.modules.items() if m is not None))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60, cwd=ROOT)
    return {name.split(".")[0] for name in out.stdout.split()}


HEAVY = {"httpx", "httpx_sse", "starlette", "uvicorn", "sqlite3", "redis", "prometheus_client"}


def test_the_protocol_facts_load_no_http_stack_and_no_qt() -> None:
    facts = sorted(name for name in graph() if layer(name) == "facts")
    loaded = _loaded_after("import " + ", ".join(facts))
    assert loaded & (HEAVY | QT) == set()


@pytest.mark.parametrize("module", ["lattice_rt_core.cli", "lattice_rt_core.client"])
def test_the_client_commands_load_no_server_and_no_http_library(module: str) -> None:
    loaded = _loaded_after(f"import {module}")
    assert loaded & (HEAVY | QT) == set()


def test_the_tray_app_loads_no_http_library() -> None:
    # its client is the standard library's (lattice_rt_core/net/plain.py)
    loaded = _loaded_after("import lattice_rt_tray.main")
    assert loaded & {"httpx", "httpx_sse", "httpcore", "h11", "anyio", "truststore"} == set()
