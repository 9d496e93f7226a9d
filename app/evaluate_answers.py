"""End-to-end answer evaluation with the configured LLM: right answers by kind, abstention, citations, follow-ups
and time to first token.

Two kinds of set:
- a question file (`askdocs eval answers FILE --docs FOLDER`), one JSON object per line:
  `{"id", "question", "kind": number|phrase|yesno|absent, "answers": [fact, ...], "doc" or "docs", "page",
  "split"}`, where each fact is a string or a list of alternatives; or a conversation
  `{"id", "kind": "conversation", "turns": [question objects]}` whose later turns are follow-ups;
- a PDF question set (`eval pdfqa SET --answers`, `eval answers SET`): `questions.jsonl` + `pdfs/`, gold answers
  as alternatives and evidence pages; each is also asked of the other documents only (its answer absent).
"""

from __future__ import annotations

import json
import logging
import re
import statistics
import time
from pathlib import Path

from app.answer_scoring import KINDS, infer_kind, is_correct
from app.settings import Settings
from retrieval.metrics import percentile

logger = logging.getLogger(__name__)


def _group(doc: str) -> str:
    """Documents of one issuer or topic ("ADOBE_2015_10K.pdf" -> "adobe"), so that an 'absent' question is
    not asked of a sibling document that may hold the same figures."""
    return re.split(r"[_\s(]", Path(doc).stem.lower(), maxsplit=1)[0]


def spread(items: list, limit: int) -> list:
    """`limit` items evenly spaced over the list, so a subset of a set ordered by document still covers
    every document instead of the first few."""
    if limit >= len(items):
        return list(items)
    step = len(items) / limit
    return [items[int(i * step)] for i in range(limit)]


def schedule(present: list[dict], absent: list[dict]) -> list[tuple[dict, str]]:
    """Every question as "present", with the "absent" ones spread evenly between them."""
    out, every = [], max(1, round(len(present) / max(1, len(absent))))
    pending = list(absent)
    for i, q in enumerate(present, 1):
        out.append((q, "present"))
        if pending and i % every == 0:
            out.append((pending.pop(0), "absent"))
    return out + [(q, "absent") for q in pending]


# -- reading sets ------------------------------------------------------------------------------------------

def _item(q: dict) -> dict:
    """A question of a question file in the one shape the runner scores."""
    kind = q.get("kind")
    if kind not in KINDS:
        raise ValueError(f"question {q.get('id')}: kind must be one of {', '.join(KINDS)} or conversation, "
                         f"got {kind!r}")
    docs = q.get("docs") or ([q["doc"]] if q.get("doc") else [])
    pages = [(docs[0], int(q["page"]))] if q.get("page") and len(docs) == 1 else []
    return {"id": q["id"], "question": q["question"], "kind": kind, "answers": q.get("answers") or [],
            "docs": docs, "pages": pages}


def read_question_file(path: Path, split: str = "all") -> list[dict]:
    """Items of a question file: {"id", "turns": [item, ...]}; a single question is a one-turn item."""
    items = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            q = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{n}: not JSON ({exc})") from None
        if split != "all" and q.get("split", "dev") != split:
            continue
        if q.get("kind") == "conversation":
            turns = [_item({"id": f"{q['id']}.{i}", **t}) for i, t in enumerate(q["turns"], 1)]
            items.append({"id": q["id"], "turns": turns})
        else:
            items.append({"id": q["id"], "turns": [_item(q)]})
    return items


def read_pdf_set(path: Path, limit: int, absent: int) -> list[dict]:
    """Items of a PDF question set: each question as asked, and `absent` of them asked of other documents."""
    from app.evaluate import read_jsonl

    questions = spread(read_jsonl(path / "questions.jsonl"), limit)
    all_docs = sorted(p.name for p in (path / "pdfs").glob("*.pdf"))

    def item(q: dict, kind: str) -> dict:
        golds = q.get("answers") or []
        pages = [(e["doc"], int(e["page"])) for e in q.get("evidence") or [] if e.get("page")]
        turn = {"id": q["id"], "question": q["question"], "kind": infer_kind(golds) or "long",
                "answers": [golds], "docs": list(q.get("docs") or []), "pages": pages}
        if kind == "absent":
            gold = {_group(d) for d in q.get("docs") or []}
            others = [d for d in all_docs if _group(d) not in gold]
            if not others:
                return None
            turn |= {"id": f"{q['id']}:absent", "kind": "absent", "answers": [], "pages": [], "docs": [],
                     "only_docs": others}
        return {"id": turn["id"], "turns": [turn]}

    plan = schedule(questions, spread(questions, absent) if absent > 0 else [])
    return [i for i in (item(q, kind) for q, kind in plan) if i is not None]


