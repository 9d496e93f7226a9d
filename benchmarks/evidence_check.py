"""Choose the evidence check (ASKDOCS_ANSWER_EVIDENCE_CHECK) on labelled questions: the model's P(yes) that the
selected evidence answers the question, for answerable questions against questions the documents do not answer,
and what each threshold would stop. Runs the real path (follow-up rule, retrieval, gate, evidence, check) with the
configured model; answers are not generated.

usage: python benchmarks/evidence_check.py tests/qa/sample-qa.jsonl --docs data [--split dev]
Follow-up turns are checked beside their conversation's last two questions and reported apart. Yes/no questions
are listed apart: the product checks them at a lower threshold (YES_NO_CHECK_SHARE in app/answering/answer.py).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("questions", type=Path)
    parser.add_argument("--docs", type=Path, required=True)
    parser.add_argument("--split", default="dev")
    args = parser.parse_args()

    from app.answering.verify import is_yes_no
    from app.evaluate import eval_settings
    from app.evaluate_answers import read_question_file
    from app.service import AskDocs
    from app.settings import Settings

    settings = eval_settings(Settings(), args.docs)
    service = AskDocs(settings)
    answerer = service.answerer
    rows = []
    try:
        service.ingest([args.docs])
        for item in read_question_file(args.questions, args.split):
            history: list[tuple[str, str]] = []
            for turn in item["turns"]:
                question = turn["question"]
                query, _ = answerer.rewrite(question, history)
                found = answerer.retriever.retrieve(query, answerer.top_k, answerer.mode, None)
                sources, _, _ = answerer.fit_sources(question, found)
                row = {"id": turn["id"], "absent": turn["kind"] == "absent", "yes_no": is_yes_no(question),
                       "follow_up": query != question, "question": question, "p_yes": None, "gate": ""}
                # the gate reads its best sentence, as in answers
                evidence = answerer.select(query, sources, found, asked=question)
                decision = answerer.gate(question, found, evidence)
                if not decision.passed:
                    row["gate"] = decision.reason
                else:
                    started = time.perf_counter()
                    row["p_yes"] = answerer.check_evidence(question, sources, evidence, history)
                    row["check_ms"] = round(1000 * (time.perf_counter() - started))
                rows.append(row)
                history.append((question, ""))
    finally:
        service.close()
    checked = [r for r in rows if r["p_yes"] is not None]
    for label, subset in (("checked (not yes/no), not follow-ups", [r for r in checked if not r["yes_no"]
                                                                    and not r["follow_up"]]),
                          ("follow-ups (searched with the conversation's terms)",
                           [r for r in checked if not r["yes_no"] and r["follow_up"]]),
                          ("yes/no (checked at YES_NO_CHECK_SHARE x the threshold)",
                           [r for r in checked if r["yes_no"]])):
        answerable = [r for r in subset if not r["absent"]]
        absent = [r for r in subset if r["absent"]]
        print(f"\n{label}: {len(answerable)} answerable, {len(absent)} absent past the gate ({args.split})")
        print("threshold  answerable_passed  absent_stopped")
        for t in (0.2, 0.3, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7):
            passed = sum(r["p_yes"] >= t for r in answerable) / max(1, len(answerable))
            stopped = sum(r["p_yes"] < t for r in absent) / max(1, len(absent))
            print(f"{t:9.2f}  {passed:17.3f}  {stopped:14.3f}")
    times = sorted(r["check_ms"] for r in checked)
    if times:
        print(f"\ncheck time p50 {times[len(times) // 2]} ms, p95 {times[int(0.95 * (len(times) - 1))]} ms")
    print("lowest answerable:", [(r["id"], round(r["p_yes"], 2)) for r in
                                 sorted((r for r in checked if not r["absent"] and not r["yes_no"]),
                                        key=lambda r: r["p_yes"])[:8]])
    print("highest absent:", [(r["id"], round(r["p_yes"], 2)) for r in
                              sorted((r for r in checked if r["absent"]), key=lambda r: -r["p_yes"])[:8]])
    print(json.dumps({"rows": rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
