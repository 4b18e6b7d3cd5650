"""Messaging: the ``Publisher`` port (``ports``), its adapters ``sqs`` and ``memory``, and the
jobs-queue message (``job_message``)."""
