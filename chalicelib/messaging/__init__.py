"""Messaging: the ``Publisher`` port (``ports``), its adapters ``sqs`` and ``memory``, the
jobs-queue message (``job_message``), and the ``Mailer`` port (``mail``) with its adapter
``ses``."""
