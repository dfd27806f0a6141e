"""A Python client for a PMS (not used by the daemon): reconnects, sends the same ``requestId``
again after a dropped connection, answers questions, catches up with ``since``."""

from bridge.client.session import Client, ConnectionLost, RpcError

__all__ = ["Client", "ConnectionLost", "RpcError"]
