import shutil

from ingest.pipeline import Ingestor, Limits
from tests.files import write_corrupt_pdf, write_encrypted_pdf, write_pdf, write_slow_pdf, write_textless_pdf


def _by_name(reports):
    return {r.doc_id: r for r in reports}


def test_folder_ingest_then_unchanged_edited_removed(ingestor, store, tmp_path):
    folder = tmp_path / "docs"
    (folder / "sub").mkdir(parents=True)
    write_pdf(folder / "manual.pdf")
    (folder / "sub" / "notes.md").write_text("# Notes\n\nThe quarterly review is on Thursday.")
    (folder / ".hidden.txt").write_text("never ingested")

    first = _by_name(ingestor.ingest([folder]))
    assert set(first) == {"manual.pdf", "sub/notes.md"}
    assert first["manual.pdf"].status == "added" and first["manual.pdf"].pages == 3
    chunks_before = store.count()

    again = _by_name(ingestor.ingest([folder]))
    assert {r.status for r in again.values()} == {"unchanged"}
    assert store.count() == chunks_before

    (folder / "sub" / "notes.md").write_text("# Notes\n\nThe quarterly review moved to Friday.")
    edited = _by_name(ingestor.ingest([folder]))
    assert edited["sub/notes.md"].status == "updated" and edited["manual.pdf"].status == "unchanged"
    texts = [c.chunk.text for c in store.iter_chunks(["sub/notes.md"])]
    assert any("Friday" in t for t in texts) and not any("Thursday" in t for t in texts)

    (folder / "manual.pdf").unlink()
    kept = _by_name(ingestor.ingest([folder]))
    assert "manual.pdf" not in kept and store.document("manual.pdf") is not None, "plain ingest never deletes"
    synced = _by_name(ingestor.ingest([folder], sync=True))
    assert synced["manual.pdf"].status == "removed"
    assert [r.doc_id for r in store.documents()] == ["sub/notes.md"]
    assert all(c.chunk.doc_id == "sub/notes.md" for c in store.iter_chunks())


def test_chunks_know_page_and_span(ingestor, store, tmp_path):
    ingestor.ingest([write_pdf(tmp_path / "m.pdf")])
    chunks = [c.chunk for c in store.iter_chunks()]
    assert {c.page for c in chunks} == {1, 2, 3}
    from ingest.loaders import load_file

    pages = {p.number: p.text for p in load_file(tmp_path / "m.pdf").pages}
    for c in chunks:
        assert pages[c.page][c.start:c.end] == c.text
    hit = store.query(ingestor.embedder.embed_query("what does error E-104 mean"), k=1)[0]
    assert hit.chunk.page == 2


def test_bad_files_are_reported_and_the_batch_goes_on(store, embedder, chunker, tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    write_pdf(folder / "a-good.pdf")
    write_encrypted_pdf(folder / "b-locked.pdf")
    write_corrupt_pdf(folder / "c-broken.pdf")
    write_textless_pdf(folder / "d-scan.pdf")
    write_slow_pdf(folder / "e-slow.pdf")
    (folder / "f-empty.txt").write_text("")
    (folder / "g-photo.jpg").write_bytes(b"\xff\xd8\xff")
    (folder / "h-notes.txt").write_text("Plain notes about the SK-220 arm.")
    ingestor = Ingestor(store, embedder, chunker, Limits(parse_timeout_s=1.0))
    reports = _by_name(ingestor.ingest([folder, tmp_path / "missing-folder"]))
    status = {name: r.status for name, r in reports.items()}
    assert status == {
        "a-good.pdf": "added", "b-locked.pdf": "failed", "c-broken.pdf": "failed", "d-scan.pdf": "failed",
        "e-slow.pdf": "failed", "f-empty.txt": "failed", "g-photo.jpg": "failed", "h-notes.txt": "added",
        "missing-folder": "failed",
    }
    assert "password" in reports["b-locked.pdf"].reason
    assert "longer than 1 s" in reports["e-slow.pdf"].reason
    assert "no such file" in reports["missing-folder"].reason
    assert all(r.reason for r in reports.values() if r.status == "failed")
    assert [r.doc_id for r in store.documents()] == ["a-good.pdf", "h-notes.txt"]


def test_changed_chunk_settings_reingest(store, embedder, tmp_path):
    from ingest.chunking import TokenChunker

    path = write_pdf(tmp_path / "m.pdf")
    Ingestor(store, embedder, TokenChunker(embedder.tokenizer, 100, 10)).ingest([path])
    reports = Ingestor(store, embedder, TokenChunker(embedder.tokenizer, 60, 10)).ingest([path])
    assert reports[0].status == "updated"


def test_single_file_ids_are_file_names(ingestor, store, tmp_path):
    shutil.copy(write_pdf(tmp_path / "x.pdf"), tmp_path / "y.pdf")
    reports = ingestor.ingest([tmp_path / "x.pdf", tmp_path / "y.pdf"])
    assert [r.doc_id for r in reports] == ["x.pdf", "y.pdf"]
    assert ingestor.remove(["x.pdf", "nope"])[1].status == "failed"
    assert [r.doc_id for r in store.documents()] == ["y.pdf"]
