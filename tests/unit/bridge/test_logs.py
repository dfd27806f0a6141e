"""bridge/logs.py: syslog priorities for journald, and which stream is journald's."""

from __future__ import annotations

import io
import json
import logging
import os
from pathlib import Path

import pytest

from bridge.logs import JsonFormatter, configure_logging, journal_error_line, journald_stream, syslog_priority


@pytest.mark.parametrize(("level", "priority"), [
    (logging.CRITICAL, 2), (logging.ERROR, 3), (logging.WARNING, 4), (logging.INFO, 6), (logging.DEBUG, 7), (5, 7),
])
def test_levels_map_to_syslog_priorities(level: int, priority: int) -> None:
    assert syslog_priority(level) == priority


def _record(level: int, msg: str = "hello") -> logging.LogRecord:
    return logging.makeLogRecord({"name": "claimbridge.test", "levelno": level,
                                  "levelname": logging.getLevelName(level), "msg": msg})


def test_the_prefix_is_only_there_when_asked_and_json_follows_it() -> None:
    line = JsonFormatter(syslog_prefix=True).format(_record(logging.WARNING))
    assert line.startswith("<4>{")
    assert json.loads(line[3:])["level"] == "WARNING"
    assert JsonFormatter().format(_record(logging.WARNING)).startswith("{")


def test_journald_stream_matches_only_the_named_file(tmp_path: Path) -> None:
    named, other = (tmp_path / "a").open("w"), (tmp_path / "b").open("w")
    with named, other:
        st = os.fstat(named.fileno())
        env = {"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"}
        assert journald_stream(named, env)
        assert not journald_stream(other, env)
        assert not journald_stream(named, {})
        assert not journald_stream(named, {"JOURNAL_STREAM": "garbage"})
        assert not journald_stream(io.StringIO(), env)
        assert journal_error_line("claimbridge.cli", "cannot start", other, env) == "cannot start"
        framed = journal_error_line("claimbridge.cli", "cannot start", named, env)
        assert framed.startswith("<3>") and json.loads(framed[3:])["msg"] == "cannot start"


def test_configure_logging_quiets_the_http_libraries() -> None:
    root = logging.getLogger()
    before = (root.level, list(root.handlers))
    handler = configure_logging("DEBUG", io.StringIO())
    try:
        assert logging.getLogger("httpcore").getEffectiveLevel() == logging.WARNING
        assert logging.getLogger("claimbridge.daemon").isEnabledFor(logging.DEBUG)
    finally:
        root.removeHandler(handler)
        root.setLevel(before[0])
