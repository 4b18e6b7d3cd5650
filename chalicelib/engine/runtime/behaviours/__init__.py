"""Behaviours: what each BPMN element kind does when a token arrives (and when a waiting one
is triggered), one module per family of kinds.

:mod:`.table` names every behaviour (``BEHAVIOURS``); the session builds the element-class
dispatch table from it and the element registry (:mod:`chalicelib.engine.registry`) and gives
it to the runtime (:class:`~chalicelib.engine.runtime.hooks.Hooks`). This package module
imports nothing, so a behaviour module may import its siblings freely.
"""
