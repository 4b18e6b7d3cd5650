"""``ItemStore`` over DynamoDB with pynamodb (moto in tests and local mode).

Every DynamoDB call happens while holding ``lock``: moto's in-process DynamoDB is not thread-safe
for transactions, so local mode and threaded tests pass ``aws.moto_lock()``; real AWS passes
nothing (``contextlib.nullcontext()``).

Errors: a failed condition (or a transaction conflict) becomes ``errors.ConcurrencyError``; a
request DynamoDB rejects as malformed becomes ``errors.InternalError``; throttling, service errors
and connection failures become ``errors.ServiceUnavailable``. No botocore or pynamodb exception
leaves this module.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.attributes import Attribute
from pynamodb.exceptions import PynamoDBException, TransactWriteError
from pynamodb.expressions.condition import Condition as PynamoCondition
from pynamodb.transactions import TransactWrite

from ... import errors
from ...settings import Settings
from .. import codec
from .. import keys as key_sizes
from ..codec import Op, RawWrite, Record
from ..ports import (
    COUNTER_KIND,
    Condition,
    Index,
    Item,
    KeyRange,
    MustExist,
    MustNotExist,
    Page,
    Table,
    VersionIs,
    Write,
    decode_token,
    encode_token,
)
from .models import SharedClientConnection, StoredItem, from_record, index_of, model_for, to_record

__all__ = ["DynamoItemStore"]

log = logging.getLogger(__name__)

#: Cancellation reasons that mean "someone else changed the item": reload and retry.
_CONFLICT_REASONS = frozenset({"ConditionalCheckFailed", "TransactionConflict"})
#: pynamodb sends a transaction's actions grouped in this order (``transact_write_items``;
#: updates in the order they were added).
_PYNAMODB_ORDER = {Op.CHECK: 0, Op.DELETE: 1, Op.PUT: 2, Op.SET_VERSION: 3, Op.ADD: 3}


class DynamoItemStore:
    """``ports.ItemStore`` over the stage's four DynamoDB tables."""

    def __init__(self, settings: Settings, *, lock: AbstractContextManager | None = None):
        self._settings = settings
        self._lock = lock if lock is not None else nullcontext()
        self._connection = SharedClientConnection(
            region=settings.region, host=settings.endpoint_url
        )

    def _model(self, table: Table) -> type[StoredItem]:
        return model_for(self._settings, table)

    # --- reads --------------------------------------------------------------------------------

    def get(self, table: Table, pk: str, sk: str) -> Item | None:
        """The item at ``(pk, sk)``, or None (strongly consistent)."""
        if not key_sizes.key_fits(pk, sk):  # longer than any key written
            return None
        model = self._model(table)
        with self._lock, _translated():
            try:
                stored = model.get(pk, sk, consistent_read=True)
            except model.DoesNotExist:
                return None
            record = to_record(stored)
            if record["kind"] == codec.CHUNK_KIND:
                return None
            return codec.assemble([record], lambda p, s: self._chunks(model, p, s))[0]

    def query(
        self,
        table: Table,
        pk: str,
        *,
        sk_prefix: str | None = None,
        limit: int | None = None,
        start: str | None = None,
        descending: bool = False,
    ) -> Page:
        """Items of collection ``pk`` in sort-key order (strongly consistent)."""
        if not key_sizes.key_fits(pk):
            return Page([], None)
        codec.check_limit(limit)
        model = self._model(table)
        condition = model.sk.startswith(sk_prefix) if sk_prefix else None
        start_key = _start_key(start, ("pk", "sk"))
        with self._lock, _translated():
            results = model.query(
                pk,
                condition,
                consistent_read=True,
                scan_index_forward=not descending,
                limit=limit,
                page_size=limit,
                last_evaluated_key=start_key,
            )
            records = [to_record(stored) for stored in results]
            items = codec.assemble(records, lambda p, s: self._chunks(model, p, s))
            return Page(items, _token(results.last_evaluated_key))

    def query_index(
        self,
        table: Table,
        index: Index,
        hash_value: str,
        *,
        key_range: KeyRange | None = None,
        limit: int | None = None,
        start: str | None = None,
        descending: bool = False,
    ) -> Page:
        """Items of one index partition in range-key order (eventually consistent on AWS)."""
        if not key_sizes.index_value_fits(index, hash_value):
            return Page([], None)
        codec.check_limit(limit)
        codec.check_index(table, index)
        model = self._model(table)
        spec = index.spec
        condition = _range_condition(getattr(model, spec.range_attr), key_range)
        start_key = _start_key(start, ("pk", "sk", spec.hash_attr, spec.range_attr))
        with self._lock, _translated():
            results = index_of(model, index).query(
                hash_value,
                condition,
                scan_index_forward=not descending,
                limit=limit,
                page_size=limit,
                last_evaluated_key=start_key,
            )
            records = [to_record(stored) for stored in results]
            items = codec.assemble(records, lambda p, s: self._chunks(model, p, s))
            return Page(items, _token(results.last_evaluated_key))

    def batch_get(self, table: Table, keys: Sequence[tuple[str, str]]) -> list[Item]:
        """The items at ``keys`` that exist, in the order of ``keys`` (strongly consistent;
        pynamodb sends one BatchGetItem per 100 keys and retries unprocessed keys)."""
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return []
        model = self._model(table)
        with self._lock, _translated():
            records = {
                (record["pk"], record["sk"]): record
                for record in (
                    to_record(stored) for stored in model.batch_get(wanted, consistent_read=True)
                )
                if record["kind"] != codec.CHUNK_KIND
            }
            ordered = [records[key] for key in wanted if key in records]
            return codec.assemble(ordered, lambda p, s: self._chunks(model, p, s))

    def _chunks(self, model: type[StoredItem], pk: str, sk: str) -> list[Record]:
        """The chunk records of one item (called with the lock already held)."""
        results = model.query(pk, model.sk.startswith(codec.chunk_prefix(sk)), consistent_read=True)
        return [to_record(stored) for stored in results]

    # --- writes -------------------------------------------------------------------------------

    def transact(self, writes: Sequence[Write], *, token: str | None = None) -> None:
        """Apply ``writes`` all or nothing in one TransactWriteItems."""
        raw = codec.plan(writes)
        sent = sorted(raw, key=lambda w: _PYNAMODB_ORDER[w.op])  # stable: as pynamodb sends
        with self._lock:
            try:
                with TransactWrite(
                    connection=self._connection, client_request_token=token
                ) as transaction:
                    for write in raw:
                        self._add(transaction, write)
            except TransactWriteError as exc:
                raise _transaction_error(exc, sent) from None
            except (PynamoDBException, BotoCoreError, ClientError) as exc:
                raise _domain_error(exc) from None

    def _add(self, transaction: TransactWrite, write: RawWrite) -> None:
        model = self._model(write.table)
        condition = _condition(model, write.condition)
        if write.op is Op.PUT:
            transaction.save(from_record(model, write.put_record()), condition=condition)
        elif write.op is Op.DELETE:
            transaction.delete(
                model(write.pk, write.sk), condition=condition, add_version_condition=False
            )
        elif write.op is Op.CHECK:
            transaction.condition_check(model, write.pk, write.sk, condition=condition)
        elif write.op is Op.ADD:
            transaction.update(
                model(write.pk, write.sk),
                actions=[model.version.add(write.new_version()), model.kind.set(COUNTER_KIND)],
                add_version_condition=False,
            )
        else:
            transaction.update(
                model(write.pk, write.sk),
                actions=[model.version.set(write.new_version())],
                condition=condition,
                add_version_condition=False,
            )

    def batch_put(self, table: Table, items: Iterable[Item]) -> None:
        """Write many items with BatchWriteItem (25 per request; not atomic, no conditions)."""
        model = self._model(table)
        records = codec.plan_batch(table, items)
        with self._lock, _translated():
            with model.batch_write() as batch:
                for record in records:
                    batch.save(from_record(model, record))


