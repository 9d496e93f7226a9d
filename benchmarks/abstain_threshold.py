"""Choose ASKDOCS_ABSTAIN_MIN_COSINE from data: the best vector cosine of questions whose answer is in the
collection (each set's questions against its own store) versus questions whose answer is not (each set's
questions against another set's store). Needs the evaluation stores (`askdocs eval ...` builds them).

usage: python benchmarks/abstain_threshold.py ../shared/eval/beir/scifact ../shared/eval/financebench-dev [...]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def questions(path: Path, limit: int) -> list[str]:
    from app.evaluate import read_jsonl, read_qrels

    if (path / "questions.jsonl").exists():
        return [q["question"] for q in read_jsonl(path / "questions.jsonl")][:limit]
    qrels = read_qrels(path / "qrels" / "train.tsv")  # tuning data only
    return [q["text"] for q in read_jsonl(path / "queries.jsonl") if q["_id"] in qrels][:limit]


def main() -> int:
    from app.evaluate import eval_settings
    from app.settings import Settings
    from app.wiring import make_embedder, open_store
    from retrieval.metrics import percentile

    sets = [Path(p) for p in sys.argv[1:]]
    base = Settings()
    embedder = make_embedder(base)
    asked = {p: questions(p, 150) for p in sets}
    inside, outside = [], []
    for store_set in sets:
        with open_store(eval_settings(base, store_set), embedder) as store:
            for q_set, qs in asked.items():
                best = [store.query(embedder.embed_query(q), 1)[0].cosine for q in qs]
                (inside if q_set == store_set else outside).extend(best)
    report = {"answerable": len(inside), "unanswerable": len(outside), "thresholds": {}}
    for q in (1, 5, 10, 20):
        t = percentile(inside, q)
        report["thresholds"][f"p{q}_answerable={t:.3f}"] = {
            "answerable_kept": round(sum(v >= t for v in inside) / len(inside), 3),
            "unanswerable_abstained": round(sum(v < t for v in outside) / len(outside), 3)}
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
