"""Messaging: the ``Publisher`` port (``ports``) and its adapters, ``sqs`` and ``memory``."""