# --- translation helpers ---------------------------------------------------------------------


def _condition(model: type[StoredItem], condition: Condition | None) -> PynamoCondition | None:
    if condition is None:
        return None
    if isinstance(condition, MustNotExist):
        return model.pk.does_not_exist()
    if isinstance(condition, MustExist):
        return model.pk.exists()
    if isinstance(condition, VersionIs):
        return model.version == condition.version
    raise TypeError(f"not a condition: {condition!r}")


def _range_condition(
    attribute: Attribute[str], key_range: KeyRange | None
) -> PynamoCondition | None:
    if key_range is None:
        return None
    if key_range.op == "prefix":
        return attribute.startswith(key_range.low or "")
    if key_range.op == "between":
        return attribute.between(key_range.low, key_range.high)
    if key_range.op == "at_most":
        return attribute <= key_range.high
    if key_range.op == "at_least":
        return attribute >= key_range.low
    raise ValueError(f"unknown key range operator {key_range.op!r}")


def _start_key(token: str | None, names: Sequence[str]) -> dict[str, dict[str, str]] | None:
    if token is None:
        return None
    return {name: {"S": value} for name, value in decode_token(token, names).items()}


def _token(last_evaluated_key: dict[str, dict[str, Any]] | None) -> str | None:
    if not last_evaluated_key:
        return None
    return encode_token({name: value["S"] for name, value in last_evaluated_key.items()})


def _error_code(exc: Exception) -> str | None:
    code = getattr(exc, "cause_response_code", None)
    if code is None and isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code")
    return code


def _domain_error(exc: Exception) -> errors.WorkflowError:
    """The domain error for a failed DynamoDB call (logged with its cause)."""
    code = _error_code(exc)
    if code == "ConditionalCheckFailedException":
        return errors.ConcurrencyError()
    if code == "ValidationException":
        log.error("DynamoDB rejected a request: %s", exc)
        return errors.InternalError("The data store rejected the request")
    if code == "IdempotentParameterMismatchException":
        return errors.Conflict("The transaction token was already used for another transaction")
    log.warning("DynamoDB call failed (%s): %s", code, exc)
    return errors.ServiceUnavailable("The data store is unavailable; retry later")


def _transaction_error(exc: TransactWriteError, sent: list[RawWrite]) -> errors.WorkflowError:
    """``ConcurrencyError`` naming the first write whose condition failed, or another error."""
    if exc.cause_response_code == "TransactionCanceledException":
        reasons = list(exc.cancellation_reasons or [])
        for position, reason in enumerate(reasons):
            if reason is not None and reason.code in _CONFLICT_REASONS:
                source = sent[position].source if position < len(sent) else None
                return errors.ConcurrencyError(detail={"write": source, "reason": reason.code})
        codes = sorted({r.code for r in reasons if r is not None})
        if "ValidationError" in codes:
            log.error("DynamoDB rejected a transaction: %s (%s)", exc, codes)
            return errors.InternalError("The data store rejected the request")
        log.warning("DynamoDB transaction cancelled: %s", codes)
        return errors.ServiceUnavailable("The data store is unavailable; retry later")
    return _domain_error(exc)


@contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except (PynamoDBException, BotoCoreError, ClientError) as exc:
        raise _domain_error(exc) from None
