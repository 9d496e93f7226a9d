from app.evaluate_answers import _group, contains_answer, is_short, normalize_answer, schedule, spread, summarize


def test_normalisation_and_containment():
    assert normalize_answer("$1,577.00 million.") == "1577.00 million"
    assert contains_answer("0.66", "The ratio is 0.66 [1].")
    assert contains_answer("0.66", "about 0.664")
    assert not contains_answer("0.66", "It is 6.6 or 66")
    assert contains_answer("$1,577", "Capital expenditure was $1577 million [2].")
    assert contains_answer("Dear Evan Hansen", "He played in dear evan hansen.")
    assert not contains_answer("Evan", "Evanston")
    assert is_short("0.66") and not is_short("In 2016 and 2017, Platt played in Dear Evan Hansen")


def test_issuer_groups():
    assert _group("ADOBE_2015_10K.pdf") == _group("ADOBE_2017_10K.pdf") == "adobe"
    assert _group("Ben Platt (actor).pdf") == "ben"


def _row(kind, answer, abstained, sources, question):
    return {"id": "q", "kind": kind, "question": question,
            "answer": {"answer": answer, "abstained": abstained, "sources": sources, "citations": [],
                       "timings": {"first_token_ms": 1000.0, "total_ms": 2000.0}}}


def test_summary_figures():
    q = {"question": "ratio?", "answers": ["0.66"], "docs": ["A.pdf"], "evidence": [{"doc": "A.pdf", "page": 3}]}
    good = [{"doc_id": "A.pdf", "page": 3, "cited": True}, {"doc_id": "A.pdf", "page": 9, "cited": True},
            {"doc_id": "B.pdf", "page": 1, "cited": False}]
    rows = [_row("present", "0.66 [1][2]", False, good, q), _row("present", "no idea", False, [], q),
            _row("absent", "not found", True, [], q), _row("absent", "0.5 [1]", False, [], q)]
    s = summarize(rows)
    assert s["answer_correct_short"] == 0.5 and s["short_answer_questions"] == 2
    assert s["citations"] == 2 and s["citation_page_precision"] == 0.5 and s["citation_doc_precision"] == 1.0
    assert s["abstained_when_absent"] == 0.5 and s["abstained_when_present"] == 0.0
    assert s["ttft_p50_ms"] == 1000


def test_spread_covers_the_set_and_schedule_interleaves_absent_questions():
    items = list(range(10))
    assert spread(items, 4) == [0, 2, 5, 7] and spread(items, 20) == items
    present = [{"id": i} for i in range(6)]
    plan = schedule(present, [present[0], present[3]])
    assert [(q["id"], kind) for q, kind in plan] == [(0, "present"), (1, "present"), (2, "present"), (0, "absent"),
                                                     (3, "present"), (4, "present"), (5, "present"), (3, "absent")]
    assert [kind for _, kind in schedule(present[:1], present[:3])] == ["present", "absent", "absent", "absent"]


def test_llm_failures_are_counted_apart():
    ok = {"id": "a", "kind": "present", "question": {"question": "q", "answers": ["42"]},
          "answer": {"answer": "It is 42 [1].", "abstained": False, "sources": [], "citations": [], "notes": [],
                     "timings": {"first_token_ms": 5.0, "total_ms": 9.0}}}
    down = {"id": "b", "kind": "present", "question": {"question": "q", "answers": ["7"]},
            "answer": {"answer": "The language model is unavailable (timeout).", "abstained": False, "sources": [],
                       "citations": [], "notes": ["the language model failed: timeout"], "timings": {"total_ms": 1.0}}}
    s = summarize([ok, down])
    assert s["llm_failures"] == 1 and s["questions"] == 1 and s["answer_correct_short"] == 1.0
