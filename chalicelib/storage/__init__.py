"""Storage: the port (``ports``), the aggregate unit of work (``aggregate``), sharded index reads
(``sharding``), and two adapters: ``memory`` and ``dynamo`` (import the one you need; ``dynamo``
pulls in pynamodb and botocore)."""