# -- running ----------------------------------------------------------------------------------------------

def run_items(service, items: list[dict], rows_path: Path | None = None) -> list[dict]:
    """Asks every turn (follow-ups with the conversation so far, the model's own answers included). With
    `rows_path`, rows are appended as they come and a rerun skips the items already there."""
    rows = [json.loads(line) for line in rows_path.read_text(encoding="utf-8").splitlines() if line.strip()] \
        if rows_path is not None and rows_path.exists() else []
    done = {r["item"] for r in rows}
    for item in items:
        if item["id"] in done:
            continue
        history: list[tuple[str, str]] = []
        new_rows = []
        for n, turn in enumerate(item["turns"]):
            started = time.perf_counter()
            answer = service.ask(turn["question"], history, doc_ids=turn.get("only_docs"))
            new_rows.append({"item": item["id"], "turn": n, "spec": turn, "answer": answer.to_dict(),
                             "seconds": round(time.perf_counter() - started, 2)})
            history.append((turn["question"], answer.answer))
            logger.info("%s: %s", turn["id"], answer.answer[:80])
        rows += new_rows
        if rows_path is not None:  # a conversation is kept whole or not at all
            with rows_path.open("a", encoding="utf-8") as f:
                f.writelines(json.dumps(r) + "\n" for r in new_rows)
    return rows


def evaluate_question_file(settings: Settings, path: Path, docs: Path, split: str = "all",
                           limit: int | None = None, rows_path: Path | None = None) -> dict:
    from app.evaluate import eval_settings
    from app.service import AskDocs

    items = read_question_file(path, split)
    if limit:
        items = spread(items, limit)
    service = AskDocs(eval_settings(settings, docs))
    try:
        failed = [r for r in service.ingest([docs]) if r.status == "failed"]
        if failed:
            raise ValueError(f"could not ingest {failed[0].doc_id}: {failed[0].reason}")
        if service.llm is None:
            raise ValueError(f"answer evaluation needs an LLM: {service.llm_problem}")
        rows = run_items(service, items, rows_path)
    finally:
        service.close()
    return summarize(rows) | {"set": str(path), "split": split, "llm": f"{settings.llm_backend}:{settings.llm_model}"}


def evaluate_answers(settings: Settings, path: Path, limit: int = 20, absent: int = 10,
                     rows_path: Path | None = None) -> dict:
    """A PDF question set end to end."""
    from app.evaluate import eval_settings
    from app.service import AskDocs

    service = AskDocs(eval_settings(settings, path))
    try:
        service.ingest([path / "pdfs"])
        if service.llm is None:
            raise ValueError(f"answer evaluation needs an LLM: {service.llm_problem}")
        rows = run_items(service, read_pdf_set(path, limit, absent), rows_path)
    finally:
        service.close()
    return summarize(rows) | {"set": str(path), "llm": f"{settings.llm_backend}:{settings.llm_model}"}


# -- figures ----------------------------------------------------------------------------------------------

def _llm_failed(row: dict) -> bool:
    return any(n.startswith("the language model failed") for n in row["answer"].get("notes") or [])


