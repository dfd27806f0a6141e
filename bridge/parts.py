"""The daemon's optional parts, each plugged in through :meth:`bridge.daemon.Daemon.add_setup`.

Each part's module has ``install(daemon) -> None`` which registers its setup functions. A part
that needs configuration (Healthcode needs ``[healthcode] url``, MQTT needs ``[mqtt] url``) is
not even imported without it: their libraries (httpx, aiomqtt) cost start-up time for nothing.
Keeping the list here keeps ``daemon.py`` free of optional imports.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bridge.config import Settings
    from bridge.daemon import Daemon

__all__ = ["PARTS", "install_parts"]


def _always(settings: Settings) -> bool:
    return True


#: (module with an ``install(daemon)`` function, whether the settings turn it on), in order.
PARTS: tuple[tuple[str, Callable[[Settings], bool]], ...] = (
    ("bridge.healthcode.service", lambda s: bool(s.healthcode.url)),
    ("bridge.observability", _always),
    ("bridge.console", _always),
    ("bridge.mqtt.link", lambda s: bool(s.mqtt.url)),
    ("bridge.sdnotify", _always),
    ("bridge.reconciler", _always),
)


def install_parts(daemon: Daemon) -> None:
    """Install every part the settings turn on."""
    for name, wanted in PARTS:
        if wanted(daemon.settings):
            importlib.import_module(name).install(daemon)
