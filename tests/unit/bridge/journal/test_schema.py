"""bridge/journal/schema.py: the schema applied to a real SQLite file (twice: opening again must
not fail), and the row encoding the journal relies on."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from bridge.journal.schema import SCHEMA, dumps, iso, job_filters, loads, payload_digest

TABLES = {"jobs", "job_events", "terminals", "probe", "reconciliations", "pairings", "meta"}


def test_the_schema_creates_every_table_and_can_run_again(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "j.db") as db:
        db.executescript(SCHEMA)
        db.execute(
            "INSERT INTO jobs (job_id, request_id, kind, state, digest, request, created_at, updated_at)"
            " VALUES ('j', 'r', 'claim', 'queued', 'd', '{}', 'a', 'a')"
        )
        db.executescript(SCHEMA)  # every journal open runs it: existing rows stay
        names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert TABLES <= names
        assert db.execute("SELECT COUNT(*) FROM jobs").fetchone()[0] == 1


def test_request_ids_are_unique_and_the_probe_has_one_row(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "j.db") as db:
        db.executescript(SCHEMA)
        insert = (
            "INSERT INTO jobs (job_id, request_id, kind, state, digest, request, created_at, updated_at)"
            " VALUES (?, 'same', 'claim', 'queued', 'd', '{}', 'a', 'a')"
        )
        db.execute(insert, ("j1",))
        with pytest.raises(sqlite3.IntegrityError):
            db.execute(insert, ("j2",))
        with pytest.raises(sqlite3.IntegrityError):
            db.execute("INSERT INTO probe (id, at) VALUES (2, 'a')")


def test_payload_digest_ignores_key_order_but_not_values() -> None:
    assert payload_digest({"a": 1, "b": [1, 2]}) == payload_digest({"b": [1, 2], "a": 1})
    assert payload_digest({"a": 1}) != payload_digest({"a": 2})
    assert len(payload_digest({})) == 64


def test_iso_stores_utc_with_microseconds() -> None:
    sydney = timezone(timedelta(hours=11))
    assert iso(datetime(2026, 11, 23, 10, 0, tzinfo=sydney)) == "2026-11-22T23:00:00.000000+00:00"


def test_json_columns_round_trip_and_null_stays_null() -> None:
    assert dumps(None) is None and loads(None) is None
    assert dumps({"b": 1, "a": [2]}) == '{"b":1,"a":[2]}'
    assert loads(dumps({"x": "é"})) == {"x": "é"}


def test_job_filters_give_a_clause_per_filter_given() -> None:
    assert job_filters(None, None) == ([], [])
    assert job_filters("front-desk", "claim") == (["terminal = ?", "kind = ?"], ["front-desk", "claim"])
    assert job_filters(None, "healthcodeBill") == (["kind = ?"], ["healthcodeBill"])
