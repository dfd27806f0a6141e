"""Metrics and logs: the only code that imports ``prometheus_client``.

:class:`Observability` (entered by the daemon, undone at shutdown) adds:

- ``GET /metrics`` in the Prometheus text format, from the daemon's own
  :class:`~prometheus_client.CollectorRegistry` (no process-global state, so two daemons in one
  test process do not mix). Job counts, the journal's size and the jobs waiting on evidence by
  age (``claimbridge_unknown_jobs{age}``, ``claimbridge_unpaid_bills{age}`` and the oldest of
  each) are figures kept in memory, read again in the background at most every
  :data:`JOURNAL_REFRESH_S` while scrapes come (a scrape never reads the journal): the job counts
  from the journal's ``job_counts``, which its triggers keep in every job write (no scan of the
  jobs), the waiting jobs through the ``(kind, state)`` index; claim latency
  is measured from the hub's ``job.updated`` notifications (``running`` to a final state). Also:
  process and platform metrics, ``claimbridge_build_info{version}``, the MQTT link's
  ``claimbridge_mqtt_connected{broker}``; no ``_created`` series.
- structured logs (:mod:`bridge.logs`): JSON lines, secrets masked in every root handler,
  levels that reach journald;
- :class:`~bridge.logs.RecentLogs`, the last 200 records in memory (``Observability.recent``),
  which the daemon hands to the console.

The CLI should call :func:`configure_logging` instead of ``logging.basicConfig``; when it does
not, :class:`Observability` switches plain stream handlers already on the root logger to JSON.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from prometheus_client import (
    CollectorRegistry,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bridge.errors import TemporarilyUnavailable
from bridge.logs import JsonFormatter, RecentLogs, SecretFilter, configure_logging, mask_secrets
from bridge.jobs import JobKind, JobState
from bridge.journal import Waiting, WaitingJobs
from bridge.pacing import Pacer

if TYPE_CHECKING:
    from websockets.http11 import Request

    from bridge.hub import Hub
    from bridge.journal import Journal
    from bridge.browser.page import Browser
    from bridge.terminals.runner import TerminalWorker

__all__ = [
    "CLAIM_LATENCY_BUCKETS",
    "COUNT_SHARE",
    "JOURNAL_REFRESH_S",
    "MAX_WAITING_SCRAPES",
    "RENDER_REUSE_S",
    "SCRAPE_INTERVAL_S",
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

#: Seconds between readings of the journal for ``/metrics`` (job counts, size, waiting jobs): a
#: scrape answers from the last reading and never reads the journal itself.
JOURNAL_REFRESH_S = 5.0

#: The most of the journal's time the readings for ``/metrics`` may take: the next waits at least
#: the last one's duration / COUNT_SHARE (a guard: with the counts kept by triggers, a reading
#: takes milliseconds whatever the number of jobs).
COUNT_SHARE = 0.02

#: Seconds a rendered ``/metrics`` page is served again to other scrapers (twenty scrapers in
#: a loop cost one rendering, with its reads of /proc, per period).
RENDER_REUSE_S = 1.0

#: Seconds between two scrapes served: scrapes are answered one at a time, at most 5 a second,
#: whoever asks (:class:`~bridge.pacing.Pacer`); more wait their turn. The page is never older
#: than :data:`RENDER_REUSE_S` when it is sent.
SCRAPE_INTERVAL_S = 0.2

#: Scrapes that may wait their turn at once (40 x 0.2 s = 8 s, within the server's 10 s to answer
#: a request); one more is answered 503 "too many scrapes waiting".
MAX_WAITING_SCRAPES = 40

_FINAL_FOR_LATENCY = frozenset(str(s) for s in (JobState.COMPLETED, JobState.FAILED, JobState.UNKNOWN))

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
    #: The installed claimbridge version (``claimbridge_build_info``).
    version: str = ""
    #: MQTT broker URL -> whether the link is connected to it now.
    mqtt: dict[str, bool] = field(default_factory=dict)


@dataclass
class _JournalFigures:
    """What the journal said at its last count (read off the request path, :data:`JOURNAL_REFRESH_S`)."""

    jobs: list[tuple[str, str, str | None, int]] = field(default_factory=list)
    journal_bytes: int = 0
    waiting: list[Waiting] = field(default_factory=list)


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
        info = GaugeMetricFamily("claimbridge_build_info", "The running claimbridge's version (always 1).",
                                 labels=["version"])
        info.add_metric([s.version], 1)
        yield info
        mqtt = GaugeMetricFamily("claimbridge_mqtt_connected", "1 while the MQTT link is connected to the broker.",
                                 labels=["broker"])
        for broker, up in sorted(s.mqtt.items()):
            mqtt.add_metric([broker], int(up))
        yield mqtt


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
        version: str,
    ) -> None:
        self._journal = journal
        self._waiting = WaitingJobs(journal)
        self._now = now
        self._workers = workers
        self._browser = browser
        self._ready = ready
        self._version = version
        #: Broker URL -> connected, asked at each scrape (set by :meth:`Observability.watch_mqtt`).
        self.mqtt_state: Callable[[], Mapping[str, bool]] = dict
        self._figures: _JournalFigures | None = None  # None until the first count is in
        #: The last page served and when (monotonic): scrapes within RENDER_REUSE_S share it.
        self._page: tuple[float, bytes] | None = None
        #: Scrapes one at a time, at most one per SCRAPE_INTERVAL_S (an unauthenticated loop
        #: of requests must not take the event loop from the claims).
        self.pacer = Pacer(SCRAPE_INTERVAL_S, MAX_WAITING_SCRAPES)
        self._counted_at = -JOURNAL_REFRESH_S
        self._counting: asyncio.Task[None] | None = None
        #: Seconds the last count took (the next waits for it / COUNT_SHARE at least).
        self._count_cost = 0.0
        #: A job changed since the last count began (the next scrape past the period recounts).
        self._dirty = True
        self.registry = CollectorRegistry(auto_describe=False)
        self.collector = _DaemonCollector()
        self.registry.register(self.collector)
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        self.claim_latency = Histogram(
            "claimbridge_claim_duration_seconds",
            "HealthPoint claims from running to a final state, by final state.",
            labelnames=["outcome"],
            buckets=CLAIM_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._running_since: dict[str, float] = {}

    def on_notification(self, method: str, params: Mapping[str, object]) -> None:
        """Hub listener: time claims, and log every job change with its ids."""
        if method != "job.updated":
            return
        self._dirty = True
        job = params.get("job")
        if not isinstance(job, Mapping):
            return
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

    async def count(self) -> None:
        """Read the journal's job counts, size and waiting jobs (never on a scrape's path)."""
        journal, figures = self._journal, _JournalFigures()
        started = time.monotonic()
        try:
            figures.jobs = await journal.count_jobs()
            figures.journal_bytes = await journal.size_bytes()
            figures.waiting = await self._waiting.all()
        except TemporarilyUnavailable:  # the disk refuses now: keep the last count, try again later
            self._dirty = True
            return
        finally:
            self._count_cost = time.monotonic() - started
        self._figures = figures

    def _count_soon(self) -> None:
        """Start a count in the background when a job changed since the last one began and that
        was :data:`JOURNAL_REFRESH_S` ago, or longer for a long count (:data:`COUNT_SHARE`): one
        at a time, so twenty scrapers cost one scan per period."""
        if self._counting is not None and not self._counting.done():
            return
        period = max(JOURNAL_REFRESH_S, self._count_cost / COUNT_SHARE)
        if not self._dirty or time.monotonic() - self._counted_at < period:
            return
        self._dirty = False
        self._counted_at = time.monotonic()
        self._counting = asyncio.get_running_loop().create_task(self.count(), name="claimbridge.metrics.count")

    async def stop(self) -> None:
        """Cancel a count in progress (shutdown)."""
        if self._counting is not None:
            self._counting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._counting

    def refresh(self) -> None:
        """The collector's snapshot: the last journal count, and the workers as they are now."""
        self._count_soon()
        journal, browser, figures = self._journal, self._browser, self._figures or _JournalFigures()
        self.collector.snapshot = _Snapshot(
            jobs=figures.jobs, journal_bytes=figures.journal_bytes, waiting=figures.waiting, at=self._now(),
            journal_writable=journal.writable,
            terminals=[(n, w.paired, w.busy, w.ready, w.queued) for n, w in sorted(self._workers.items())],
            browser_up=browser.up, browser_restarts=browser.restarts, ready=self._ready(),
            iclient_reachable=browser.iclient.ok, iclient_outages=browser.iclient.outages,
            version=self._version, mqtt=dict(self.mqtt_state()),
        )

    async def route(self, request: Request) -> tuple[HTTPStatus, bytes, str]:
        """``GET /metrics``: no token (it holds no secrets), text format 0.0.4. Scrapes are
        served one at a time, at most one per :data:`SCRAPE_INTERVAL_S` (the others wait their
        turn); a page rendered within :data:`RENDER_REUSE_S` is served again. Only a scrape
        before the daemon's first count of the journal has finished waits for it."""
        if self.pacer.full():
            return HTTPStatus.SERVICE_UNAVAILABLE, b"too many scrapes waiting; try again in 1 s\n", "text/plain"
        async with self.pacer.turn():
            self._count_soon()
            if self._figures is None and self._counting is not None:
                await asyncio.shield(self._counting)
            page = self._page
            if page is None or time.monotonic() - page[0] >= RENDER_REUSE_S:
                self.refresh()
                page = self._page = (time.monotonic(), generate_latest(self.registry))
            return HTTPStatus.OK, page[1], "text/plain; version=0.0.4; charset=utf-8"


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
        version: the installed version (``claimbridge_build_info``).
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
        version: str = "0+unknown",
    ) -> None:
        self._hub = hub
        disable_created_metrics()  # type: ignore[no-untyped-call]  # no *_created series (process-wide)
        self._metrics = _Metrics(journal, workers, browser, ready, now, version)
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

    def watch_mqtt(self, state: Callable[[], Mapping[str, bool]]) -> None:
        """Report the MQTT link as ``claimbridge_mqtt_connected{broker}``: ``state()`` gives each
        broker URL (no credentials) and whether the link is connected to it, asked at each scrape."""
        self._metrics.mqtt_state = state

    async def __aenter__(self) -> Observability:
        self._hub.listen(self._metrics.on_notification)
        self._metrics.refresh()  # the first count of the journal starts now, off any scrape's path
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
        await self._metrics.stop()
        logging.getLogger("claimbridge").setLevel(self._previous_level)
        root = logging.getLogger()
        root.removeHandler(self.recent)
        for handler in root.handlers:
            handler.removeFilter(self._filter)
        for handler, formatter in self._touched:
            handler.setFormatter(formatter)
        self._touched.clear()
