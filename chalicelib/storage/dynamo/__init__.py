"""DynamoDB adapter of the storage port (pynamodb; moto in tests and local mode)."""

from .store import DynamoItemStore
from .tables import add_index, create_tables, delete_tables, missing_indexes

#: Alias used by the composition root (``bootstrap.py``).
DynamoStore = DynamoItemStore

__all__ = [
    "DynamoItemStore",
    "DynamoStore",
    "add_index",
    "create_tables",
    "delete_tables",
    "missing_indexes",
]
