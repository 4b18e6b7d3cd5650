"""DynamoDB adapter of the storage port (pynamodb; moto in tests and local mode)."""

from .store import DynamoItemStore
from .tables import create_tables, delete_tables

#: Alias used by the composition root (``bootstrap.py``).
DynamoStore = DynamoItemStore

__all__ = ["DynamoItemStore", "DynamoStore", "create_tables", "delete_tables"]
