"""The in-memory publisher and the delay rule of the messaging port."""

from __future__ import annotations

import threading

import pytest

from chalicelib.messaging.memory import MemoryPublisher
from chalicelib.messaging.ports import MessageTooLarge, Publisher, clamp_delay


@pytest.mark.parametrize(
    "given, expected",
    [
        (0, 0),
        (-3, 0),
        (0.2, 1),
        (2, 2),
        (2.01, 3),
        (900, 900),
        (901, 900),
        (86_400, 900),
    ],
)
def test_delay_is_whole_seconds_rounded_up_and_clamped(given, expected):
    assert clamp_delay(given) == expected


def test_records_and_drains_per_queue():
    publisher = MemoryPublisher()
    assert isinstance(publisher, Publisher)
    first = publisher.send("jobs", {"jobId": "a"}, delay_seconds=12.5)
    ids = publisher.send_batch("jobs", [{"jobId": str(n)} for n in range(12)])
    publisher.send("other", {"x": 1})
    assert len(ids) == 12 and len(set(ids + [first])) == 13
    assert len(publisher.messages("jobs")) == 13  # peeking leaves them
    drained = publisher.drain("jobs")
    assert [m.body["jobId"] for m in drained] == ["a"] + [str(n) for n in range(12)]
    assert drained[0].delay_seconds == 13 and drained[0].message_id == first
    assert drained[1].delay_seconds == 0
    assert publisher.drain("jobs") == [] and len(publisher.drain("other")) == 1


def test_bodies_go_through_json_and_size_is_checked():
    publisher = MemoryPublisher()
    body = {"n": 1}
    publisher.send("q", body)
    body["n"] = 2
    assert publisher.drain("q")[0].body == {"n": 1}
    with pytest.raises(TypeError):
        publisher.send("q", {"when": object()})
    with pytest.raises(MessageTooLarge):
        publisher.send("q", {"blob": "x" * 300_000})


def test_thread_safe():
    publisher = MemoryPublisher()
    threads = [
        threading.Thread(target=lambda: [publisher.send("q", {}) for _ in range(50)])
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(publisher.drain("q")) == 400


def test_a_message_keeps_its_attributes():
    publisher = MemoryPublisher()
    publisher.send("out", {"e": 1}, attributes={"region": "emea", "priority": 2})
    publisher.send("out", {"e": 2})
    first, second = publisher.drain("out")
    assert first.attributes == {"region": "emea", "priority": 2}
    assert second.attributes == {}


def test_sqs_attributes_are_typed_and_none_is_left_out():
    from chalicelib.messaging.sqs import message_attributes

    assert message_attributes(
        {"a": "x", "n": 12, "f": 1.5, "b": True, "o": {"k": 1}, "none": None}
    ) == {
        "a": {"DataType": "String", "StringValue": "x"},
        "n": {"DataType": "Number", "StringValue": "12"},
        "f": {"DataType": "Number", "StringValue": "1.5"},
        "b": {"DataType": "String", "StringValue": "true"},
        "o": {"DataType": "String", "StringValue": '{"k": 1}'},
    }
