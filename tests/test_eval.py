"""`askdocs eval` end to end on a small slice of SciFact and a tiny PDF question set."""

import json

import pytest

from app.cli import main
from app.evaluate import read_jsonl, read_qrels
from tests.conftest import shared_path
from tests.files import write_pdf
from tests.test_llm import _FakeOpenAI, fake_openai  # noqa: F401 (fixture)


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("ASKDOCS_DATA_DIR", str(tmp_path / "data-dir"))
    monkeypatch.setenv("ASKDOCS_EMBEDDING_DTYPE", "float32")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def scifact_slice(tmp_path):
    """The first 15 test queries, their relevant abstracts and 150 others, in BEIR layout."""
    src = shared_path("eval", "beir", "scifact")
    qrels = read_qrels(src / "qrels" / "test.tsv")
    queries = [q for q in read_jsonl(src / "queries.jsonl") if q["_id"] in qrels][:15]
    wanted = {d for q in queries for d in qrels[q["_id"]]}
    corpus = read_jsonl(src / "corpus.jsonl")
    docs = [d for d in corpus if d["_id"] in wanted] + [d for d in corpus if d["_id"] not in wanted][:150]
    out = tmp_path / "scifact-slice"
    (out / "qrels").mkdir(parents=True)
    (out / "corpus.jsonl").write_text("\n".join(json.dumps(d) for d in docs))
    (out / "queries.jsonl").write_text("\n".join(json.dumps(q) for q in queries))
    lines = ["query-id\tcorpus-id\tscore"] + [f"{q['_id']}\t{d}\t{s:g}" for q in queries
                                                for d, s in qrels[q["_id"]].items()]
    (out / "qrels" / "test.tsv").write_text("\n".join(lines))
    return out


