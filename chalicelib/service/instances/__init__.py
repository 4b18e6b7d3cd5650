"""Process instances: start, read, delete (``lifecycle``), migrate (``migrate``), the
``processinstance`` queries (``queries``). Commands run through ``service.unit_of_work``."""
