"""The two-node ejabberd cluster for tests/fleet: skipped, with the reason printed, only where
ejabberd cannot run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fleet.cluster import Cluster, cannot_run_reason


@pytest.fixture
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    reason = cannot_run_reason()
    if reason is not None:
        print(f"\nSKIPPED: the ejabberd cluster cannot run here: {reason}")
        pytest.skip(reason)
    c = Cluster(tmp_path_factory.mktemp("ejabberd"))
    try:
        c.start()
        yield c
    finally:
        c.stop()
