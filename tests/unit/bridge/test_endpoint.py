"""bridge/endpoint.py: the token file, the listen address, the early bind."""

import asyncio
import socket
import stat
from pathlib import Path

import pytest

from bridge.endpoint import bind_socket, ensure_token, split_listen
from bridge.errors import CannotStart


def test_token_created_once_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "state" / "token"
    token = ensure_token(path)
    assert len(token) >= 32 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert ensure_token(path) == token


def test_a_too_open_token_file_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("existing-token-value\n")
    path.chmod(0o644)
    assert ensure_token(path) == "existing-token-value"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize(("listen", "expected"), [
    ("127.0.0.1:8765", ("127.0.0.1", 8765)), ("[::1]:9000", ("::1", 9000)), (":8765", ("127.0.0.1", 8765)),
])
def test_split_listen(listen: str, expected: tuple[str, int]) -> None:
    assert split_listen(listen) == expected


def test_a_port_in_use_cannot_be_bound_and_says_so_in_one_line() -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    try:
        with pytest.raises(CannotStart) as refused:
            bind_socket("127.0.0.1", taken.getsockname()[1])
        line = str(refused.value)
        assert str(taken.getsockname()[1]) in line and "\n" not in line
    finally:
        taken.close()


def test_make_private_closes_the_state_directory_and_the_journal(tmp_path) -> None:
    import os

    from bridge.endpoint import make_private

    state = tmp_path / "var"
    state.mkdir(mode=0o755)
    os.chmod(state, 0o755)
    for name in ("claimbridge.db", "claimbridge.db-wal"):
        (state / name).write_text("")
        os.chmod(state / name, 0o644)
    make_private(state)
    assert state.stat().st_mode & 0o777 == 0o700
    assert all((state / n).stat().st_mode & 0o777 == 0o600 for n in ("claimbridge.db", "claimbridge.db-wal"))
    assert not (state / "claimbridge.db-shm").exists(), "files not there are not made"


async def test_connections_accepted_on_the_bound_socket_send_small_frames_at_once() -> None:
    """Nagle's algorithm off on every accepted connection (asyncio does it only for a socket
    made as TCP): otherwise a second small frame waits for the client's delayed ACK."""
    seen: list[int] = []

    async def accepted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(writer.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        writer.close()

    server = await asyncio.start_server(accepted, sock=bind_socket("127.0.0.1", 0))
    try:
        port = server.sockets[0].getsockname()[1]
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(100):
            if seen:
                break
            await asyncio.sleep(0.01)
        writer.close()
    finally:
        server.close()
        await server.wait_closed()
    assert seen and seen[0] != 0
