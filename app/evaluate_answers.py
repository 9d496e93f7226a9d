"""End-to-end answer evaluation on a PDF question set: correctness of short answers, citation precision,
abstention when the answer is absent, and time to first token — with the configured LLM."""

from __future__ import annotations

import json
import logging
import re
import statistics
import time
from pathlib import Path

from app.settings import Settings
from retrieval.metrics import percentile

logger = logging.getLogger(__name__)

_NUMBER_NOISE = re.compile(r"(?<=\d),(?=\d)|[$%]")
_PUNCT = re.compile(r"[^\w.\s-]|(?<!\d)\.|\.(?!\d)")


def normalize_answer(text: str) -> str:
    """Lower case, no thousands separators, currency or percent signs, punctuation or extra spaces."""
    text = _NUMBER_NOISE.sub("", text.lower())
    return " ".join(_PUNCT.sub(" ", text).split())


def is_short(answer: str) -> bool:
    """Gold answers a containment check can judge: a number or a name of a few words."""
    return len(answer.split()) <= 4


def contains_answer(gold: str, predicted: str) -> bool:
    g, p = normalize_answer(gold), normalize_answer(predicted)
    if not g:
        return False
    if re.fullmatch(r"-?\d+(\.\d+)?", g):  # numbers: equal after rounding to the gold's precision
        decimals = len(g.split(".")[1]) if "." in g else 0
        for candidate in re.findall(r"-?\d+(?:\.\d+)?", p):
            if round(float(candidate), decimals) == float(g):
                return True
        return False
    return re.search(rf"(?<!\w){re.escape(g)}(?!\w)", p) is not None


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


def evaluate_answers(settings: Settings, path: Path, limit: int = 20, absent: int = 10,
                     rows_path: Path | None = None) -> dict:
    """Answers each question end to end. With `rows_path`, every answer is appended there as it comes and a
    rerun skips the questions already there, so a run of hours can be stopped and resumed; absent-answer
    questions are interleaved with the others so that a stopped run still measures both."""
    from app.evaluate import eval_settings, read_jsonl
    from app.service import AskDocs

    questions = spread(read_jsonl(path / "questions.jsonl"), limit)
    rows = [json.loads(line) for line in rows_path.read_text(encoding="utf-8").splitlines() if line.strip()] \
        if rows_path is not None and rows_path.exists() else []
    done = {(r["id"], r["kind"]) for r in rows}
    service = AskDocs(eval_settings(settings, path))
    try:
        service.ingest([path / "pdfs"])
        if service.llm is None:
            raise ValueError(f"answer evaluation needs an LLM: {service.llm_problem}")
        all_docs = [r.doc_id for r in service.documents()]
        for q, kind in schedule(questions, spread(questions, absent) if absent > 0 else []):
            if (q["id"], kind) in done:
                continue
            doc_ids = None
            if kind == "absent":
                gold = {_group(d) for d in q.get("docs") or []}
                doc_ids = [d for d in all_docs if _group(d) not in gold]
                if not doc_ids:
                    continue
            started = time.perf_counter()
            answer = service.ask(q["question"], doc_ids=doc_ids)
            _keep(rows, rows_path, {"id": q["id"], "kind": kind, "answer": answer.to_dict(), "question": q,
                                    "seconds": time.perf_counter() - started})
            logger.info("%s (%s): %s", q["id"], kind, answer.answer[:80])
    finally:
        service.close()
    return summarize(rows) | {"set": str(path), "llm": f"{settings.llm_backend}:{settings.llm_model}"}


def schedule(present: list[dict], absent: list[dict]) -> list[tuple[dict, str]]:
    """Every question as "present", with the "absent" ones spread evenly between them."""
    out, every = [], max(1, round(len(present) / max(1, len(absent))))
    pending = list(absent)
    for i, q in enumerate(present, 1):
        out.append((q, "present"))
        if pending and i % every == 0:
            out.append((pending.pop(0), "absent"))
    return out + [(q, "absent") for q in pending]


def _keep(rows: list[dict], rows_path: Path | None, row: dict) -> None:
    rows.append(row)
    if rows_path is not None:
        with rows_path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")


def _llm_failed(row: dict) -> bool:
    return any(n.startswith("the language model failed") for n in row["answer"].get("notes") or [])


def summarize(rows: list[dict]) -> dict:
    """Figures over the answered rows; rows where the LLM failed (down, timed out) are counted apart, not
    scored as wrong answers."""
    failed = [r for r in rows if _llm_failed(r)]
    present = [r for r in rows if r["kind"] == "present" and not _llm_failed(r)]
    absent = [r for r in rows if r["kind"] == "absent" and not _llm_failed(r)]
    short, correct, cited, cited_ok, cited_doc_ok = 0, 0, 0, 0, 0
    for r in present:
        a, q = r["answer"], r["question"]
        golds = q.get("answers") or []
        if golds and all(is_short(g) for g in golds):
            short += 1
            correct += any(contains_answer(g, a["answer"]) for g in golds)
        evidence = {(e["doc"], int(e["page"])) for e in q.get("evidence") or [] if e.get("page")}
        gold_docs = set(q.get("docs") or [])
        for s in a["sources"]:
            if not s["cited"]:
                continue
            cited += 1
            cited_ok += (s["doc_id"], s["page"]) in evidence
            cited_doc_ok += s["doc_id"] in gold_docs
    ttft = [r["answer"]["timings"]["first_token_ms"] for r in present if "first_token_ms" in r["answer"]["timings"]]
    total = [r["answer"]["timings"]["total_ms"] for r in present if "total_ms" in r["answer"]["timings"]]
    has_pages = any(r["question"].get("evidence") for r in present)
    return {
        "questions": len(present),
        "llm_failures": len(failed),
        "short_answer_questions": short,
        "answer_correct_short": round(correct / short, 3) if short else None,
        "citations": cited,
        "citation_page_precision": round(cited_ok / cited, 3) if cited and has_pages else None,
        "citation_doc_precision": round(cited_doc_ok / cited, 3) if cited else None,
        "abstained_when_present": round(sum(r["answer"]["abstained"] for r in present) / len(present), 3)
        if present else None,
        "absent_questions": len(absent),
        "abstained_when_absent": round(sum(r["answer"]["abstained"] for r in absent) / len(absent), 3)
        if absent else None,
        "unsupported_citation_sentences": sum(not c["supported"] for r in present for c in r["answer"]["citations"]),
        "ttft_p50_ms": round(percentile(ttft, 50)) if ttft else None,
        "ttft_p95_ms": round(percentile(ttft, 95)) if ttft else None,
        "total_p50_ms": round(statistics.median(total)) if total else None,
        "examples": [{"id": r["id"], "kind": r["kind"], "question": r["question"]["question"][:200],
                      "gold": (r["question"].get("answers") or [""])[0][:200], "answer": r["answer"]["answer"][:400],
                      "abstained": r["answer"]["abstained"]} for r in rows],
    }
