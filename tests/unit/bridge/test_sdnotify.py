"""bridge.sdnotify's pure part: message formatting, addresses, watchdog period, status lines."""

import pytest

from bridge.sdnotify import TerminalStatus, format_message, socket_address, status_line, watchdog_interval


def test_format_message_keeps_order_and_joins_with_newlines() -> None:
    assert format_message({"READY": 1, "STATUS": "ready; front-desk: idle"}) == b"READY=1\nSTATUS=ready; front-desk: idle"


def test_format_message_encodes_utf8() -> None:
    assert format_message({"STATUS": "caf\u00e9"}) == "STATUS=caf\u00e9".encode()


@pytest.mark.parametrize("fields", [{}, {"ready": 1}, {"": 1}, {"A B": 1}, {"STATUS": "two\nlines"}])
def test_format_message_refuses_what_would_break_the_protocol(fields: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        format_message(fields)  # type: ignore[arg-type]


def test_socket_address_path_and_abstract() -> None:
    assert socket_address("/run/systemd/notify") == "/run/systemd/notify"
    assert socket_address("@claimbridge/notify") == b"\0claimbridge/notify"


@pytest.mark.parametrize("value", ["", "@", "relative/path", "vsock:2:1234"])
def test_socket_address_refuses_others(value: str) -> None:
    with pytest.raises(ValueError):
        socket_address(value)


def test_watchdog_interval_is_half_the_period() -> None:
    assert watchdog_interval({"WATCHDOG_USEC": "30000000"}, pid=7) == 15.0
    assert watchdog_interval({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "7"}, pid=7) == 15.0


@pytest.mark.parametrize(
    "environ",
    [{}, {"WATCHDOG_USEC": "0"}, {"WATCHDOG_USEC": "abc"}, {"WATCHDOG_USEC": "1000", "WATCHDOG_PID": "8"},
     {"WATCHDOG_USEC": "1000", "WATCHDOG_PID": "x"}],
)
def test_watchdog_interval_off(environ: dict[str, str]) -> None:
    assert watchdog_interval(environ, pid=7) is None


def test_status_line_names_each_terminal_state() -> None:
    terminals = [
        TerminalStatus("a", paired=True, ready=True, busy=False, queued=0),
        TerminalStatus("b", paired=True, ready=True, busy=True, queued=2),
        TerminalStatus("c", paired=False, ready=True, busy=False, queued=0),
        TerminalStatus("d", paired=True, ready=False, busy=False, queued=1),
    ]
    assert status_line(terminals, ready=True) == (
        "ready; a: idle; b: busy, 2 queued; c: not paired; d: page not loaded, 1 queued"
    )


def test_status_line_heads() -> None:
    assert status_line([], ready=False) == "starting; no terminals configured"
    assert status_line([], ready=True, stopping=True).startswith("stopping")
