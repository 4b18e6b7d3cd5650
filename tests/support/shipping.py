"""Which modules of chalicelib/ the shipped entry points load, and which only tests use.

chalicelib/ ships whole to Lambda, so a module there that only tests/ and bench/ import is test
code in the package. :func:`modules_only_tests_use` finds such modules: every module of
chalicelib that ``app.py`` (the Lambda handlers) and the ``python -m`` entry points
(``chalicelib.local``, ``chalicelib.deploy``) cannot reach by their imports. grimp reads every
import statement, those inside functions included; the names a package exports lazily
(``chalicelib.lazy``) count as imports of their modules, and importing a module loads its
parent packages.
"""

from __future__ import annotations

import ast
import importlib

from tests.support.env import REPO

# The in-memory adapters of the storage and messaging ports, kept by design beside the AWS ones
# (one storage contract suite runs on both stores) although only tests pick them today.
IN_MEMORY_ADAPTERS = frozenset({"chalicelib.storage.memory", "chalicelib.messaging.memory"})


def build_graph():
    """chalicelib's import graph (grimp)."""
    import grimp

    return grimp.build_graph("chalicelib", cache_dir=None)


def entry_modules(graph) -> set[str]:
    """The modules of chalicelib that ``app.py`` imports, and every ``__main__`` module."""
    tree = ast.parse((REPO / "app.py").read_text(), filename="app.py")
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    found |= {module for module in graph.modules if module.endswith(".__main__")}
    return found & set(graph.modules)


def lazy_exports_of(graph, package: str) -> set[str]:
    """The modules whose names ``package`` exports lazily (its ``_MODULE_OF`` table)."""
    if not graph.direct_import_exists(importer=package, imported="chalicelib.lazy"):
        return set()
    module_of = getattr(importlib.import_module(package), "_MODULE_OF", None)
    assert isinstance(module_of, dict), f"{package} uses chalicelib.lazy without _MODULE_OF"
    return {f"{package}.{module}" for module in module_of.values()}


def reachable_from_entry_points(graph) -> set[str]:
    """Every module of chalicelib that the entry points load, directly or not."""
    seen: set[str] = set()
    todo = sorted(entry_modules(graph))
    assert "chalicelib.workers.entry" in todo, todo  # app.py was read
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        successors = set(graph.find_modules_directly_imported_by(module))
        successors |= lazy_exports_of(graph, module)
        if "." in module:
            successors.add(module.rpartition(".")[0])
        todo.extend(sorted((successors & set(graph.modules)) - seen))
    return seen


def modules_only_tests_use(graph=None) -> set[str]:
    """Modules of chalicelib that no entry point loads (the in-memory adapters excepted)."""
    graph = graph or build_graph()
    assert IN_MEMORY_ADAPTERS <= set(graph.modules), "an in-memory adapter moved: update the list"
    return set(graph.modules) - reachable_from_entry_points(graph) - IN_MEMORY_ADAPTERS
