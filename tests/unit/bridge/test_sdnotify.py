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


async def test_systemd_notifier_life_cycle_over_a_real_socket() -> None:
    import asyncio
    import os
    import socket
    import tempfile
    from pathlib import Path

    from bridge.hub import Hub
    from bridge.sdnotify import SystemdNotifier

    path = Path(tempfile.mkdtemp(prefix="cb-notify-")) / "notify"
    systemd = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    systemd.bind(str(path))
    systemd.setblocking(False)
    loop = asyncio.get_running_loop()

    async def receive() -> dict[str, str]:
        data = await asyncio.wait_for(loop.sock_recv(systemd, 4096), 5)
        return dict(line.split("=", 1) for line in data.decode().split("\n"))

    started, stopping, ready_now = asyncio.Event(), asyncio.Event(), [False]
    notifier = SystemdNotifier(str(path), 0.05, Hub(), {}, lambda: ready_now[0], started, stopping)
    try:
        async with notifier:
            assert await receive() == {"STATUS": "starting"}
            assert await receive() == {"WATCHDOG": "1"}  # from the start: start-up counts too
            following = loop.create_task(notifier.run(), name="test.sdnotify.run")
            started.set()
            ready_now[0] = True
            while "READY" not in (message := await receive()):
                assert message == {"WATCHDOG": "1"}
            assert message["MAINPID"] == str(os.getpid())
            stopping.set()
            while "STOPPING" not in (message := await receive()):
                assert "READY" not in message
            following.cancel()
            await asyncio.gather(following, return_exceptions=True)
        # Leaving it stops the watchdog: systemd sees the pings end with the process's work.
        assert not [t for t in asyncio.all_tasks() if t.get_name() == "claimbridge.sdnotify.watchdog"]
    finally:
        systemd.close()
        path.unlink()
        path.parent.rmdir()


def test_systemd_notifier_refuses_an_unusable_socket_name() -> None:
    import asyncio

    from bridge.hub import Hub
    from bridge.sdnotify import SystemdNotifier

    with pytest.raises(ValueError, match="NOTIFY_SOCKET"):
        SystemdNotifier("relative/path", None, Hub(), {}, lambda: True, asyncio.Event(), asyncio.Event())
