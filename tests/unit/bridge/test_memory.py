"""release_free_memory: glibc gives freed pages back (this machine is glibc)."""

from __future__ import annotations

from pathlib import Path

from bridge.memory import release_free_memory


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_freed_blocks_scattered_between_live_ones_are_given_back() -> None:
    # 40 MB in 20 KB blocks (below glibc's mmap threshold: they come from the heap), every
    # 50th kept alive: the free space is between live blocks, where glibc keeps it by itself.
    blocks = [bytearray(20_000) for _ in range(2000)]
    kept = blocks[::50]
    del blocks
    before = _rss_kib()
    assert release_free_memory()
    after = _rss_kib()
    assert before - after > 10_000, (before, after)
    assert len(kept) == 40
