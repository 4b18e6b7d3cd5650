"""Task instances: commands (``commands``), queries (``queries``), JSON shapes (``shapes``)."""
