"""The dependency rule of DESIGN.md §1: engine/ and crest/ are pure."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support.env import REPO

FORBIDDEN = {"boto3", "botocore", "pynamodb", "chalice", "moto"}


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("package", ["engine", "crest", "auth"])
def test_pure_packages_import_no_aws_or_framework(package):
    files = sorted((REPO / "chalicelib" / package).rglob("*.py"))
    assert files, f"no modules found in chalicelib/{package}"
    for path in files:
        bad = imported_roots(path) & FORBIDDEN
        assert not bad, f"{path.relative_to(REPO)} imports {sorted(bad)}"


def test_shipped_code_holds_no_benchmark_or_test_code():
    """chalicelib/ ships to Lambda: it neither imports bench/ or tests/ nor holds their code
    (the benchmark workloads are bench/workloads.py)."""
    files = sorted((REPO / "chalicelib").rglob("*.py")) + [REPO / "app.py"]
    for path in files:
        bad = imported_roots(path) & {"bench", "tests", "pytest"}
        assert not bad, f"{path.relative_to(REPO)} imports {sorted(bad)}"
    names = {path.name for path in files}
    assert not {"workloads.py", "conftest.py"} & names
    assert not [name for name in names if name.startswith("test_")]


def test_every_shipped_module_is_loaded_by_an_entry_point(import_graph):
    """No module of chalicelib is there only for tests/ and bench/ (such as the in-memory
    engine world, now tests/support/world.py): app.py or a ``python -m`` entry point loads every
    one, the in-memory storage and messaging adapters excepted."""
    from tests.support.shipping import modules_only_tests_use

    assert not sorted(modules_only_tests_use(import_graph))


def test_a_test_only_module_would_be_found():
    """The check above sees a module that only tests import."""
    from tests.support.shipping import build_graph, modules_only_tests_use

    graph = build_graph()  # a graph of its own: the shared one stays as read
    graph.add_import(
        importer="chalicelib.engine.runtime.world", imported="chalicelib.engine.runtime.session"
    )
    assert modules_only_tests_use(graph) == {"chalicelib.engine.runtime.world"}


def test_importing_pure_packages_loads_no_aws_module():
    import subprocess
    import sys

    code = (
        "import sys, chalicelib.crest, chalicelib.engine, chalicelib.auth;"
        "import pkgutil, importlib\n"
        "for pkg in (chalicelib.crest, chalicelib.engine, chalicelib.auth):\n"
        "    for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "        importlib.import_module(m.name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        f"{sorted(FORBIDDEN)!r})\n"
        "print(','.join(bad))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


def test_http_module_import_is_lazy():
    """Importing the HTTP handler module loads no AWS SDK (clients come on first use), nor
    the executor, the parser or the script interpreter (the first request that needs them
    does): a cold start pays only for routing."""
    import subprocess
    import sys

    heavy = (
        "boto3",
        "botocore",
        "pynamodb",
        "moto",
        "lark",
        "quickjs",
        "lxml",
        "isodate",
        "croniter",
        "chalicelib.engine.runtime.session",
        "chalicelib.engine.parser",
    )
    code = (
        "import os; os.environ.setdefault('WORKFLOW_JOBS_QUEUE', 'q'); import sys, app;"
        f"heavy = {heavy!r};"
        "print(','.join(sorted(m for m in sys.modules "
        "if m in heavy or m.split('.')[0] in heavy)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


# --- import graph ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def import_graph():
    """chalicelib's import graph, imports inside functions included (grimp reads every import
    statement of a module, wherever it stands)."""
    import grimp

    return grimp.build_graph("chalicelib", cache_dir=None)


def import_cycles(graph) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles = []
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            module, successors = work[-1]
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = len(index)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append(
                        (
                            successor,
                            iter(sorted(graph.find_modules_directly_imported_by(successor))),
                        )
                    )
                    break
                if successor in on_stack:
                    low[module] = min(low[module], index[successor])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[module])
                if low[module] == index[module]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == module:
                            break
                    if len(component) > 1:
                        cycles.append(sorted(component))
    return cycles


def test_import_cycles_are_found():
    """The cycle finder itself: a -> b -> c -> a is one cycle, d -> a is none."""
    import grimp

    graph = grimp.ImportGraph()
    for importer, imported in [("a", "b"), ("b", "c"), ("c", "a"), ("d", "a")]:
        graph.add_import(importer=importer, imported=imported)
    assert import_cycles(graph) == [["a", "b", "c"]]


def test_no_import_cycle_in_chalicelib(import_graph):
    cycles = import_cycles(import_graph)
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_layer_contracts_hold():
    """The import-linter contracts of pyproject.toml (layers, a pure core, independent
    resource families) hold."""
    from importlinter.cli import lint_imports

    assert lint_imports(config_filename=str(REPO / "pyproject.toml"), no_cache=True) == 0


def test_only_repositories_build_storage_items():
    """Use cases say what to store; ``service/repositories/`` alone builds the items (their
    keys, kinds and indexes), so the storage layout reads in one place."""
    service = REPO / "chalicelib" / "service"
    builders = []
    for path in sorted(service.rglob("*.py")):
        if "repositories" in path.relative_to(service).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Item":
                builders.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert not builders, f"items built outside service/repositories/: {builders}"


def test_a_broken_layer_contract_fails(tmp_path):
    """The contracts check can fail: routes do import the use cases, so forbidding it breaks."""
    from importlinter.cli import lint_imports

    config = tmp_path / "contracts.toml"
    config.write_text(
        '[tool.importlinter]\nroot_packages = ["chalicelib"]\n\n'
        "[[tool.importlinter.contracts]]\n"
        'name = "routes without use cases"\ntype = "forbidden"\n'
        'source_modules = ["chalicelib.api"]\nforbidden_modules = ["chalicelib.service"]\n'
    )
    assert lint_imports(config_filename=str(config), no_cache=True) == 1


def test_no_test_module_imports_another():
    """Shared test code lives in ``tests/support/``: a test module importing another would run
    (and collect) that module's tests and fixtures where they do not belong."""
    offenders = []
    for path in sorted((REPO / "tests").rglob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            for name in names:
                parts = name.split(".")
                if parts[0] == "tests" and parts[-1].startswith("test_"):
                    offenders.append(f"{path.relative_to(REPO)}: {name}")
    assert offenders == []
