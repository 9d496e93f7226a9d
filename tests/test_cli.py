import json

import pytest

from app.cli import main
from tests.files import write_encrypted_pdf, write_pdf


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("ASKDOCS_DATA_DIR", str(tmp_path / "data-dir"))
    monkeypatch.setenv("ASKDOCS_EMBEDDING_DTYPE", "float32")
    monkeypatch.delenv("ASKDOCS_CHROMA_URL", raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env is read
    return tmp_path


def _json(capsys):
    return json.loads(capsys.readouterr().out)


def test_ingest_docs_search_remove(env, capsys):
    folder = env / "in"
    folder.mkdir()
    write_pdf(folder / "manual.pdf")
    write_encrypted_pdf(folder / "locked.pdf")
    (folder / "x.bin").write_bytes(b"\x00")

    assert main(["ingest", str(folder), "--json"]) == 0, "a batch with refused files still exits 0"
    files = {f["name"]: f for f in _json(capsys)["files"]}
    assert files["manual.pdf"]["status"] == "added" and files["manual.pdf"]["pages"] == 3
    assert files["manual.pdf"]["chunks"] > 0
    assert files["locked.pdf"]["status"] == "failed" and "password" in files["locked.pdf"]["reason"]
    assert files["x.bin"]["status"] == "failed" and "unsupported" in files["x.bin"]["reason"]
    assert set(files["manual.pdf"]) >= {"name", "status", "pages", "chunks", "reason"}

    assert main(["ingest", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "unchanged manual.pdf" in out and "failed    locked.pdf  encrypted" in out

    assert main(["docs", "--json"]) == 0
    docs = _json(capsys)
    assert [d["doc_id"] for d in docs] == ["manual.pdf"] and docs[0]["pages"] == 3

    assert main(["search", "what does error E-104 mean", "-k", "2", "--json"]) == 0
    found = _json(capsys)
    results = found["results"]
    assert found["mode"] == "hybrid" and results[0]["source"] == "manual.pdf" and results[0]["page"] == 2
    assert results[0]["breakdown"]["vector_rank"] == 1 and results[0]["breakdown"]["bm25_rank"] == 1
    assert main(["search", "E-104", "--mode", "bm25", "--json"]) == 0
    assert [r["page"] for r in _json(capsys)["results"]] == [2]
    assert main(["search", "E-104", "--mode", "rerank", "--json"]) == 0
    found = _json(capsys)
    assert found["mode"] == "hybrid" and "no reranker is configured" in found["notes"][0]

    assert main(["profile", "manual.pdf", "--organisation", "Harbor Lane Robotics", "--doc-type", "manual"]) == 0
    assert _json(capsys)["organisation"] == "Harbor Lane Robotics"
    assert main(["docs"]) == 0
    assert "Harbor Lane Robotics · manual" in capsys.readouterr().out
    assert main(["profile", "nothing.pdf"]) == 1

    assert main(["remove", "manual.pdf"]) == 0
    assert "removed   manual.pdf" in capsys.readouterr().out
    assert main(["remove", "manual.pdf"]) == 1
    assert main(["docs"]) == 0
    assert "no documents yet" in capsys.readouterr().out


def test_model_change_is_refused_with_a_clear_message(env, capsys, monkeypatch, tmp_path):
    write_pdf(env / "m.pdf")
    assert main(["ingest", str(env / "m.pdf")]) == 0
    capsys.readouterr()
    # Another model (a copy of the packaged one under another name) must not open the collection.
    import shutil

    from ingest.embedding import resolve_model

    other = tmp_path / "other-model"
    shutil.copytree(resolve_model("all-MiniLM-L6-v2"), other)
    monkeypatch.setenv("ASKDOCS_EMBEDDING_MODEL", str(other))
    assert main(["docs"]) == 2
    err = capsys.readouterr().err
    assert "was built with the embedding model 'all-MiniLM-L6-v2'" in err and "re-index" in err


def test_bad_setting_is_a_clear_error(env, monkeypatch, capsys):
    monkeypatch.setenv("ASKDOCS_COLLECTION", "a")
    assert main(["docs"]) == 2
    assert "invalid settings: ASKDOCS_COLLECTION" in capsys.readouterr().err
