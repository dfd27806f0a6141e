"""Two clustered ejabberd nodes on loopback, run as the current user from a temporary directory.

Debian's ejabberd (``make test`` installs it) is started without ``ejabberdctl`` (which would
switch to the ``ejabberd`` system user and its files): each node is ``erl -sname NAME -s
ejabberd`` with its own config, spool (Mnesia) and log in the temp dir, the Erlang distribution
and epmd on 127.0.0.1 only, and one listener: ``mod_mqtt`` (MQTT 5) on a free loopback port.
The second node joins the first with ejabberd's own ``join_cluster`` command; a user for the
clinic's daemon and one for the cloud PMS are registered (Mnesia, shared by the cluster).
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["EJABBERD_LIBS", "Cluster", "Node", "cannot_run_reason"]

ERL = Path("/usr/bin/erl")
EJABBERD_LIBS = Path("/usr/lib/x86_64-linux-gnu")
USERS = {"clinic": "clinic-broker-pw", "cloud": "cloud-broker-pw"}


def cannot_run_reason() -> str | None:
    """Why ejabberd cannot run here, or None."""
    if not ERL.exists():
        return "Erlang (/usr/bin/erl) is not installed: make test installs Debian's ejabberd"
    if not any(EJABBERD_LIBS.glob("ejabberd-*/ebin/ejabberd.app")):
        return f"Debian's ejabberd is not installed (no ejabberd-*/ebin under {EJABBERD_LIBS}): make test installs it"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _config(mqtt_port: int, log_path: Path) -> str:
    return "\n".join([
        "loglevel: info",
        "hosts:",
        "  - localhost",
        "auth_method: [internal]",
        "listen:",
        "  -",
        f"    port: {mqtt_port}",
        '    ip: "127.0.0.1"',
        "    module: mod_mqtt",
        "    backlog: 1000",
        "acl:",
        "  local:",
        '    user_regexp: ""',
        "access_rules:",
        "  local:",
        "    allow: local",
        "modules:",
        "  mod_mqtt: {}",
        "",
    ])


@dataclass
class Node:
    """One ejabberd node."""

    name: str
    workdir: Path
    mqtt_port: int
    cookie: str
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.mqtt_port}"

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "ERL_LIBS": str(EJABBERD_LIBS),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "EJABBERD_CONFIG_PATH": str(self.workdir / "ejabberd.yml"),
            "EJABBERD_LOG_PATH": str(self.workdir / "ejabberd.log"),
            "EJABBERD_PID_PATH": str(self.workdir / "ejabberd.pid"),
            "CONTRIB_MODULES_PATH": str(self.workdir / "contrib"),
            "HOME": str(self.workdir),
        }

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "ejabberd.yml").write_text(_config(self.mqtt_port, self.workdir / "ejabberd.log"))
        out = open(self.workdir / "erl.out", "ab")  # noqa: SIM115 - the child keeps it
        self.proc = subprocess.Popen(
            [str(ERL), "-sname", self.name, "-setcookie", self.cookie, "-noinput",
             "-kernel", "inet_dist_use_interface", "{127,0,0,1}",
             "-mnesia", "dir", f'"{self.workdir / "spool"}"', "-s", "ejabberd"],
            cwd=self.workdir, env=self.env(), stdout=out, stderr=subprocess.STDOUT,
        )
        out.close()
        deadline = time.monotonic() + 60
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.mqtt_port)) == 0:
                    return
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"ejabberd node {self.name} did not start: {self.log()[-3000:]}")
            time.sleep(0.1)

    def kill(self) -> None:
        """The node crashes (SIGKILL): its sessions die with it."""
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
            self.proc = None

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    def log(self) -> str:
        parts = [p.read_text(errors="replace") for p in (self.workdir / "erl.out", self.workdir / "ejabberd.log")
                 if p.exists()]
        return "\n".join(parts)


@dataclass
class Cluster:
    """Two nodes, the second joined to the first."""

    workdir: Path
    nodes: list[Node] = field(default_factory=list)

    def __post_init__(self) -> None:
        tag = secrets.token_hex(3)
        cookie = secrets.token_hex(16)
        self.nodes = [Node(f"ejabberd{i}-{tag}@localhost", self.workdir / f"node{i}", _free_port(), cookie)
                      for i in (1, 2)]

    def ctl(self, node: Node, *args: str) -> str:
        """Run an ejabberd command on ``node`` (what ejabberdctl does, as the current user)."""
        ctl_name = f"ctl-{secrets.token_hex(3)}@localhost"
        out = subprocess.run(
            [str(ERL), "-sname", ctl_name, "-setcookie", node.cookie, "-hidden", "-noinput",
             "-kernel", "inet_dist_use_interface", "{127,0,0,1}",
             "-s", "ejabberd_ctl", "-extra", node.name, *args],
            env=node.env(), capture_output=True, text=True, timeout=120,
        )
        if out.returncode != 0:
            raise RuntimeError(f"ejabberd {' '.join(args)} on {node.name} failed ({out.returncode}): "
                               f"{out.stdout}{out.stderr}")
        return out.stdout

    def start(self) -> None:
        first, second = self.nodes
        first.start()
        second.start()
        self.ctl(second, "join_cluster", first.name)
        deadline = time.monotonic() + 60
        while True:  # join_cluster restarts the second node's ejabberd: wait for its listener
            members = self.ctl(first, "list_cluster")
            with socket.socket() as s:
                up = s.connect_ex(("127.0.0.1", second.mqtt_port)) == 0
            if up and second.name in members:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"the cluster did not form: {members}")
            time.sleep(0.2)
        for user, password in USERS.items():
            self.ctl(first, "register", user, "localhost", password)

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def remove(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)
