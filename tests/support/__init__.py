"""Helpers shared by test modules: processes to deploy, REST calls, the launcher, engine drivers.

Test modules import from here, never from one another.
"""
