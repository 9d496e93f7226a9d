"""The answer evaluation's reading of sets and its figures (the runs themselves are in tests/test_eval.py)."""

import json

import pytest

from app.evaluate_answers import _group, read_question_file, schedule, spread, summarize

QA_SET = __import__("pathlib").Path(__file__).parent / "qa" / "sample-qa.jsonl"


def test_issuer_groups():
    assert _group("ADOBE_2015_10K.pdf") == _group("ADOBE_2017_10K.pdf") == "adobe"
    assert _group("Ben Platt (actor).pdf") == "ben"


def _row(spec, answer, abstained, sources, turn=0, notes=(), item="q"):
    return {"item": item, "turn": turn, "spec": spec,
            "answer": {"answer": answer, "abstained": abstained, "sources": sources, "citations": [],
                       "notes": list(notes), "timings": {"first_token_ms": 1000.0, "total_ms": 2000.0}}}


def test_summary_figures():
    q = {"id": "q", "question": "ratio?", "kind": "number", "answers": ["0.66"], "docs": ["A.pdf"],
         "pages": [["A.pdf", 3]]}
    absent = {"id": "a", "question": "other?", "kind": "absent", "answers": [], "docs": [], "pages": []}
    good = [{"doc_id": "A.pdf", "page": 3, "cited": True}, {"doc_id": "A.pdf", "page": 9, "cited": True},
            {"doc_id": "B.pdf", "page": 1, "cited": False}]
    wrong_page = [{"doc_id": "A.pdf", "page": 9, "cited": True}]
    rows = [_row(q, "0.66 [1][2]", False, good), _row(q, "0.5 [1]", False, wrong_page),
            _row(q, "not found", True, []), _row(absent, "not found", True, []),
            _row(absent, "0.5 [1]", False, []), _row(q, "66% [1]", False, good, turn=1)]
    s = summarize(rows)
    assert s["questions"] == 4 and s["absent_questions"] == 2 and s["follow_up_turns"] == 1
    assert s["correct"] == 0.5 and s["correct_with_right_source"] == 0.5
    assert s["wrongly_abstained"] == 0.25 and s["answered_when_absent"] == 0.5
    assert s["citation_right_source"] == 1.0 and s["citation_right_page"] == round(2 / 3, 3)
    assert s["follow_ups_correct"] == 1.0 and s["correct_by_kind"] == {"number": 0.5, "absent": 0.5}
    assert s["ttft_p50_ms"] == 1000


def test_llm_failures_are_counted_apart():
    q = {"id": "q", "question": "q", "kind": "number", "answers": ["42"], "docs": [], "pages": []}
    s = summarize([_row(q, "It is 42 [1].", False, []),
                   _row(q, "The language model is unavailable (timeout).", False, [],
                        notes=["the language model failed: timeout"])])
    assert s["llm_failures"] == 1 and s["questions"] == 1 and s["correct"] == 1.0


def test_spread_covers_the_set_and_schedule_interleaves_absent_questions():
    items = list(range(10))
    assert spread(items, 4) == [0, 2, 5, 7] and spread(items, 20) == items
    present = [{"id": i} for i in range(6)]
    plan = schedule(present, [present[0], present[3]])
    assert [(q["id"], kind) for q, kind in plan] == [(0, "present"), (1, "present"), (2, "present"), (0, "absent"),
                                                     (3, "present"), (4, "present"), (5, "present"), (3, "absent")]
    assert [kind for _, kind in schedule(present[:1], present[:3])] == ["present", "absent", "absent", "absent"]


def test_question_files_are_read_with_conversations_and_splits(tmp_path):
    path = tmp_path / "q.jsonl"
    lines = [{"id": "a", "question": "Leave?", "kind": "number", "answers": ["27"], "doc": "h.md", "page": 1,
              "split": "dev"},
             {"id": "b", "question": "CEO?", "kind": "absent", "split": "test"},
             {"id": "c", "kind": "conversation", "split": "dev", "turns": [
                 {"question": "Leave?", "kind": "number", "answers": ["27"], "doc": "h.md", "page": 1},
                 {"question": "And carried over?", "kind": "number", "answers": ["5"], "doc": "h.md", "page": 1}]}]
    path.write_text("\n".join(json.dumps(x) for x in lines))
    items = read_question_file(path, "dev")
    assert [i["id"] for i in items] == ["a", "c"] and len(items[1]["turns"]) == 2
    assert items[0]["turns"][0]["pages"] == [("h.md", 1)] and items[1]["turns"][1]["id"] == "c.2"
    assert len(read_question_file(path)) == 3
    path.write_text(json.dumps({"id": "x", "question": "?", "kind": "maybe"}))
    with pytest.raises(ValueError, match="kind must be one of"):
        read_question_file(path)


def test_the_sample_set_is_big_enough_and_well_formed():
    items = read_question_file(QA_SET)
    singles = [i["turns"][0] for i in items if len(i["turns"]) == 1]
    conversations = [i for i in items if len(i["turns"]) > 1]
    assert sum(t["kind"] != "absent" for t in singles) >= 60 and sum(t["kind"] == "absent" for t in singles) >= 20
    assert len(conversations) >= 20 and sum(len(c["turns"]) == 3 for c in conversations) >= 5
    data = QA_SET.parents[2] / "data"
    for item in items:
        for turn in item["turns"]:
            assert all((data / d).exists() for d in turn["docs"]), turn["id"]
            assert turn["kind"] == "absent" or turn["answers"], turn["id"]


def test_a_cited_passage_of_another_document_that_states_the_fact_is_a_right_source():
    q = {"id": "q", "question": "IT desk e-mail?", "kind": "phrase", "answers": [["it@harborlane.example"]],
         "docs": ["onboarding.docx"], "pages": []}
    states = [{"doc_id": "catalogue.txt", "page": 1, "cited": True, "text": "Write to it@harborlane.example."}]
    silent = [{"doc_id": "catalogue.txt", "page": 1, "cited": True, "text": "Open a ticket in the portal."}]
    answer = "The IT desk is it@harborlane.example [1]."
    assert summarize([_row(q, answer, False, states)])["correct_with_right_source"] == 1.0
    assert summarize([_row(q, answer, False, silent)])["correct_with_right_source"] == 0.0
