"""Metrics and logs: the only code that imports ``prometheus_client`` or formats log records.

:class:`Observability` (entered by the daemon, undone at shutdown) adds:

- ``GET /metrics`` in the Prometheus text format, from the daemon's own
  :class:`~prometheus_client.CollectorRegistry` (no process-global state, so two daemons in one
  test process do not mix). Job counts come from the journal at scrape time, and so do the
  jobs waiting on evidence by age (``claimbridge_unknown_jobs{age}``,
  ``claimbridge_unpaid_bills{age}`` and the oldest of each); claim latency is measured from the
  hub's ``job.updated`` notifications (``running`` to a final state).
- structured logs: :class:`JsonFormatter` writes one JSON object per line, with ``jobId``,
  ``requestId`` and ``terminal`` when the record carries them (``extra={"jobId": ...}``) or the
  message names a job; :class:`SecretFilter` masks the bearer token, the Healthcode password and
  anything that looks like a credential before any handler sees the record.
- :class:`RecentLogs`, the last 200 records in memory (``Observability.recent``), which the
  daemon hands to the console.

The CLI should call :func:`configure_logging` instead of ``logging.basicConfig``; when it does
not, :class:`Observability` switches plain stream handlers already on the root logger to JSON.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import sys
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bridge.errors import TemporarilyUnavailable
from bridge.jobs import JobKind, JobState
from bridge.journal import Waiting, WaitingJobs

if TYPE_CHECKING:
    from websockets.http11 import Request

    from bridge.hub import Hub
    from bridge.journal import Journal
    from bridge.browser.page import Browser
    from bridge.terminals.runner import TerminalWorker

__all__ = [
    "CLAIM_LATENCY_BUCKETS",
    "JsonFormatter",
    "Observability",
    "RecentLogs",
    "SecretFilter",
    "configure_logging",
    "mask_secrets",
    "secrets_to_mask",
]

log = logging.getLogger("claimbridge.observability")
_job_log = logging.getLogger("claimbridge.jobs")

#: Seconds. A HealthPoint claim takes from a few seconds to a few minutes (the patient answers).
CLAIM_LATENCY_BUCKETS = (1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0, 180.0, 300.0, 600.0)

_FINAL_FOR_LATENCY = frozenset(str(s) for s in (JobState.COMPLETED, JobState.FAILED, JobState.UNKNOWN))
_RECENT_CAPACITY = 200
_MASK = "***"

# -- secrets ---------------------------------------------------------------------------------------

_SECRET_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Authorization: Bearer <token>
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]+"), r"\1 " + _MASK),
    # the browser subprotocol bearer.<token>
    (re.compile(r"(?i)\b(bearer\.)[A-Za-z0-9._~+/=-]+"), r"\1" + _MASK),
    # password=..., "password": "...", apiKey: ..., integrationKey=..., token=...
    (
        re.compile(
            r"""(?ix)
            (["']?\b(?:password|passwd|pwd|secret|token|api[_-]?key|integration[_-]?key|authorization|cookie)
             ["']?\s*[:=]\s*)
            ("[^"]*"|'[^']*'|[^\s,;&}\]]+)
            """
        ),
        r"\1" + _MASK,
    ),
    # user:password@ in URLs
    (re.compile(r"(://[^/\s:@]+:)[^@\s/]+@"), r"\1" + _MASK + "@"),
    # a terminal page's secret in its page-link path (bridge/browser/pagelink.py), e.g. in websockets' debug lines
    (re.compile(r"(/page/)[A-Za-z0-9_-]{16,}"), r"\1" + _MASK),
)


def mask_secrets(text: str, secrets: Iterable[str] = ()) -> str:
    """Replace known secrets and credential-looking values in ``text`` with ``***``.

    Args:
        text: a log message or traceback.
        secrets: literal values to remove wherever they appear (the token, a password).

    Returns:
        The text with every match masked.
    """
    for secret in secrets:
        if secret:
            text = text.replace(secret, _MASK)
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class SecretFilter(logging.Filter):
    """Masks secrets in a record's message and traceback, in place, before any handler sees it.

    Add it to handlers (a filter on a logger does not see records propagated from children).

    Args:
        secrets: literal values to mask (the bearer token, the Healthcode password); values
            shorter than 6 characters are ignored, they would mask ordinary words.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__("claimbridge.secrets")
        self.secrets = tuple(s for s in secrets if len(s) >= 6)

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask and always let the record through."""
        if getattr(record, "_claimbridge_masked", False):
            return True
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep what we have, as text
            message = str(record.msg)
        record.msg = mask_secrets(message, self.secrets)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_secrets(record.exc_text, self.secrets)
        if record.stack_info:
            record.stack_info = mask_secrets(record.stack_info, self.secrets)
        record._claimbridge_masked = True
        return True


# -- JSON lines ------------------------------------------------------------------------------------

_JOB_IN_MESSAGE = re.compile(r"\bjob ([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b")
_ID_FIELDS = (("jobId", "job_id"), ("requestId", "request_id"), ("terminal", "terminal"), ("method", "method"))


def _record_fields(record: logging.LogRecord, message: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
        "level": record.levelname,
        "logger": record.name,
        "msg": message,
    }
    for camel, snake in _ID_FIELDS:
        value = getattr(record, camel, None) or getattr(record, snake, None)
        if value is not None:
            out[camel] = value
    if "jobId" not in out:
        found = _JOB_IN_MESSAGE.search(message)
        if found:
            out["jobId"] = found.group(1)
    for extra in ("kind", "state"):
        value = getattr(record, extra, None)
        if isinstance(value, str):
            out[extra] = value
    return out


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``ts``, ``level``, ``logger``, ``msg``, ids when known, ``exc``."""

    def format(self, record: logging.LogRecord) -> str:
        """Render the record (after :class:`SecretFilter`, which runs in the handler first)."""
        fields = _record_fields(record, record.getMessage())
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            fields["exc"] = record.exc_text
        if record.stack_info:
            fields["stack"] = record.stack_info
        return json.dumps(fields, ensure_ascii=False, default=str)


class RecentLogs(logging.Handler):
    """Keeps the last ``capacity`` records as JSON-able dicts (the console's "recent logs")."""

    def __init__(self, capacity: int = _RECENT_CAPACITY) -> None:
        super().__init__(logging.DEBUG)
        self.records: deque[dict[str, Any]] = deque(maxlen=capacity)

    def emit(self, record: logging.LogRecord) -> None:
        """Store the record (already masked by the handler's :class:`SecretFilter`)."""
        try:
            fields = _record_fields(record, record.getMessage())
            if record.exc_text:
                fields["exc"] = record.exc_text
            self.records.append(fields)
        except Exception:
            self.handleError(record)

    def snapshot(self) -> list[dict[str, Any]]:
        """The records, oldest first."""
        return list(self.records)


def configure_logging(level: str = "INFO", stream: IO[str] | None = None) -> logging.Handler:
    """Log JSON lines to ``stream`` (stderr: journald under systemd) at ``level``.

    Args:
        level: ``DEBUG`` ... ``CRITICAL`` (``log_level`` in the config).
        stream: where to write; stderr by default.

    Returns:
        The handler added to the root logger.
    """
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("websockets").setLevel(logging.WARNING)  # one line per HTTP probe is noise
    return handler


# -- metrics ---------------------------------------------------------------------------------------


@dataclass
class _Snapshot:
    """What the journal and the workers said at the start of a scrape."""

    jobs: list[tuple[str, str, str | None, int]] = field(default_factory=list)
    journal_bytes: int = 0
    terminals: list[tuple[str, bool, bool, bool, int]] = field(default_factory=list)
    browser_up: bool = False
    browser_restarts: int = 0
    iclient_reachable: bool = True
    iclient_outages: int = 0
    ready: bool = False
    journal_writable: bool = False
    #: Jobs waiting on evidence, and when the scrape looked (their ages are counted from it).
    waiting: list[Waiting] = field(default_factory=list)
    at: datetime | None = None


class _DaemonCollector(Collector):
    """Turns the latest :class:`_Snapshot` into metric families."""

    def __init__(self) -> None:
        self.snapshot = _Snapshot()

    def collect(self) -> Iterator[Metric]:
        s = self.snapshot
        jobs = GaugeMetricFamily("claimbridge_jobs", "Jobs in the journal by kind and state.", labels=["kind", "state"])
        bills = GaugeMetricFamily(
            "claimbridge_healthcode_bills", "Healthcode bills in the journal by Healthcode status.", labels=["status"]
        )
        by_kind_state: dict[tuple[str, str], int] = {}
        by_status: dict[str, int] = {}
        for kind, state, status, count in s.jobs:
            by_kind_state[(kind, state)] = by_kind_state.get((kind, state), 0) + count
            if kind == JobKind.HEALTHCODE_BILL:
                key = status or "none"
                by_status[key] = by_status.get(key, 0) + count
        for (kind, state), count in sorted(by_kind_state.items()):
            jobs.add_metric([kind, state], count)
        for status, count in sorted(by_status.items()):
            bills.add_metric([status], count)
        yield jobs
        yield bills
        yield GaugeMetricFamily("claimbridge_journal_size_bytes", "Journal database and WAL size.", value=s.journal_bytes)
        families = {
            "paired": GaugeMetricFamily("claimbridge_terminal_paired", "1 when the terminal is paired.", labels=["terminal"]),
            "busy": GaugeMetricFamily(
                "claimbridge_terminal_busy", "1 while a transaction or pairing runs.", labels=["terminal"]
            ),
            "ready": GaugeMetricFamily(
                "claimbridge_terminal_page_ready", "1 when the terminal's page is loaded.", labels=["terminal"]
            ),
            "queued": GaugeMetricFamily("claimbridge_terminal_queued", "Jobs waiting for the terminal.", labels=["terminal"]),
        }
        for name, paired, busy, ready, queued in s.terminals:
            families["paired"].add_metric([name], int(paired))
            families["busy"].add_metric([name], int(busy))
            families["ready"].add_metric([name], int(ready))
            families["queued"].add_metric([name], queued)
        yield from families.values()
        yield GaugeMetricFamily("claimbridge_browser_up", "1 while headless Chromium runs.", value=int(s.browser_up))
        yield CounterMetricFamily(
            "claimbridge_browser_restarts", "Times Chromium was relaunched after a crash.", value=s.browser_restarts
        )
        yield GaugeMetricFamily(
            "claimbridge_iclient_reachable", "1 while the iClient server answers the pages' requests.",
            value=int(s.iclient_reachable),
        )
        yield CounterMetricFamily(
            "claimbridge_iclient_outages", "Times the iClient server could not be reached.", value=s.iclient_outages
        )
        yield GaugeMetricFamily("claimbridge_ready", "1 when /readyz would answer 200.", value=int(s.ready))
        yield GaugeMetricFamily(
            "claimbridge_journal_writable", "1 when the journal's last write probe succeeded.", value=int(s.journal_writable)
        )
        yield from _waiting_families(s.waiting, s.at)


#: Age bands of jobs waiting on evidence: (label, upper bound in seconds).
AGE_BANDS: tuple[tuple[str, float], ...] = (
    ("under_1h", 3600.0), ("1h_to_1d", 86400.0), ("1d_to_7d", 7 * 86400.0), ("over_7d", float("inf")),
)
_WAITING = {
    "unknown": ("claimbridge_unknown_jobs", "Jobs whose outcome is unknown (waiting on evidence), by how long."),
    "unpaid": ("claimbridge_unpaid_bills", "Collected Healthcode bills no remittance has paid yet, by how long."),
}


def _waiting_families(waiting: list[Waiting], at: datetime | None) -> Iterator[Metric]:
    for kind, (name, doc) in _WAITING.items():
        ages = [max((at - w.since).total_seconds(), 0.0) for w in waiting if w.kind == kind and at is not None]
        bands = GaugeMetricFamily(name, doc, labels=["age"])
        low = 0.0
        for label, high in AGE_BANDS:
            bands.add_metric([label], sum(1 for a in ages if low <= a < high))
            low = high
        yield bands
        yield GaugeMetricFamily(f"{name}_oldest_age_seconds", f"Age of the oldest of {name} (0: none).",
                                value=max(ages, default=0.0))


class _Metrics:
    """The daemon's registry, its scrape-time collector and the claim latency histogram."""

    def __init__(
        self,
        journal: Journal,
        workers: Mapping[str, TerminalWorker],
        browser: Browser,
        ready: Callable[[], bool],
        now: Callable[[], datetime],
    ) -> None:
        self._journal = journal
        self._waiting = WaitingJobs(journal)
        self._now = now
        self._workers = workers
        self._browser = browser
        self._ready = ready
        self.registry = CollectorRegistry(auto_describe=False)
        self.collector = _DaemonCollector()
        self.registry.register(self.collector)
        self.claim_latency = Histogram(
            "claimbridge_claim_duration_seconds",
            "HealthPoint claims from running to a final state, by final state.",
            labelnames=["outcome"],
            buckets=CLAIM_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._running_since: dict[str, float] = {}
    def on_notification(self, method: str, params: Mapping[str, Any]) -> None:
        """Hub listener: time claims, and log every job change with its ids."""
        if method != "job.updated":
            return
        job = params.get("job") or {}
        job_id, state, kind = job.get("jobId"), job.get("state"), job.get("kind")
        if not isinstance(job_id, str) or not isinstance(state, str):
            return
        _job_log.info(
            "job %s %s", job_id, state,
            extra={"jobId": job_id, "requestId": job.get("requestId"), "terminal": job.get("terminal"),
                   "kind": kind, "state": state},
        )
        if kind != JobKind.CLAIM:
            return
        if state == JobState.RUNNING:
            self._running_since[job_id] = time.monotonic()
        elif state in _FINAL_FOR_LATENCY:
            started = self._running_since.pop(job_id, None)
            if started is not None:
                self.claim_latency.labels(outcome=state).observe(time.monotonic() - started)

    async def refresh(self) -> None:
        """Read the journal and the workers into the collector's snapshot."""
        journal, browser = self._journal, self._browser
        snap = _Snapshot()
        with contextlib.suppress(TemporarilyUnavailable):  # a scrape still answers while the disk refuses
            snap.jobs = await journal.count_jobs()
            snap.journal_bytes = await journal.size_bytes()
            snap.waiting = await self._waiting.all()
        snap.at = self._now()
        snap.journal_writable = journal.writable
        snap.terminals = [(n, w.paired, w.busy, w.ready, w.queued) for n, w in sorted(self._workers.items())]
        snap.browser_up = browser.up
        snap.browser_restarts = browser.restarts
        snap.iclient_reachable = browser.iclient.ok
        snap.iclient_outages = browser.iclient.outages
        snap.ready = self._ready()
        self.collector.snapshot = snap

    async def route(self, request: Request) -> tuple[HTTPStatus, bytes, str]:
        """``GET /metrics``: no token (it holds no secrets), text format 0.0.4."""
        await self.refresh()
        return HTTPStatus.OK, generate_latest(self.registry), "text/plain; version=0.0.4; charset=utf-8"


def secrets_to_mask(token: str, api_key: str, password_file: Path | None) -> list[str]:
    """The literal secrets to mask in logs: the bearer token, iClient's API key (unless it is
    the published test key) and the Healthcode password, when its file can be read now."""
    values = [token, api_key]
    if password_file is not None:
        with contextlib.suppress(OSError):
            values.append(password_file.read_text().strip())
    return [v for v in values if v and v != "Test API Key"]


class Observability:
    """Metrics, JSON logs, secret masking and the recent-logs ring, for one daemon.

    Entering it masks secrets in every root handler, switches plain stream handlers to JSON
    lines, adds :attr:`recent` to the root logger, sets ``claimbridge``'s level and starts
    timing claims from the hub; leaving it undoes the logging changes.

    Args:
        journal: job counts and size at scrape time.
        hub: ``job.updated`` notifications (claim latency, one log line per change).
        workers: terminal name -> worker, read at scrape time (the daemon adds to it).
        browser: headless Chromium (up, restarts).
        ready: whether ``/readyz`` would answer 200 now.
        secrets: literal values to mask (:func:`secrets_to_mask`).
        log_level: the ``claimbridge`` loggers' level (``log_level`` in the config).
        now: the business clock the ages of waiting jobs are counted on.
    """

    def __init__(
        self,
        journal: Journal,
        hub: Hub,
        workers: Mapping[str, TerminalWorker],
        browser: Browser,
        ready: Callable[[], bool],
        secrets: Iterable[str],
        log_level: str,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._hub = hub
        self._metrics = _Metrics(journal, workers, browser, ready, now)
        self._filter = SecretFilter(secrets)
        self._log_level = log_level
        #: The last records, masked; the console's "recent logs".
        self.recent = RecentLogs()
        self.recent.addFilter(self._filter)
        self._touched: list[tuple[logging.Handler, logging.Formatter | None]] = []
        self._previous_level = logging.NOTSET

    def routes(self) -> dict[str, Callable[[Request], Awaitable[tuple[HTTPStatus, bytes, str]]]]:
        """``/metrics``, for the server's extra routes."""
        return {"/metrics": self._metrics.route}

    async def __aenter__(self) -> Observability:
        self._hub.listen(self._metrics.on_notification)
        root = logging.getLogger()
        for handler in root.handlers:
            handler.addFilter(self._filter)
            if type(handler) is logging.StreamHandler and not isinstance(handler.formatter, JsonFormatter):
                self._touched.append((handler, handler.formatter))
                handler.setFormatter(JsonFormatter())
        root.addHandler(self.recent)
        ours = logging.getLogger("claimbridge")
        self._previous_level = ours.level
        ours.setLevel(self._log_level)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        logging.getLogger("claimbridge").setLevel(self._previous_level)
        root = logging.getLogger()
        root.removeHandler(self.recent)
        for handler in root.handlers:
            handler.removeFilter(self._filter)
        for handler, formatter in self._touched:
            handler.setFormatter(formatter)
        self._touched.clear()
