"""SQLite files in the data folder (accounts, conversations): one short transaction per call, so every app
process on the folder can share them; WAL, so readers never wait for a writer."""

from __future__ import annotations

import fcntl
import sqlite3
from contextlib import closing, contextmanager
from pathlib import Path


class Database:
    def __init__(self, path: str | Path, schema: str):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Two processes starting at once must not both switch the journal mode or create tables (SQLite
        # answers "database is locked" without waiting for those): one at a time, under a file lock.
        with open(self.path.with_name(self.path.name + ".init-lock"), "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            with closing(self._connect()) as db:
                db.execute("PRAGMA journal_mode = WAL")
                db.executescript(schema)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.execute("PRAGMA foreign_keys = ON")
        return db

    @contextmanager
    def transaction(self):
        """A connection inside BEGIN IMMEDIATE … COMMIT (rolled back on an exception)."""
        with closing(self._connect()) as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
