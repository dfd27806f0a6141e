import asyncio, socket, os, tempfile, time, pytest
from pathlib import Path
from tests.daemon_harness import make_settings, start_daemon, stop_daemon, FRONT_DESK
from tests.e2e.test_sdnotify_daemon import Listener

async def test_dbg(tmp_path, sim, monkeypatch):
    name = "dbgsock%d" % os.getpid()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); sock.bind(b"\0"+name.encode()); sock.setblocking(False)
    monkeypatch.setenv("NOTIFY_SOCKET", "@"+name)
    l = Listener(sock); t = asyncio.get_running_loop().create_task(l.run())
    running = await start_daemon(make_settings(tmp_path, sim), sim)
    await asyncio.sleep(2)
    d = running.daemon
    print("tasks", sorted(x.get_name() for x in asyncio.all_tasks()))
    print("workers", {n:(w.ready, w.paired) for n,w in d.workers.items()}, d.browser.up)
    print("msgs", l.messages)
    await stop_daemon(running)
