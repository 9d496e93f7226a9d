"""Reranker training (issue 7): mining, self-supervised pairs, the training loop, the shipped model, the command."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from ingest.store import StoredChunk
from ingest.types import Chunk
from retrieval.training.mining import MiningConfig, mine
from retrieval.training.selfsup import self_supervised_source
from retrieval.training.sources import cut_span, debian_source, sentence_spans, twin_groups
from retrieval.training.trainer import TrainConfig, evaluate, load_cross_encoder, save, train
from retrieval.training.types import Example, Group, Source

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "models" / "reranker"

TRANSLATION = """\
Package: libzeta7
Description-md5: 1
Description-en: Zeta compression library - runtime
 Zeta is a fast lossless compression library for streams and archives,
 written in portable C with a small memory footprint and stable API.
 .
 This package contains the shared library.

Package: libzeta-dev
Description-md5: 2
Description-en: Zeta compression library - development files
 Zeta is a fast lossless compression library for streams and archives,
 written in portable C with a small memory footprint and stable API.
 .
 This package contains the headers and static library.

Package: zeta-doc
Description-md5: 3
Description-en: Zeta compression library - documentation
 Zeta is a fast lossless compression library for streams and archives,
 written in portable C with a small memory footprint and stable API.
 .
 This package contains the HTML manual.

Package: kestrel
Description-md5: 4
Description-en: lightweight compression benchmark tool
 Kestrel measures how fast compression libraries pack and unpack streams and
 archives and prints tables of speed and ratio for each library it finds.

Package: ferngarden
Description-md5: 5
Description-en: garden planner for ferns and mosses
 Ferngarden helps gardeners plan shady beds of ferns, mosses and other plants
 that like damp corners, with watering reminders and a plant catalogue.
