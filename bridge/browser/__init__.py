"""The browser wing: Chromium and one page per terminal (page.py: launch, load, crash, probe),
the loopback link the pages talk to the daemon over (pagelink.py) and the host page they load
(host/). Playwright is imported here and nowhere else in the daemon.
"""
