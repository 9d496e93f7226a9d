"""Time to first token of answers on the default settings: the local model, hybrid retrieval, evidence
sentences. Asks the answerable questions of a question file about a documents folder (one warm-up question
first, as a running server would have had), and prints p50/p95 of: the best sentence shown (evidence_ms), the
evidence check (check_ms), the model's first token (first_token_ms), the first checked sentence shown (first_shown_ms) and the whole answer.

usage: python benchmarks/answer_latency.py [tests/qa/sample-qa.jsonl] [--docs data] [--limit 30]
Run it on an idle machine; it prints the load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("questions", type=Path, nargs="?", default=ROOT / "tests" / "qa" / "sample-qa.jsonl")
    parser.add_argument("--docs", type=Path, default=ROOT / "data")
    parser.add_argument("--limit", type=int, default=30)
    args = parser.parse_args()

    from app.evaluate import eval_settings
    from app.evaluate_answers import read_question_file, spread
    from app.service import AskDocs
    from app.settings import Settings
    from retrieval.metrics import percentile

    settings = eval_settings(Settings(), args.docs)
    questions = [i["turns"][0]["question"] for i in read_question_file(args.questions)
                 if len(i["turns"]) == 1 and i["turns"][0]["kind"] != "absent"]
    questions = spread(questions, args.limit)
    print(f"load average before: {os.getloadavg()[0]:.2f}; {os.cpu_count()} CPUs; threads "
          f"{settings.llm_threads or len(os.sched_getaffinity(0))}")
    service = AskDocs(settings)
    timings: dict[str, list[float]] = {}
    try:
        service.ingest([args.docs])
        service.warm_up()
        service.ask("What is this collection about?")
        for question in questions:
            answer = service.ask(question)
            for key in ("evidence_ms", "check_ms", "first_token_ms", "first_shown_ms", "total_ms"):
                if key in answer.timings:
                    timings.setdefault(key, []).append(answer.timings[key])
    finally:
        service.close()
    report = {key: {"p50": round(percentile(v, 50)), "p95": round(percentile(v, 95)), "n": len(v)}
              for key, v in timings.items()}
    for key, figures in report.items():
        print(f"{key:<16} p50 {figures['p50']:>6} ms   p95 {figures['p95']:>6} ms   ({figures['n']} answers)")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
