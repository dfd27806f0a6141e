"""The journal: one SQLite file holding every job, its audit trail and every pairing.

:class:`Journal` (:mod:`~bridge.journal.store`) is the store the daemon opens; the records it
hands out are pure (:mod:`~bridge.journal.records`); the reconciliation keeps its own store on
the same connection (:mod:`~bridge.journal.reconciliations`), and so do the links between jobs
(:mod:`~bridge.journal.links`) and the jobs waiting on evidence (:mod:`~bridge.journal.ages`). Inside: the schema and row encoding
(:mod:`~bridge.journal.schema`), the one thread every call runs on (:mod:`~bridge.journal.thread`)
and the writes held while the disk refuses them (:mod:`~bridge.journal.held`).
"""

from bridge.journal.ages import Waiting, WaitingJobs
from bridge.journal.links import JobLinks
from bridge.journal.records import (
    NOT_UTF8,
    JobRecord,
    PairingRecord,
    StoredRow,
    TerminalRecord,
    decode_every_job,
    decode_jobs,
    job_from_row,
    pairing_from_row,
)
from bridge.journal.reconciliations import ReconciliationStore
from bridge.journal.store import Journal
from bridge.journal.thread import LANE, JournalThread, Rider

__all__ = [
    "JobLinks",
    "JobRecord",
    "Journal",
    "JournalThread",
    "LANE",
    "NOT_UTF8",
    "PairingRecord",
    "ReconciliationStore",
    "Rider",
    "StoredRow",
    "TerminalRecord",
    "Waiting",
    "WaitingJobs",
    "decode_every_job",
    "decode_jobs",
    "job_from_row",
    "pairing_from_row",
]
