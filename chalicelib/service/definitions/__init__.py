"""Process definitions: deploy (``deploy``), the per-container cache (``cache``), BPMN models
(``models``), the registry of start events (``start_events``) and reads and queries
(``queries``)."""
