"""The route table: one variable name per level, catch-alls wherever a real route is missing."""

from __future__ import annotations

from chalicelib.api.routing import VARIABLES, catch_all_paths

REAL = [
    "/execution",
    "/job",
    "/job/deadletter",
    "/job/{id}",
    "/job/deadletter/{sub}",
    "/processdefinition",
    "/processdefinition/{id}",
    "/processdefinition/{id}/taskdefinition",
    "/processdefinition/{id}/taskdefinition/{subid}",
]


def test_catch_alls_cover_every_free_level():
    extra = catch_all_paths(REAL)
    assert "" in extra and "/{resource}" in extra
    assert "/execution/{id}" in extra
    assert "/job/{id}/{sub}" in extra and "/job/deadletter/{sub}/{subid}" in extra
    # a parent with only a static child still gets a catch-all beside it
    assert "/processdefinition/{id}/{sub}" in extra
    assert "/processdefinition/{id}/taskdefinition/{subid}/{tail}" in extra
    assert not set(extra) & set(REAL)


def test_no_parent_gets_two_differently_named_variables():
    paths = REAL + catch_all_paths(REAL)
    variables_by_parent: dict[str, set[str]] = {}
    for path in paths:
        if not path:
            continue
        parent, last = path.rsplit("/", 1)
        if last.startswith("{"):
            variables_by_parent.setdefault(parent, set()).add(last)
    assert all(len(names) == 1 for names in variables_by_parent.values()), variables_by_parent


def test_variables_are_named_by_depth():
    for path in REAL + catch_all_paths(REAL):
        for depth, part in enumerate([p for p in path.split("/") if p], start=1):
            if part.startswith("{"):
                assert part == "{" + VARIABLES[depth] + "}", path
