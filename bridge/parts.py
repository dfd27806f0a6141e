"""The daemon's optional parts, each plugged in through :meth:`bridge.daemon.Daemon.add_setup`.

Each part's module has ``install(daemon) -> None`` which decides from the settings whether the
part is on (Healthcode needs ``[healthcode] url``, MQTT needs ``[mqtt] url``) and registers its
setup functions. Keeping the list here keeps ``daemon.py`` free of optional imports.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bridge.daemon import Daemon

__all__ = ["PARTS", "install_parts"]

#: Modules with an ``install(daemon)`` function, in the order they are installed.
PARTS = (
    "bridge.healthcode_service",
    "bridge.observability",
    "bridge.console",
    "bridge.mqtt",
    "bridge.sdnotify",
)


def install_parts(daemon: Daemon) -> None:
    """Install every part that exists in this build."""
    for name in PARTS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue  # not written yet in this build
            raise
        module.install(daemon)
