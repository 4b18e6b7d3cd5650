"""Ids, clock, settings and errors: the cross-cutting primitives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from chalicelib import ids
from chalicelib.api.errors import error_envelope, reason_for, status_of
from chalicelib.clock import FixedClock, format_iso, parse_iso
from chalicelib.errors import ConcurrencyError, NotFound, ProcessFailure
from chalicelib.settings import Settings, SettingsError
from tests.support.env import TEST_ENV


def test_ids_are_time_ordered_and_unique():
    made = [ids.new_id() for _ in range(2000)]
    assert len(set(made)) == len(made)
    assert made == sorted(made)
    assert all(ids.is_id(i) and ":" not in i and len(i) == 26 for i in made)


def test_ids_order_by_given_time_even_when_created_out_of_order():
    later = ids.new_id(now_ms=2_000_000_000_000)
    earlier = ids.new_id(now_ms=1_000_000_000_000)  # clock went back: still increasing
    assert earlier > later
    assert ids.new_id(now_ms=3_000_000_000_000) > earlier


def test_child_ids_name_their_instance():
    instance = ids.new_id()
    task = ids.child_id(instance)
    assert ids.instance_of(task) == instance
    assert ids.instance_of(instance) is None
    assert ids.instance_of("not.an-id") is None


def test_fixed_clock_moves_only_when_told():
    clock = FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
    assert clock.now() == clock.now()
    assert clock.advance(seconds=90) == datetime(2026, 1, 1, 0, 1, 30, tzinfo=UTC)


def test_iso_format_is_utc_with_millis_and_z():
    when = datetime(2026, 11, 27, 21, 17, 13, 123456, tzinfo=timezone(timedelta(hours=2)))
    assert format_iso(when) == "2026-11-27T19:17:13.123Z"
    assert format_iso(None) is None


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2026-11-27T19:17:13.123Z", datetime(2026, 11, 27, 19, 17, 13, 123000, UTC)),
        ("2026-11-27T21:17:13+02:00", datetime(2026, 11, 27, 19, 17, 13, tzinfo=UTC)),
        ("2026-11-27", datetime(2026, 11, 27, tzinfo=UTC)),
        ("2026-11-27T19:17:13", datetime(2026, 11, 27, 19, 17, 13, tzinfo=UTC)),
    ],
)
def test_parse_iso_accepts_iso_8601(text, expected):
    assert parse_iso(text) == expected


@pytest.mark.parametrize("text", ["", "yesterday", "2026-13-45", "12/01/2026"])
def test_parse_iso_rejects_garbage(text):
    with pytest.raises(ValueError, match="ISO-8601"):
        parse_iso(text)


def test_settings_read_from_env_with_defaults():
    settings = Settings.from_env(TEST_ENV)
    assert settings.runtime_table == "wf-test-runtime"
    assert settings.max_page_size == 1000
    assert settings.query_read_budget == 500
    assert (
        Settings.from_env(dict(TEST_ENV, WORKFLOW_QUERY_READ_BUDGET=" 40 ")).query_read_budget == 40
    )
    assert settings.history_level == "audit"
    assert settings.jobs_dead_letter_queue == "wf-test-jobs-dlq"
    assert settings.backend == "moto"
    assert settings.script_time_limit_seconds == 1.0
    limited = Settings.from_env(dict(TEST_ENV, WORKFLOW_SCRIPT_TIME_LIMIT_SECONDS="0.25"))
    assert limited.script_time_limit_seconds == 0.25


@pytest.mark.parametrize("missing", ["WORKFLOW_RUNTIME_TABLE", "WORKFLOW_JOBS_QUEUE"])
def test_settings_are_loud_on_missing_values(missing):
    env = {k: v for k, v in TEST_ENV.items() if k != missing}
    with pytest.raises(SettingsError, match=missing):
        Settings.from_env(env)


@pytest.mark.parametrize(
    "name, value",
    [
        ("WORKFLOW_MAX_PAGE_SIZE", "lots"),
        ("WORKFLOW_MAX_PAGE_SIZE", "0"),
        ("WORKFLOW_QUERY_READ_BUDGET", "many"),
        ("WORKFLOW_QUERY_READ_BUDGET", "0"),
        ("WORKFLOW_QUERY_READ_BUDGET", "-5"),
        ("WORKFLOW_QUERY_READ_BUDGET", "2.5"),
        ("WORKFLOW_HISTORY_LEVEL", "verbose"),
        ("WORKFLOW_BACKEND", "azure"),
        ("WORKFLOW_TRUST_AUTHORIZER", "perhaps"),
        ("WORKFLOW_SCRIPT_TIME_LIMIT_SECONDS", "0"),
        ("WORKFLOW_SCRIPT_TIME_LIMIT_SECONDS", "soon"),
        ("WORKFLOW_MAX_JSON_DEPTH", "0"),
        ("WORKFLOW_MAX_VARIABLE_BYTES", "big"),
        ("WORKFLOW_MAX_RESPONSE_BYTES", "-1"),
    ],
)
def test_settings_reject_malformed_values(name, value):
    with pytest.raises(SettingsError, match=name):
        Settings.from_env(dict(TEST_ENV, **{name: value}))


def test_input_limits_have_defaults_and_each_its_setting():
    from chalicelib.limits import DEFAULT_LIMITS, SETTING_NAMES

    assert Settings.from_env(TEST_ENV).limits == DEFAULT_LIMITS
    env = dict(TEST_ENV, WORKFLOW_MAX_JSON_DEPTH="10", WORKFLOW_MAX_KEY_LENGTH="100")
    limits = Settings.from_env(env).limits
    assert (limits.json_depth, limits.key_length) == (10, 100)
    assert limits.variable_bytes == DEFAULT_LIMITS.variable_bytes
    assert all(name.startswith("WORKFLOW_MAX_") for name in SETTING_NAMES.values())


def test_error_envelopes():
    assert error_envelope(NotFound("Resource 'x' not found")) == {
        "code": 404,
        "reason": "Not Found",
        "message": "Resource 'x' not found",
    }
    assert status_of(ConcurrencyError()) == 409
    assert reason_for(418) == "Resource Exception"
    failure = ProcessFailure("no-outgoing-flow", "No outgoing flow", activity_id="gw1")
    assert error_envelope(failure)["detail"] == {"type": "no-outgoing-flow", "activityId": "gw1"}
    assert status_of(failure) == 400
    with pytest.raises(ValueError):
        ProcessFailure("oops", "x")
