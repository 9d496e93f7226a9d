"""Run an ingest in this process and SIGKILL it at a chosen point (used by test_crash.py).

usage: python -m tests.crash_ingest STORE_JSON FOLDER POINT N
POINT: before-commit (after the chunks of the Nth written document are stored, before its catalog commit),
       after-commit (after the Nth commit, before old chunks are deleted), none (run to the end).
"""

from __future__ import annotations

import json
import os
import signal
import sys


def main() -> None:
    store_args, folder, point, n = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
    import ingest.store as store_module
    from ingest.chunking import TokenChunker
    from ingest.embedding import Embedder
    from ingest.pipeline import Ingestor
    from ingest.store import ChunkStore

    calls = {"n": 0}

    def maybe_die(name):
        if point == name:
            calls["n"] += 1
            if calls["n"] == n:
                os.kill(os.getpid(), signal.SIGKILL)

    record_meta = store_module._record_meta

    def record_meta_then_die(record):
        maybe_die("before-commit")
        return record_meta(record)

    delete_other = ChunkStore._delete_other_versions

    def delete_then_die(self, doc_id, keep):
        maybe_die("after-commit")
        return delete_other(self, doc_id, keep)

    store_module._record_meta = record_meta_then_die
    ChunkStore._delete_other_versions = delete_then_die

    embedder = Embedder(dtype="float32")
    store = ChunkStore.open(model_id=embedder.model_id, dimension=embedder.dimension, **store_args)
    print("START", flush=True)
    reports = Ingestor(store, embedder, TokenChunker(embedder.tokenizer, 60, 10)).ingest([folder])
    print(json.dumps({r.doc_id: r.status for r in reports}), flush=True)


if __name__ == "__main__":
    main()
