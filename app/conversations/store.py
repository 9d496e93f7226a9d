"""Conversations in SQLite (standard library) in the data folder: every turn keeps its question, the answer with
its sources and citation checks (the Answer as JSON), so a reopened chat shows what was shown then."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from app.database import Database

_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY, owner TEXT NOT NULL, title TEXT NOT NULL, created REAL NOT NULL, updated REAL NOT NULL);
CREATE INDEX IF NOT EXISTS conversations_owner ON conversations (owner, updated);
CREATE TABLE IF NOT EXISTS turns (
    conversation TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE, number INTEGER NOT NULL,
    question TEXT NOT NULL, answer TEXT NOT NULL, at REAL NOT NULL, PRIMARY KEY (conversation, number));
"""
TITLE_CHARS = 80


@dataclass(frozen=True)
class Conversation:
    id: str
    owner: str
    title: str
    created: float
    updated: float
    turns: int


@dataclass(frozen=True)
class Turn:
    number: int
    question: str
    answer: dict  # app.answering.answer.Answer.to_dict()
    at: float


class ConversationNotFound(KeyError):
    """No such conversation for this owner (another user's is reported the same way)."""


class ConversationStore:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.db = Database(self.path, _SCHEMA)

    def _db(self):
        return self.db.transaction()

    def _owned(self, db, conversation_id: str, owner: str) -> None:
        if not db.execute("SELECT 1 FROM conversations WHERE id = ? AND owner = ?",
                          (conversation_id, owner)).fetchone():
            raise ConversationNotFound(conversation_id)

    def add_turn(self, owner: str, conversation_id: str | None, question: str, answer: dict) -> str:
        """Append a turn; a new conversation (titled by its first question) when `conversation_id` is None.
        Returns the conversation's id."""
        now = time.time()
        with self._db() as db:
            if conversation_id is None:
                conversation_id = uuid.uuid4().hex[:16]
                title = " ".join(question.split())[:TITLE_CHARS] or "(untitled)"
                db.execute("INSERT INTO conversations VALUES (?, ?, ?, ?, ?)",
                           (conversation_id, owner, title, now, now))
            else:
                self._owned(db, conversation_id, owner)
                db.execute("UPDATE conversations SET updated = ? WHERE id = ?", (now, conversation_id))
            number = db.execute("SELECT COALESCE(MAX(number), 0) + 1 FROM turns WHERE conversation = ?",
                                (conversation_id,)).fetchone()[0]
            db.execute("INSERT INTO turns VALUES (?, ?, ?, ?, ?)",
                       (conversation_id, number, question, json.dumps(answer), now))
        return conversation_id

    def conversations(self, owner: str) -> list[Conversation]:
        """The owner's conversations, most recently used first."""
        with self._db() as db:
            rows = db.execute(
                "SELECT c.id, c.owner, c.title, c.created, c.updated, COUNT(t.number) FROM conversations c "
                "LEFT JOIN turns t ON t.conversation = c.id WHERE c.owner = ? GROUP BY c.id ORDER BY c.updated DESC",
                (owner,)).fetchall()
        return [Conversation(*row) for row in rows]

    def turns(self, owner: str, conversation_id: str) -> list[Turn]:
        with self._db() as db:
            self._owned(db, conversation_id, owner)
            rows = db.execute("SELECT number, question, answer, at FROM turns WHERE conversation = ? "
                              "ORDER BY number", (conversation_id,)).fetchall()
        return [Turn(n, q, json.loads(a), at) for n, q, a, at in rows]

    def rename(self, owner: str, conversation_id: str, title: str) -> None:
        title = " ".join((title or "").split())[:TITLE_CHARS]
        if not title:
            raise ValueError("the title is empty")
        with self._db() as db:
            self._owned(db, conversation_id, owner)
            db.execute("UPDATE conversations SET title = ? WHERE id = ?", (title, conversation_id))

    def delete(self, owner: str, conversation_id: str) -> None:
        with self._db() as db:
            self._owned(db, conversation_id, owner)
            db.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))
