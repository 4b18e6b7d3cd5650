"""The JavaScript preludes of the sandbox, read from the ``.js`` files beside this module.

Each is read once, at first use (not when the package is imported), and ``common.js`` is
spliced in at the ``/*@common*/`` marker of ``fresh.js`` and ``pool.js``.
"""

from __future__ import annotations

import functools

__all__ = ["fresh_prelude", "pool_prelude"]

_COMMON_MARKER = "/*@common*/"


@functools.cache
def _read(name: str) -> str:
    from importlib.resources import files  # first use only: no cost at import

    return files(__package__).joinpath(name).read_text(encoding="utf-8")


@functools.cache
def _prelude(name: str) -> str:
    text = _read(name)
    if _COMMON_MARKER not in text:
        raise RuntimeError(f"{name} lacks the {_COMMON_MARKER} marker")
    return text.replace(_COMMON_MARKER, _read("common.js").rstrip("\n"))


def fresh_prelude() -> str:
    """The prelude of a fresh context (``fresh.js``): an expression returning the JSON list
    of the names it bound as globals."""
    return _prelude("fresh.js")


def pool_prelude() -> str:
    """The prelude of a shared context (``pool.js``): a function of the console limits."""
    return _prelude("pool.js")
