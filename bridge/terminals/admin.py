"""Pairing a terminal and forgetting its pairing (``terminal.pair``, ``terminal.unpair``).

A name already paired to one mid/tid is moved to another only with ``replace: true`` (else
-32004 ``alreadyPaired``): pairing ``front-desk`` with TID 4 must never silently take it from
TID 1. Moving or forgetting a pairing is refused (-32004 ``terminalBusy``) while a job of the
terminal is queued or running: the job would go to another terminal or none. Each change is
recorded in the journal's history (:class:`~bridge.journal.pairings.PairingChanges`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bridge.errors import NotAllowedNow
from bridge.hub import Hub, Peer
from bridge.journal import Journal
from bridge.journal.pairing_history import PairingChanges
from bridge.protocol import PairResult, TerminalPairParams, UnpairResult
from bridge.terminals.runner import TerminalWorker

__all__ = ["TerminalAdmin", "refuse_busy"]


def refuse_busy(worker: TerminalWorker | None, what: str) -> None:
    """Raise -32004 ``terminalBusy`` when a job of ``worker`` is running or waiting."""
    if worker is not None and (worker.busy or worker.queued):
        raise NotAllowedNow(
            "terminalBusy", f"terminal {worker.name!r} has a job running or waiting: {what} once it is idle",
            {"terminal": worker.name, "busy": worker.busy, "queued": worker.queued},
        )


class TerminalAdmin:
    """``terminal.pair`` and ``terminal.unpair``.

    Args:
        journal: where pairings live.
        hub: ``terminal.pairing`` progress goes to the caller.
        workers: terminal name -> worker (the daemon's live table).
        new_worker: makes a worker for a terminal ``terminal.pair`` names for the first time.
        gate: raises -32005 when the terminal cannot take work now (the iClient server
            unreachable: pairing fails at once, naming it).
        configured: the terminals the configuration names (one that it does not name leaves
            the daemon's table, its page closed, when it is unpaired).
    """

    def __init__(
        self,
        journal: Journal,
        hub: Hub,
        workers: dict[str, TerminalWorker],
        new_worker: Callable[[str, int, int], Awaitable[TerminalWorker]],
        gate: Callable[[str | None], None],
        configured: frozenset[str] = frozenset(),
    ) -> None:
        self.journal = journal
        self.hub = hub
        self.workers = workers
        self._new_worker = new_worker
        self._gate = gate
        self._configured = configured
        self.changes = PairingChanges(journal)

    async def pair(self, params: TerminalPairParams, peer: Peer | None) -> PairResult:
        """Pair (creating the terminal if it is new; the journal remembers it)."""
        before = await self.journal.pairing(params.terminal)
        worker = self.workers.get(params.terminal)
        if before is not None and (before.mid, before.tid) != (params.mid, params.tid):
            if not params.replace:
                raise NotAllowedNow(
                    "alreadyPaired",
                    f"terminal {params.terminal!r} is paired to mid {before.mid} tid {before.tid}; "
                    "pair it again with replace: true to move it (or unpair it first)",
                    {"terminal": params.terminal, "mid": before.mid, "tid": before.tid},
                )
            refuse_busy(worker, "re-pair it")
        self._gate(params.terminal)
        if peer is not None:
            self.hub.subscribe(peer, ["terminal.pairing"])
        if worker is None:
            await self.journal.remember_terminal(params.terminal, params.mid, params.tid)
            worker = await self._new_worker(params.terminal, params.mid, params.tid)
        result = PairResult.model_validate(await worker.pair(params.mid, params.tid))
        if result.status == "success":
            await self.changes.paired(params.terminal, before)
        return result

    async def unpair(self, worker: TerminalWorker) -> UnpairResult:
        """Forget the terminal's pairing; a terminal the configuration does not name leaves
        ``terminal.list``."""
        refuse_busy(worker, "unpair it")
        async with worker.lock:  # no job or pairing starts while the keys go
            before = await self.changes.forget(worker.name)
            worker.forget_pairing()
        if worker.name not in self._configured and self.workers.pop(worker.name, None) is not None:
            await worker.page.close()
        return UnpairResult(
            terminal=worker.name, wasPaired=before is not None,
            mid=before.mid if before else None, tid=before.tid if before else None,
        )
