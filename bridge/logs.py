"""Logs: one JSON object per line, secrets masked, levels that reach journald.

:class:`JsonFormatter` writes one JSON object per line, with ``jobId``, ``requestId`` and
``terminal`` when the record carries them (``extra={"jobId": ...}``) or the message names a job;
under journald (``$JOURNAL_STREAM`` names the stream, systemd.exec(5)) each line starts with its
syslog priority (``<3>`` an error, ``<4>`` a warning, ``<6>`` info, ``<7>`` debug, sd-daemon(3)),
which journald files the line under and strips. :class:`SecretFilter` masks the bearer token,
the Healthcode password and anything that looks like a credential before any handler sees the
record. :class:`RecentLogs` keeps the last 200 records in memory for the console.
:func:`configure_logging` sets this up for the CLI, with the noisy libraries at WARNING.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from collections import deque
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import IO, Any

__all__ = [
    "NOISY_LOGGERS",
    "JsonFormatter",
    "RecentLogs",
    "SecretFilter",
    "configure_logging",
    "journal_error_line",
    "journald_stream",
    "mask_secrets",
    "syslog_priority",
]

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


def syslog_priority(levelno: int) -> int:
    """The syslog priority of a logging level: 2 critical, 3 error, 4 warning, 6 info, 7 debug."""
    for floor, priority in ((logging.CRITICAL, 2), (logging.ERROR, 3), (logging.WARNING, 4), (logging.INFO, 6)):
        if levelno >= floor:
            return priority
    return 7


def journald_stream(stream: IO[str], environ: Mapping[str, str] = os.environ) -> bool:
    """Whether ``stream`` is connected to journald: systemd sets ``$JOURNAL_STREAM`` to the
    ``DEVICE:INODE`` of the stream it gave the service (systemd.exec(5)); a stream redirected
    elsewhere (a pipe to a file, a terminal) no longer matches."""
    device, _, inode = environ.get("JOURNAL_STREAM", "").partition(":")
    if not (device.isdigit() and inode.isdigit()):
        return False
    try:
        st = os.fstat(stream.fileno())
    except (OSError, ValueError, AttributeError):  # closed, or not a file (a test's StringIO)
        return False
    return (st.st_dev, st.st_ino) == (int(device), int(inode))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``ts``, ``level``, ``logger``, ``msg``, ids when known, ``exc``.

    Args:
        syslog_prefix: start each line with its syslog priority, ``<3>`` for an error, as
            sd-daemon(3) says: journald files the line at that priority (``journalctl -p
            warning`` finds it) and strips the prefix, so ``-o cat`` still shows plain JSON.
    """

    def __init__(self, syslog_prefix: bool = False) -> None:
        super().__init__()
        self.syslog_prefix = syslog_prefix

    def format(self, record: logging.LogRecord) -> str:
        """Render the record (after :class:`SecretFilter`, which runs in the handler first)."""
        fields = _record_fields(record, record.getMessage())
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            fields["exc"] = record.exc_text
        if record.stack_info:
            fields["stack"] = record.stack_info
        line = json.dumps(fields, ensure_ascii=False, default=str)
        return f"<{syslog_priority(record.levelno)}>{line}" if self.syslog_prefix else line


def journal_error_line(logger: str, message: str, stream: IO[str], environ: Mapping[str, str] = os.environ) -> str:
    """``message`` as ``stream`` should carry it: the plain line, or under journald one JSON
    line at priority 3 (so every line of the journal reads as JSON)."""
    if not journald_stream(stream, environ):
        return message
    record = logging.makeLogRecord({"name": logger, "levelno": logging.ERROR, "levelname": "ERROR", "msg": message})
    return JsonFormatter(syslog_prefix=True).format(record)


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


#: Libraries whose INFO and DEBUG lines are noise beside the daemon's own (one line per HTTP
#: request or probe, every websocket frame): only their warnings are logged.
NOISY_LOGGERS = ("websockets", "httpx", "httpcore", "asyncio", "aiohttp", "aiomqtt", "hpack")


def configure_logging(level: str = "INFO", stream: IO[str] | None = None) -> logging.Handler:
    """Log JSON lines to ``stream`` (stderr: journald under systemd) at ``level``; under journald
    each line starts with its syslog priority (:class:`JsonFormatter`).

    Args:
        level: ``DEBUG`` ... ``CRITICAL`` (``log_level`` in the config): the daemon's own
            lines; :data:`NOISY_LOGGERS` log warnings only.
        stream: where to write; stderr by default.

    Returns:
        The handler added to the root logger.
    """
    out = stream if stream is not None else sys.stderr
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter(syslog_prefix=journald_stream(out)))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return handler
