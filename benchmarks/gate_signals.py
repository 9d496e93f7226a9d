"""Choose the gate before the model (ASKDOCS_ABSTAIN_MIN_COSINE) on labelled questions: the retrieval signals of
answerable questions against questions the documents do not answer, and what each threshold would let through.

usage: python benchmarks/gate_signals.py tests/qa/sample-qa.jsonl --docs data [--split dev]
Reports, per threshold, the share of answerable questions passed to the model and of absent ones stopped (the
code rule, a code the question names that no passage mentions, applies at every threshold).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("questions", type=Path)
    parser.add_argument("--docs", type=Path, required=True)
    parser.add_argument("--split", default="dev")
    args = parser.parse_args()

    from app.answering.evidence import select_evidence
    from app.answering.gate import decide
    from app.evaluate import eval_settings
    from app.evaluate_answers import read_question_file
    from app.service import AskDocs
    from app.settings import Settings

    settings = eval_settings(Settings(llm_backend="none"), args.docs)
    service = AskDocs(settings, load_llm=False)
    rows = []
    try:
        service.ingest([args.docs])
        for item in read_question_file(args.questions, args.split):
            turn = item["turns"][0]  # follow-ups are judged with their conversation, not alone
            found = service.search(turn["question"])
            texts = [f"{r.chunk.source}\n{r.context_text}" for r in found.results]
            codes = decide(turn["question"], texts, None, None, 0.0, None)
            evidence = select_evidence(turn["question"], {i: r.chunk.text for i, r in enumerate(found.results)},
                                       service.embedder, headings={i: r.heading for i, r in enumerate(found.results)})
            rows.append({"id": turn["id"], "absent": turn["kind"] == "absent", "cosine": found.best_cosine or 0.0,
                         "sentence_cosine": evidence.best_cosine or 0.0,
                         "code_stop": not codes.passed, "question": turn["question"]})
    finally:
        service.close()
    answerable = [r for r in rows if not r["absent"]]
    absent = [r for r in rows if r["absent"]]
    print(f"{len(answerable)} answerable, {len(absent)} absent ({args.split})")
    for signal in ("cosine", "sentence_cosine"):
        print(f"lowest answerable {signal}:", [(r["id"], round(r[signal], 3)) for r in
                                               sorted(answerable, key=lambda r: r[signal])[:5]])
        print("absent:", [(r["id"], round(r[signal], 3), "code" if r["code_stop"] else "") for r in
                          sorted(absent, key=lambda r: r[signal])])
    for signal in ("cosine", "sentence_cosine"):
        print(f"{signal}: threshold  answerable_passed  absent_stopped")
        for t in [x / 100 for x in range(10, 60, 2)]:
            passed = sum(r[signal] >= t and not r["code_stop"] for r in answerable) / len(answerable)
            stopped = sum(r[signal] < t or r["code_stop"] for r in absent) / max(1, len(absent))
            print(f"{t:9.2f}  {passed:17.3f}  {stopped:14.3f}")
    print(json.dumps({"rows": rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