"""


def test_debian_twins_collapse_to_one_passage_and_are_never_negatives(tmp_path):
    path = tmp_path / "Translation-en"
    path.write_text(TRANSLATION)
    source = debian_source([path], random.Random(1))
    zeta = [d for d in source.docs if d.startswith("Zeta is")]
    assert len(zeta) == 1  # libzeta7, libzeta-dev, zeta-doc are one twin group: one passage
    assert len(source.docs) == 3 and len(source.groups) == 3
    for example in mine(source, MiningConfig(negatives=2, depth=5), random.Random(1)):
        assert example.positive not in example.negatives
        assert sum(n.startswith("Zeta is") for n in example.negatives) <= (0 if example.positive in zeta else 1)
    from retrieval.training.sources import read_debian_descriptions

    entries = read_debian_descriptions(path)
    assert sorted(len(g) for g in twin_groups(entries)) == [1, 1, 3]


def test_mining_never_uses_the_positive_an_excluded_twin_or_a_near_twin():
    docs = [
        "The pump seal failed after the coolant pressure rose above the rated limit in unit four.",  # positive
        "The pump seal failed after the coolant pressure rose above the rated limit in unit four!",  # near-twin
        "Unit four coolant pump seal replacement procedure and the pressure limit for the seal.",  # excluded
        "Coolant pressure in unit two stayed below the limit; no pump seal was replaced.",
        "The cafeteria menu lists soup, bread and a pressure-cooked stew on Fridays.",
        "Seal colonies on the coast were counted by volunteers during the spring survey.",
    ]
    source = Source("t", docs, [Group("why did the pump seal fail in unit four", 0, frozenset({2}))])
    [example] = mine(source, MiningConfig(negatives=3, depth=6), random.Random(0))
    assert example.positive == docs[0]
    assert docs[0] not in example.negatives and docs[1] not in example.negatives and docs[2] not in example.negatives
    assert example.negatives[0] == docs[3]  # the hardest allowed one comes first
    assert len(example.negatives) == 3


def _chunk(doc: str, index: int, text: str) -> StoredChunk:
    return StoredChunk(f"{doc}-{index}", Chunk(doc, doc, 1, 0, len(text), index, text, str(index)), doc)


def test_self_supervised_pairs_cut_the_sentence_span_out_of_its_chunk():
    shared = "All visitors must sign in at the front desk before entering the laboratory."
    chunks = [
        _chunk("handbook.pdf", 0, "Safety comes first in every lab we run. " + shared +
               " Goggles are required at all times when chemicals are open."),
        _chunk("handbook.pdf", 1, shared + " Lab coats hang on the hooks next to the emergency shower station."),
        _chunk("handbook.pdf", 2, "Waste solvents go into the red cans that are emptied every Friday afternoon. "
               "Broken glass goes into the cardboard box under the sink in room four."),
        _chunk("memo.txt", 0, "Our travel policy covers trains and economy flights booked two weeks ahead. "
               + shared),
    ]
    source = self_supervised_source(chunks, random.Random(3), per_chunk=3)
    assert source.pool == 4 and len(source.docs) == 4 + len(source.groups) and source.groups
    for group in source.groups:
        positive = source.docs[group.positive]
        assert group.positive >= source.pool  # made for this query only: never anyone's negative
        assert group.query not in positive
        origins = []
        for i, doc in enumerate(source.docs[: source.pool]):
            heading, text = doc.split("\n", 1)
            for a, b in sentence_spans(text):
                if text[a:b] == group.query and f"{heading}\n{cut_span(text, (a, b))}" == positive:
                    origins.append(i)
            if group.query in doc:  # its own chunk, the overlapping neighbour, a boilerplate copy elsewhere
                assert i in group.exclude
        assert origins and set(origins) <= group.exclude
    examples = mine(source, MiningConfig(negatives=2, depth=4, pad_random=False), random.Random(0))
    for group, example in zip(source.groups, examples):
        assert all(group.query not in n for n in example.negatives)


TOPICS = [
    ("how do I reset my badge pin", "To reset a badge PIN, open the security portal and choose Reset PIN."),
    ("when is the cafeteria open", "The cafeteria is open from 8 am to 3 pm on weekdays."),
    ("who approves travel expenses", "Travel expenses are approved by your line manager in the expense tool."),
    ("where do I park my bike", "Bicycles are parked in the covered rack behind building B."),
    ("how many vacation days do new staff get", "New staff receive 25 vacation days per calendar year."),
    ("what is the guest wifi password", "The guest wifi password is printed on the reception desk card."),
    ("how do I book a meeting room", "Meeting rooms are booked in the calendar by adding the room as a guest."),
    ("who do I call when the printer jams", "Printer jams are reported to the IT helpdesk on extension 4000."),
]


def _tiny_examples() -> list[Example]:
    passages = [p for _, p in TOPICS]
    return [Example(q, p, tuple(n for n in passages if n != p)[:3], "office") for q, p in TOPICS]


def test_training_lowers_the_loss_and_the_saved_model_ranks_positives_first(tmp_path):
    from ingest.embedding import resolve_model
    from sentence_transformers import CrossEncoder

    examples = _tiny_examples()
    ce = load_cross_encoder(resolve_model("all-MiniLM-L6-v2"), max_length=48, seed=5)
    config = TrainConfig(negatives=3, batch_queries=4, learning_rate=2e-4, warmup=0.1, epochs=12, max_length=48,
                         seed=5, max_minutes=2)
    events = []
    result = train(ce, examples, config, events.append)
    assert result.steps == 24 and result.stopped_by == "epochs"
    first, last = np.mean(result.losses[:4]), np.mean(result.losses[-4:])
    assert last < 0.5 * first, (first, last)
    assert any(e["event"] == "step" for e in events)
    assert evaluate(ce, examples, 3, 48).accuracy == 1.0
    (tmp_path / "reranker").mkdir()
    (tmp_path / "reranker" / "README.md").write_text("hand-written model card")
    folder = save(ce, tmp_path / "reranker", {"note": "test"})
    assert (folder / "README.md").read_text() == "hand-written model card"
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".reranker")], "staging left behind"
    loaded = CrossEncoder(str(folder), device="cpu")
    for query, positive in TOPICS:
        passages = [p for _, p in TOPICS]
        scores = loaded.predict([(query, p) for p in passages], show_progress_bar=False)
        assert passages[int(np.argmax(scores))] == positive, query
    assert (folder / "training.json").exists()


def test_training_is_reproducible_with_a_seed():
    from ingest.embedding import resolve_model

    runs = []
    for _ in range(2):
        ce = load_cross_encoder(resolve_model("all-MiniLM-L6-v2"), max_length=48, seed=7)
        runs.append(train(ce, _tiny_examples(), TrainConfig(negatives=3, batch_queries=4, epochs=1, max_length=48,
                                                           seed=7, bf16_autocast=False)).losses)
    assert runs[0] == pytest.approx(runs[1], rel=1e-5)


@pytest.mark.parametrize("dtype", ["auto", "float32"])
def test_the_shipped_reranker_loads_offline_and_ranks_relevant_first(monkeypatch, dtype):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    from retrieval.rerank import CrossEncoderReranker

    reranker = CrossEncoderReranker(str(SHIPPED), dtype=dtype)
    scores = reranker.score("What is the boiling point of water at sea level?", [
        "The annual report lists revenue by region and the board's remuneration policy.",
        "At sea level, pure water boils at 100 degrees Celsius (212 degrees Fahrenheit).",
        "Our office dog enjoys long walks in the park near the river.",
    ])
    assert scores.dtype == np.float32 and scores.shape == (3,)
    assert int(np.argmax(scores)) == 1 and scores[1] > scores[0] + 0.2 and scores[1] > scores[2] + 0.2


def test_train_reranker_command_on_tiny_material(tmp_path, capsys):
    from app.cli import main

    tat = tmp_path / "tat.json"
    import json

    tat.write_text(json.dumps([
        {"table": {"uid": str(i), "table": [["", "2019", "2018"], ["Revenue", str(100 + i), str(90 + i)]]},
         "paragraphs": [{"uid": "p", "order": 1, "text": text}],
         "questions": [{"question": q}]}
        for i, (q, text) in enumerate(TOPICS)]))
    out = tmp_path / "model"
    code = main(["train-reranker", "--tat-qa", str(tat), "--out", str(out), "--holdout", "2", "--negatives", "2",
                 "--mine", "3", "--batch", "3", "--max-steps", "2", "--max-length", "48", "--max-minutes", "1",
                 "--layers", "3"])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "tatqa: 8 queries" in printed and "held-out after" in printed and "step 2/2" in printed
    assert (out / "model.safetensors").exists() and json.loads((out / "training.json").read_text())["layers"] == 3
    from sentence_transformers import CrossEncoder

    loaded = CrossEncoder(str(out), device="cpu")
    assert len(loaded.model.base_model.encoder.layer) == 3 and loaded.model.config.num_hidden_layers == 3


def test_a_layer_cut_keeps_evenly_spread_layers_of_the_base():
    import torch

    from ingest.embedding import resolve_model

    base = resolve_model("all-MiniLM-L6-v2")
    full = load_cross_encoder(base, max_length=48)
    cut = load_cross_encoder(base, max_length=48, layers=4)
    assert cut.model.config.num_hidden_layers == 4
    for kept, source in zip(cut.model.base_model.encoder.layer, [0, 2, 3, 5]):  # first and last always kept
        for a, b in zip(kept.parameters(), full.model.base_model.encoder.layer[source].parameters()):
            assert torch.equal(a, b)
    with pytest.raises(ValueError, match="layers must be between 1 and 6"):
        load_cross_encoder(base, max_length=48, layers=7)


def test_own_pairs_file_trains_and_bad_lines_are_named(tmp_path, capsys):
    import json

    from app.cli import main
    from retrieval.training.sources import pairs_source

    pairs = tmp_path / "faq.jsonl"
    pairs.write_text("\n".join(json.dumps({"query": q, "passage": text}) for q, text in TOPICS)
                     + "\n" + json.dumps({"query": "same answer again", "passage": TOPICS[0][1]}) + "\n")
    source = pairs_source(pairs, random.Random(0))
    assert len(source.docs) == len(TOPICS) and source.groups[-1].positive == source.groups[0].positive
    out = tmp_path / "model"
    code = main(["train-reranker", "--pairs", str(pairs), "--out", str(out), "--holdout", "2", "--negatives", "2",
                 "--mine", "3", "--batch", "3", "--max-steps", "1", "--max-length", "48", "--max-minutes", "1"])
    printed = capsys.readouterr().out
    assert code == 0 and f"pairs: {len(TOPICS) + 1} queries" in printed and (out / "model.safetensors").exists()

    broken = tmp_path / "broken.jsonl"
    broken.write_text(json.dumps({"query": "a", "passage": "b"}) + "\n" + json.dumps({"question": "no passage"}))
    with pytest.raises(ValueError, match=r"broken.jsonl, line 2: expected a JSON object"):
        pairs_source(broken, random.Random(0))


def test_self_supervised_measurement_trains_on_the_stores_documents(tmp_path, monkeypatch, capsys):
    import importlib.util

    from app.cli import main

    spec = importlib.util.spec_from_file_location("selfsup_reranker", ROOT / "benchmarks" / "selfsup_reranker.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    monkeypatch.setenv("ASKDOCS_DATA_DIR", str(tmp_path / "store"))
    out = tmp_path / "model"
    args = ["--out", str(out), "--holdout", "2", "--negatives", "2", "--mine", "3", "--batch", "3", "--max-steps", "1",
            "--max-length", "64", "--max-minutes", "1"]
    with pytest.raises(SystemExit, match="no documents in the store"):
        script.main(args)

    folder = tmp_path / "docs"
    folder.mkdir()
    for i, (_, text) in enumerate(TOPICS):
        (folder / f"note{i}.txt").write_text(
            f"{text} This note was written by the office team for everyone who works in building {i}. "
            f"Ask the front desk in building {i} when anything in this note is unclear to you.")
    assert main(["ingest", str(folder)]) == 0
    capsys.readouterr()
    assert script.main(args) == 0
    printed = capsys.readouterr().out
    # One sentence of each note becomes a query; the note without that sentence is its positive.
    assert f"collection: {len(TOPICS)} queries over {len(TOPICS)} passages" in printed
    assert "held-out after" in printed and (out / "model.safetensors").exists()
