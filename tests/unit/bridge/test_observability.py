"""bridge.observability: secret masking, JSON lines, the recent-logs ring, and the part that sets them up and undoes them."""

import io
import json
import logging
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from bridge.hub import Hub
from bridge.jobs import JobKind, JobState
from bridge.journal import Journal
from bridge.observability import (
    COUNT_SHARE,
    JOURNAL_REFRESH_S,
    JsonFormatter,
    Observability,
    RecentLogs,
    SecretFilter,
    mask_secrets,
    secrets_to_mask,
)
from bridge.browser.page import Browser
from tests.job_requests import outcome, request_for

TOKEN = "s3cr3t-token-AbCdEf0123456789"
JOB = "0b9f6c1e-3c1a-4f7e-9a55-2d1d8f1c7e42"


def _record(msg: str, *args: object, exc: bool = False, **extra: object) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise RuntimeError(f"boom with {TOKEN}")
        except RuntimeError:
            exc_info = sys.exc_info()
    record = logging.LogRecord("claimbridge.test", logging.INFO, __file__, 1, msg, args, exc_info)
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def test_mask_literal_secrets_and_credential_shapes() -> None:
    text = (
        f"token {TOKEN}; Authorization: Bearer abc.def-123; subprotocol bearer.xyz987; "
        'password=hunter22 "password": "pa ss" apiKey=K123 integrationKey: IK-9 '
        "https://user:pw@example.com/x"
    )
    masked = mask_secrets(text, [TOKEN])
    for secret in (TOKEN, "abc.def-123", "xyz987", "hunter22", "pa ss", "K123", "IK-9", "pw@"):
        assert secret not in masked, secret
    assert "bearer.***" in masked
    assert mask_secrets("Bearer abc.def", []) == "Bearer ***"
    assert "https://user:***@example.com/x" in masked
    link = "< GET /page/3q2-_x9ZkQv8Jw0aLm4TtYb7Rr1sNn5Ee6Uu2Ii0Oo8 HTTP/1.1"
    assert mask_secrets(link, []) == "< GET /page/*** HTTP/1.1"


def test_mask_leaves_ordinary_text_alone() -> None:
    text = "ready: ws://127.0.0.1:8765/v1 (token file /var/lib/claimbridge/token)"
    assert mask_secrets(text, []) == text


def test_secret_filter_masks_args_and_traceback() -> None:
    record = _record("connected with %s", TOKEN, exc=True)
    assert SecretFilter([TOKEN]).filter(record) is True
    assert record.getMessage() == "connected with ***"
    assert record.exc_text is not None and TOKEN not in record.exc_text and "RuntimeError" in record.exc_text


def test_secret_filter_ignores_short_literals() -> None:
    record = _record("the key is abc")
    SecretFilter(["abc"]).filter(record)
    assert record.getMessage() == "the key is abc"


def test_json_formatter_one_object_with_ids() -> None:
    line = JsonFormatter().format(_record("claim done", jobId=JOB, requestId="r-1", terminal="front-desk"))
    assert "\n" not in line
    obj = json.loads(line)
    assert obj["level"] == "INFO" and obj["logger"] == "claimbridge.test" and obj["msg"] == "claim done"
    assert (obj["jobId"], obj["requestId"], obj["terminal"]) == (JOB, "r-1", "front-desk")
    assert obj["ts"].endswith("+00:00")


def test_json_formatter_finds_job_id_in_message_and_keeps_exception() -> None:
    record = _record("job %s stays unknown", JOB, exc=True)
    SecretFilter([TOKEN]).filter(record)
    obj = json.loads(JsonFormatter().format(record))
    assert obj["jobId"] == JOB
    assert "RuntimeError" in obj["exc"] and TOKEN not in obj["exc"]


def test_recent_logs_keeps_the_last_n() -> None:
    ring = RecentLogs(capacity=3)
    for i in range(5):
        ring.handle(_record("line %d", i))
    assert [r["msg"] for r in ring.snapshot()] == ["line 2", "line 3", "line 4"]


