"""Events delivered to processes: the execution actions (``actions``, parsed by ``requests``,
aimed by ``targets``), signal broadcasts (``broadcast``), queued deliveries (``deliveries``),
timer start events (``timer_start``), and the ``execution`` query (``queries``)."""