def test_eval_beir_end_to_end(env, scifact_slice, capsys):
    out = env / "report.json"
    assert main(["eval", "beir", str(scifact_slice), "--split", "test", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["queries"] == 15 and report["documents"] > 150
    assert set(report["modes"]) == {"bm25", "vector", "hybrid", "rerank"}
    for mode, metrics in report["modes"].items():
        for key in ("ndcg@10", "recall@10", "recall@100", "mrr@10", "latency_p50_ms", "latency_p95_ms"):
            assert key in metrics, (mode, key)
        assert 0 <= metrics["ndcg@10"] <= 1 and metrics["recall@10"] <= metrics["recall@100"]
    assert report["modes"]["hybrid"]["ndcg@10"] > 0.5, "a 165-document slice is easy"
    assert "no reranker" in report["modes"]["rerank"]["note"]
    table = capsys.readouterr().out
    assert "hybrid" in table and "ndcg@10" in table

    # A second run reuses the evaluation store: nothing is embedded again.
    assert main(["eval", "beir", str(scifact_slice), "--modes", "bm25", "--json", str(out)]) == 0
    again = json.loads(out.read_text())
    assert set(again["modes"]) == {"bm25"} and again["modes"]["bm25"] == report["modes"]["bm25"] | {
        k: again["modes"]["bm25"][k] for k in ("latency_p50_ms", "latency_p95_ms")}


def _qa_set(env):
    root = env / "qa"
    (root / "pdfs").mkdir(parents=True)
    write_pdf(root / "pdfs" / "arm.pdf")
    write_pdf(root / "pdfs" / "policy.pdf", ["Remote work is allowed three days a week.",
                                             "Parental leave lasts sixteen weeks at full pay."])
    questions = [
        {"id": "q1", "question": "What does error E-104 mean?", "answers": ["encoders disagree"],
         "docs": ["arm.pdf"], "evidence": [{"doc": "arm.pdf", "page": 2, "text": ""}]},
        {"id": "q2", "question": "How long is parental leave?", "answers": ["sixteen weeks"],
         "docs": ["policy.pdf"], "evidence": [{"doc": "policy.pdf", "page": 2, "text": ""}]},
        {"id": "q3", "question": "How many remote days are allowed?", "answers": ["three"],
         "docs": ["policy.pdf"], "evidence": []},
    ]
    (root / "questions.jsonl").write_text("\n".join(json.dumps(q) for q in questions))
    return root


def test_eval_pdfqa_end_to_end(env):
    root = _qa_set(env)
    out = env / "qa.json"
    assert main(["eval", "pdfqa", str(root), "--modes", "bm25,hybrid", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["documents"] == 2 and not report["failed"]
    hybrid = report["modes"]["hybrid"]
    assert hybrid["page_hit@5"] == 1.0 and hybrid["doc_hit@1"] == 1.0
    assert {"page_hit@1", "doc_hit@10", "latency_p50_ms"} <= set(hybrid)


def test_eval_answers_through_a_real_llm_endpoint(env, fake_openai, monkeypatch):
    """--answers drives the whole answer path against an OpenAI-compatible server on loopback."""
    root = _qa_set(env)
    monkeypatch.setenv("ASKDOCS_LLM_BACKEND", "openai")
    monkeypatch.setenv("ASKDOCS_LLM_BASE_URL", fake_openai)
    monkeypatch.setenv("ASKDOCS_LLM_MODEL", "fake-model")
    monkeypatch.setenv("ASKDOCS_ABSTAIN_MIN_COSINE", "0.2")
    out = env / "answers.json"
    assert main(["eval", "pdfqa", str(root), "--modes", "hybrid", "--answers", "--absent", "2",
                 "--json", str(out)]) == 0
    answers = json.loads(out.read_text())["answers"]
    assert answers["questions"] == 3 and answers["absent_questions"] == 2
    assert answers["correct"] == 0.0, "the fake model only says hello"
    assert answers["ttft_p50_ms"] > 0 and len(answers["examples"]) == 5
    assert answers["examples"][0]["answer"] == "Hello world"
    # Rows were kept as they came; a rerun resumes from them and asks nothing again.
    rows = (env / "answers.json.rows.jsonl").read_text().splitlines()
    assert len(rows) == 5
    monkeypatch.setenv("ASKDOCS_LLM_BASE_URL", "http://127.0.0.1:9")  # nothing listens: any new ask would fail
    assert main(["eval", "pdfqa", str(root), "--modes", "hybrid", "--answers", "--absent", "2",
                 "--json", str(out)]) == 0
    again = json.loads(out.read_text())["answers"]
    assert again["questions"] == 3 and again["absent_questions"] == 2
    assert again["examples"][0]["answer"] == "Hello world"
    assert len((env / "answers.json.rows.jsonl").read_text().splitlines()) == 5


def test_eval_answers_on_a_question_file_with_a_conversation(env, fake_openai, monkeypatch, tmp_path):
    """`eval answers FILE --docs FOLDER`: single questions and a conversation whose follow-up is asked with the
    turn before it, scored by kind."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "leave.txt").write_text("Annual leave is 27 working days. Up to 5 days may be carried over.")
    questions = tmp_path / "q.jsonl"
    questions.write_text("\n".join(json.dumps(q) for q in [
        {"id": "a", "question": "How many days of annual leave?", "kind": "number", "answers": ["27"],
         "doc": "leave.txt", "page": 1},
        {"id": "c", "kind": "conversation", "turns": [
            {"question": "How many days of annual leave?", "kind": "number", "answers": ["27"], "doc": "leave.txt"},
            {"question": "And how many can be carried over?", "kind": "number", "answers": ["5"],
             "doc": "leave.txt"}]}]))
    monkeypatch.setenv("ASKDOCS_LLM_BACKEND", "openai")
    monkeypatch.setenv("ASKDOCS_LLM_BASE_URL", fake_openai)
    monkeypatch.setenv("ASKDOCS_LLM_MODEL", "fake-model")
    out = env / "file.json"
    assert main(["eval", "answers", str(questions), "--docs", str(docs), "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["questions"] == 3 and report["follow_up_turns"] == 1 and report["correct"] == 0.0
    follow = next(e for e in report["examples"] if e["id"] == "c.2")
    assert "annual" in follow["rewritten"] and follow["answer"] == "Hello world"
    assert main(["eval", "answers", str(questions)]) == 2, "a question file needs --docs"
