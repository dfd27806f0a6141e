"""Healthcode's adapters: the clearing service over HTTP (transport.py), the V2 APIs (v2.py:
OAuth and discovery; enquiry.py: Find Member; remittances.py: the poller), the reference files
(reference.py), the bill worker (worker.py) and the ``healthcode.*`` methods with their part of
the daemon (service.py). The rules they apply are in the pure :mod:`bridge.healthcode`.
"""
