"""What a caller may read and write: collections.

Every document belongs to one collection. "shared" holds what was ingested without an owner (the CLI, a server
without accounts): every user reads it, admins write it. Each user has a private collection `~NAME`. Admins
create further shared collections and give users read or write access (`askdocs collections`).
"""

from __future__ import annotations

from dataclasses import dataclass

from app.accounts.store import AccountStore, User

SHARED = ""  # documents stored without a collection, as before collections existed; shown as "shared"


def private_collection(user: str) -> str:
    return f"~{user}"


def collection_label(collection: str) -> str:
    return collection or "shared"


def parse_collection(name: str | None) -> str | None:
    """A collection as users write it ("shared", "~alice", "hr"); None when not given."""
    name = (name or "").strip()
    if not name:
        return None
    return SHARED if name == "shared" else name


@dataclass(frozen=True)
class Access:
    """`readable`/`writable` None: everything (a server without accounts)."""

    user: str | None
    readable: frozenset[str] | None
    writable: frozenset[str] | None
    default: str  # where uploads go when no collection is named

    def can_read(self, collection: str) -> bool:
        return self.readable is None or collection in self.readable

    def can_write(self, collection: str) -> bool:
        return self.writable is None or collection in self.writable


EVERYTHING = Access(None, None, None, SHARED)
NOTHING = Access(None, frozenset(), frozenset(), SHARED)  # a caller who is not signed in, when accounts exist


def access_for(accounts: AccountStore, user: User | None) -> Access:
    if user is None:
        return NOTHING
    own = private_collection(user.name)
    memberships = accounts.memberships(user.name)
    readable = {SHARED, own, *memberships}
    writable = {own, *(c for c, can_write in memberships.items() if can_write)} | ({SHARED} if user.admin else set())
    return Access(user.name, frozenset(readable), frozenset(writable), own)
