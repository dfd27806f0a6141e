"""Chromium's flags: ours first, the configured extras after (no repeats), --no-sandbox for root."""

from __future__ import annotations

import os

from bridge.browser.flags import BROWSER_ARGS, DRIVER_NODE_OPTIONS, driver_node_options, launch_args


def test_the_configured_extras_follow_ours_without_repeats() -> None:
    args = launch_args(("--disable-gpu", "--lang=en-AU"))
    assert args[: len(BROWSER_ARGS)] == list(BROWSER_ARGS)
    assert args.count("--disable-gpu") == 1 and "--lang=en-AU" in args
    assert ("--no-sandbox" in args) is (os.geteuid() == 0)


def test_the_driver_gets_small_semi_spaces_unless_the_operator_set_node_options() -> None:
    assert driver_node_options(None) == driver_node_options("") == DRIVER_NODE_OPTIONS == "--max-semi-space-size=2"
    assert driver_node_options("--max-old-space-size=256") == "--max-old-space-size=256"