async def test_observability_sets_logging_up_and_undoes_it(tmp_path: Path) -> None:
    root = logging.getLogger()
    stream = io.StringIO()
    plain = logging.StreamHandler(stream)  # what logging.basicConfig would have added
    root.addHandler(plain)
    secret = "tok-secret-123456"
    try:
        async with Journal(tmp_path / "j.db") as journal:
            obs = Observability(journal, Hub(), {}, Browser(None), lambda: False, [secret], "INFO")
            async with obs:
                logging.getLogger("claimbridge.test").warning("the token %s leaked", secret)
                assert isinstance(plain.formatter, JsonFormatter)
                line = json.loads(stream.getvalue().splitlines()[-1])
                assert line["msg"] == "the token *** leaked"
                assert obs.recent.snapshot()[-1]["msg"] == line["msg"]
                status, body, ctype = await obs.routes()["/metrics"](None)  # type: ignore[arg-type]
                assert status == 200 and ctype.startswith("text/plain; version=0.0.4")
                assert b"claimbridge_ready 0.0" in body and b"claimbridge_journal_writable 1.0" in body
            assert plain.formatter is None and obs.recent not in root.handlers
            assert not [f for f in plain.filters if isinstance(f, SecretFilter)]
    finally:
        root.removeHandler(plain)


def test_secrets_to_mask_reads_the_password_file_and_skips_the_test_key(tmp_path: Path) -> None:
    password = tmp_path / "pw"
    password.write_text("hunter2hunter2\n")
    assert secrets_to_mask("the-token", "Test API Key", password) == ["the-token", "hunter2hunter2"]
    assert secrets_to_mask("", "real-key", tmp_path / "absent") == ["real-key"]


async def test_metrics_count_jobs_waiting_on_evidence_by_age(tmp_path: Path) -> None:
    t0 = datetime(2026, 11, 22, 23, 0, tzinfo=UTC)
    clock = [t0]
    async with Journal(tmp_path / "j.db", clock=lambda: clock[0]) as journal:
        for request_id, kind, final, result in (
            ("u1", JobKind.CLAIM, JobState.UNKNOWN, None),
            ("u2", JobKind.CANCEL, JobState.UNKNOWN, None),
            ("b1", JobKind.HEALTHCODE_BILL, JobState.COMPLETED, {"status": "Collected"}),
        ):
            job, _ = await journal.create_job(kind=kind, request_id=request_id, terminal="t", request=request_for(kind, request_id))
            await journal.move(job.job_id, JobState.RUNNING)
            await journal.move(job.job_id, final, result=outcome(kind, result) if result is not None else None)
            clock[0] += timedelta(days=2)  # u1 waits 6 days at the scrape, u2 4 days, b1 2 days
        obs = Observability(journal, Hub(), {}, Browser(None), lambda: True, [], "INFO", now=lambda: clock[0])
        async with obs:
            _status, body, _ctype = await obs.routes()["/metrics"](None)  # type: ignore[arg-type]
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body.decode()) for s in family.samples
    }
    unknown = {band: samples[("claimbridge_unknown_jobs", (("age", band),))]
               for band in ("under_1h", "1h_to_1d", "1d_to_7d", "over_7d")}
    assert unknown == {"under_1h": 0, "1h_to_1d": 0, "1d_to_7d": 2, "over_7d": 0}
    assert samples[("claimbridge_unknown_jobs_oldest_age_seconds", ())] == 6 * 86400
    assert samples[("claimbridge_unpaid_bills", (("age", "1d_to_7d"),))] == 1
    assert samples[("claimbridge_unpaid_bills_oldest_age_seconds", ())] == 2 * 86400


async def test_a_long_count_of_the_journal_is_redone_less_often(tmp_path: Path) -> None:
    """The counts behind /metrics take at most COUNT_SHARE of the journal's time: after a count
    that took 1 s, the next waits 1 / COUNT_SHARE s, not JOURNAL_REFRESH_S."""
    async with Journal(tmp_path / "j.db") as journal:
        obs = Observability(journal, Hub(), {}, Browser(None), lambda: True, [], "INFO")
        async with obs:
            metrics = obs._metrics
            await obs.routes()["/metrics"](None)  # type: ignore[arg-type]  # the first count is in
            first = metrics._counting
            assert first is not None and first.done()
            metrics._count_cost, metrics._dirty = 1.0, True
            metrics._counted_at = time.monotonic() - 2 * JOURNAL_REFRESH_S
            metrics._count_soon()
            assert metrics._counting is first  # not yet: 1 s of counting buys 1 / COUNT_SHARE s of rest
            metrics._counted_at = time.monotonic() - 1.0 / COUNT_SHARE - 1
            metrics._count_soon()
            assert metrics._counting is not first
            await metrics._counting