def judge(row: dict) -> dict:
    """Per-row verdicts: right, wrongly abstained, answered when absent, cited the right source (and page)."""
    spec, a = row["spec"], row["answer"]
    kind = spec["kind"]
    cited = [s for s in a["sources"] if s["cited"]]
    docs, pages = set(spec.get("docs") or []), {tuple(p) for p in spec.get("pages") or []}
    # Right source: the gold document, or a cited passage that itself states every gold fact (the same fact
    # can stand in two documents; yes/no verdicts cannot be read off a passage).
    cited_text = " ".join(s.get("text", "") for s in cited)
    states_it = bool(cited) and kind in ("number", "phrase") and is_correct(kind, spec["answers"], cited_text, False)
    right_source = any(s["doc_id"] in docs for s in cited) or states_it
    right_page = any((s["doc_id"], s["page"]) in pages for s in cited) if pages else None
    scored = kind in KINDS
    correct = is_correct(kind, spec["answers"], a["answer"], a["abstained"]) if scored else None
    return {"kind": kind, "scored": scored, "correct": correct, "abstained": a["abstained"],
            "right_source": right_source, "right_page": right_page,
            "correct_cited": bool(correct) and right_source if kind != "absent" else None,
            "unsupported": sum(not c["supported"] for c in a.get("citations") or [])}


def _rate(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return round(sum(map(bool, values)) / len(values), 3) if values else None


def summarize(rows: list[dict]) -> dict:
    """Figures over the answered rows; rows where the LLM failed (down, timed out) are counted apart."""
    failed = [r for r in rows if _llm_failed(r)]
    ok = [r for r in rows if not _llm_failed(r)]
    verdicts = [(r, judge(r)) for r in ok]
    present = [(r, v) for r, v in verdicts if v["kind"] != "absent"]
    scored = [(r, v) for r, v in present if v["scored"]]
    absent = [(r, v) for r, v in verdicts if v["kind"] == "absent"]
    follow = [(r, v) for r, v in verdicts if r["turn"] > 0]
    ttft = [r["answer"]["timings"]["first_token_ms"] for r, _ in present
            if "first_token_ms" in r["answer"]["timings"]]
    total = [r["answer"]["timings"]["total_ms"] for r, _ in verdicts if "total_ms" in r["answer"]["timings"]]
    by_kind = {k: _rate([v["correct"] for _, v in verdicts if v["kind"] == k]) for k in KINDS}
    return {
        "questions": len(present), "scored_questions": len(scored), "absent_questions": len(absent),
        "follow_up_turns": len(follow), "llm_failures": len(failed),
        "correct": _rate([v["correct"] for _, v in scored]),
        "correct_with_right_source": _rate([v["correct_cited"] for _, v in scored]),
        "correct_by_kind": {k: v for k, v in by_kind.items() if v is not None},
        "wrongly_abstained": _rate([v["abstained"] for _, v in present]),
        "answered_when_absent": _rate([not v["abstained"] for _, v in absent]),
        "follow_ups_correct": _rate([v["correct"] for _, v in follow if v["scored"]]),
        "citation_right_source": _rate([v["right_source"] for _, v in present if not v["abstained"]]),
        "citation_right_page": _rate([v["right_page"] for _, v in present if not v["abstained"]]),
        "unsupported_sentences": sum(v["unsupported"] for _, v in verdicts),
        "ttft_p50_ms": round(percentile(ttft, 50)) if ttft else None,
        "ttft_p95_ms": round(percentile(ttft, 95)) if ttft else None,
        "total_p50_ms": round(statistics.median(total)) if total else None,
        "total_p95_ms": round(percentile(total, 95)) if total else None,
        "examples": [{"id": r["spec"]["id"], "kind": v["kind"], "question": r["spec"]["question"][:200],
                      "gold": json.dumps(r["spec"]["answers"])[:200], "answer": r["answer"]["answer"][:400],
                      "correct": v["correct"], "abstained": v["abstained"],
                      "rewritten": r["answer"].get("rewritten_query", "") if r["turn"] else ""}
                     for r, v in verdicts],
    }


def format_answers_table(report: dict) -> str:
    keys = ["questions", "absent_questions", "follow_up_turns", "correct", "correct_with_right_source",
            "wrongly_abstained", "answered_when_absent", "follow_ups_correct", "citation_right_source",
            "citation_right_page", "unsupported_sentences", "ttft_p50_ms", "ttft_p95_ms", "total_p50_ms",
            "total_p95_ms", "llm_failures"]
    width = max(map(len, keys))
    lines = [f"{k:<{width}}  {report.get(k)}" for k in keys]
    lines.append(f"{'correct_by_kind':<{width}}  {json.dumps(report.get('correct_by_kind'))}")
    return "\n".join(lines)
