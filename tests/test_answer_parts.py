"""Questions of two parts are asked part by part and joined; follow-ups about what a "Which …?" answer picked.
Real store, retriever and embedder; the model is a stub that answers from the source it is given."""

import re

import pytest

from app.answering.answer import Answerer
from app.answering.followup import follow_up_query, picked_names
from app.answering.citations import renumber_markers
from app.answering.parts import split_parts
from app.answering.tables import cell_answer
from tests.conftest import small_library

DOCS = {
    "employee-handbook.md": "# Employee Handbook\n\n## Equipment\n\nYou may order a monitor and a chair for home up "
                            "to EUR 800 in total.\n",
    "it-catalogue.txt": "IT CATALOGUE\n- Home equipment (monitor, chair): ordered in the IT portal and delivered "
                        "within 10 working days.\n",
    "security.md": "# Security\n\nPasswords are at least 14 characters long.\n",
}


@pytest.fixture(scope="module")
def retriever(tmp_path_factory, embedder, chunker):
    yield from small_library(tmp_path_factory.mktemp("parts"), DOCS, embedder, chunker, "parts")


def answer_from(file: str, sentence: str):
    """A model stub: answers `sentence`, citing the number its prompt gives `file` (or "not found")."""
    def stream_text(llm, messages):
        found = re.search(rf'<source id="(\d+)" file="{re.escape(file)}"', messages[-1].content)
        yield f"{sentence} [{found.group(1)}]." if found else "The documents do not contain the answer."
    return stream_text


def test_questions_split_into_parts_with_what_leads_up_to_them():
    assert split_parts("What is the minimum password length, and how many desks does the Lyon office have?") == [
        "What is the minimum password length?", "How many desks does the Lyon office have?"]
    assert split_parts("I lost my key. How soon must I report it, and how quickly do I get a new one?") == [
        "I lost my key. How soon must I report it?", "I lost my key. How quickly do I get a new one?"]
    assert split_parts("What is the reach? And what is the payload?") == ["What is the reach?",
                                                                            "And what is the payload?"]
    for one in ("How fast can it move, normally and in collaborative mode?", "What is the travel and expense policy?",
                "How many days of annual leave do employees get?", "Is it open? I ask because of the strike."):
        assert split_parts(one) == [one]
    assert renumber_markers("EUR 800 [1]. Ten days [2, 1].", {1: 3, 2: 1}) == "EUR 800 [3]. Ten days [1, 3]."


def test_a_question_of_two_parts_is_answered_part_by_part_from_each_parts_source(retriever, embedder):
    replies = {"spend": answer_from("employee-handbook.md",
                                    "You may order a monitor and a chair for home up to EUR 800 in total"),
               "delivery": answer_from("it-catalogue.txt", "Home equipment is delivered within 10 working days")}

    def stream_text(llm, messages):
        asked = messages[-1].content.rsplit("Question:", 1)[1]
        yield from replies["delivery" if "delivery" in asked else "spend"](llm, messages)

    answerer = Answerer(retriever, object(), embedder=embedder, stream_text=stream_text)
    events = list(answerer.stream("How much can I spend on home equipment, and how long does delivery take once I "
                                  "order it?"))
    answer = events[-1].answer
    by_number = {s.number: s for s in answer.sources}
    first, second = re.findall(r"\[(\d+)\]", answer.answer)
    assert "EUR 800" in answer.answer and "10 working days" in answer.answer and not answer.abstained
    assert by_number[int(first)].file == "employee-handbook.md" and by_number[int(second)].file == "it-catalogue.txt"
    assert len({s.chunk_id for s in answer.sources}) == len(answer.sources), "a chunk found twice is listed once"
    assert by_number[int(first)].cited and by_number[int(second)].cited
    assert "once I order it? (" in answer.rewritten_query, "the second part carries the first part's subject"
    assert any(e.kind == "token" for e in events) and answer.timings["total_ms"] > 0


def test_a_part_the_documents_do_not_answer_is_said_so_and_the_other_part_stands(retriever, embedder):
    answerer = Answerer(retriever, object(), embedder=embedder, min_sentence_cosine=0.38,  # the default gate
                        stream_text=answer_from("security.md", "Passwords are at least 14 characters long"))
    answer = answerer.ask("What is the minimum password length, and what is the capital of Australia?")
    assert answer.answer.startswith("Passwords are at least 14 characters long [")
    assert "I could not find this in the documents: “What is the capital of Australia?”" in answer.answer
    assert not answer.abstained, "one part was answered"


def test_its_after_a_which_question_is_what_the_answer_picked():
    history = [("Which office has the fewest desks?", "Lyon: Desks 20 [2].")]
    assert follow_up_query("What is its street address?", history).startswith("What is its street address? (Lyon ")
    history.append(("What is its street address?", "Lyon: Address 8 Quai des Ateliers [1]."))
    assert "Lyon" in follow_up_query("And when does it close?", history)
    assert picked_names([("What is the reach of the SK-220?", "The reach is 1,300 mm [1].")]) == [], "no pick asked"
    table = ("| Office | Opening hours | Desks |\n|---|---|---|\n| Lyon | Mon–Fri 08:30–17:30 | 20 |\n\n"
             "Closed on Sundays.")
    assert cell_answer("And when does it close?", {1: table}, follow_up_query("And when does it close?", history)) \
        == "Lyon: Opening hours Mon–Fri 08:30–17:30 [1].", "closing is read off the opening hours"


def test_a_yes_no_question_about_a_figure_reads_the_cell_of_the_row_the_conversation_names():
    from app.answering.results import Answer
    from app.answering.evidence import Evidence, Sentence

    table = ("| Office | Opening hours | Desks |\n|---|---|---|\n"
             "| Amsterdam (head office) | Mon–Fri 07:30–19:00 | 140 |\n"
             "| Lyon | Mon–Fri 08:30–17:30 | 20 |\n\nAll offices are closed on weekends.")
    desk = Sentence(1, 0, 80, "The walk-in IT desk is in the Amsterdam office, Monday to Friday 08:30 to 17:30.",
                    0.6, 0)
    query = "Is it open at 07:45 on a Monday? (Amsterdam bikes parked office head)"
    decided = Answerer._figure_answer("Is it open at 07:45 on a Monday?", query, Evidence({1: [desk]}, desk),
                                      Answer(question=""), {1: "IT desk hours.", 2: table})
    assert decided == "Yes: Amsterdam (head office): Opening hours Mon–Fri 07:30–19:00. [2]", \
        "not the IT desk's hours"
    assert Answerer._figure_answer("Is it open at 07:45 on a Monday?", query, Evidence({1: [desk]}, desk),
                                   Answer(question=""), {1: "IT desk hours."}).startswith("No:"), "without the table"
