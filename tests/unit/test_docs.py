"""The README stays short and its map of the code, like every path the docs name, matches the tree."""

from __future__ import annotations

import re

from tests.support.env import REPO

README = REPO / "README.md"
DOCS = sorted((REPO / "docs").glob("*.md"))
#: A repository path in backquotes: `chalicelib/service/jobs/`, `tests/e2e/test_samples.py`.
PATH = re.compile(r"`((?:app\.py|chalicelib|tests|bench|workflow|docs)(?:/[\w.\-]+)*/?)`")


def code_map() -> list[str]:
    """The first word of every line of the README's "Map of the code" block."""
    section = README.read_text().split("## Map of the code", 1)[1]
    block = section.split("```", 2)[1]
    return [line.split()[0] for line in block.splitlines()[1:] if line.strip() and line[0] != " "]


def test_readme_is_under_200_lines():
    assert len(README.read_text().splitlines()) < 200


def test_every_path_of_the_map_exists():
    entries = code_map()
    assert len(entries) > 10
    missing = [entry for entry in entries if not (REPO / entry).exists()]
    assert not missing, f"the README's map names paths that do not exist: {missing}"


def test_the_map_names_every_package_of_chalicelib():
    named = {entry.rstrip("/") for entry in code_map()}
    packages = sorted(
        str(init.parent.relative_to(REPO))
        for init in (REPO / "chalicelib").rglob("__init__.py")
        if len(init.relative_to(REPO / "chalicelib").parts) <= 3
    )
    unnamed = [package for package in packages if package not in named]
    assert not unnamed, f"packages missing from the README's map: {unnamed}"


def test_every_path_the_docs_name_exists():
    ignored = set((REPO / ".gitignore").read_text().split())  # files a deployer provides
    missing = []
    for doc in [README, *DOCS]:
        for path in PATH.findall(doc.read_text()):
            if path not in ignored and not (REPO / path).exists():
                missing.append(f"{doc.name}: {path}")
    assert not missing, "\n".join(missing)
