"""Answers decided by rule before the model: a forbidden thing, a labelled line, a choice; and the evidence, gate and
follow-up rules that let such questions reach an answer. Real store, retriever and embedder; fake chat models."""

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from app.answering.answer import Answerer
from app.answering.results import Answer
from app.answering.citations import _off_subject, gives_what_is_asked
from app.answering.evidence import Evidence, Sentence
from app.answering.fields import field_answer
from app.answering.figures import is_choice, named_option
from app.answering.followup import follow_up_query
from app.answering.gate import decide, holds_code
from app.answering.prohibitions import forbidden_verdict
from tests.conftest import small_library

FIRE = "When the fire alarm sounds, leave by the nearest stairs, never the lift, and go to the assembly point."
DOCS = {
    "emergencies.md": f"# Emergencies\n\n{FIRE} For medical emergencies call 112 first.\n",
    "employee-handbook.md": "# Employee Handbook\n\nVersion 3.2. Owner: People Operations (people@example.org).\n\n"
                            "## Equipment\n\nYou may order a monitor and a chair for home up to EUR 800 in total.\n",
    "it-catalogue.txt": "IT CATALOGUE\nOwner: IT desk (it@example.org).\n- Home equipment (monitor, chair): ordered in "
                        "the IT portal and delivered within 10 working days.\n",
}


class SilentModel(FakeListChatModel):
    """Fails when asked: a test that uses it shows the model was not needed."""

    def _call(self, *args, **kwargs):
        raise ConnectionError("the model was asked")

    def _stream(self, *args, **kwargs):
        raise ConnectionError("the model was asked")


@pytest.fixture(scope="module")
def retriever(tmp_path_factory, embedder, chunker):
    yield from small_library(tmp_path_factory.mktemp("verdicts"), DOCS, embedder, chunker, "verdicts")


def test_a_permission_question_about_what_the_best_sentence_forbids_is_answered_no(retriever, embedder):
    answer = Answerer(retriever, SilentModel(responses=[""]), embedder=embedder).ask(
        "Can I take the lift when the fire alarm sounds?")
    cited = [s for s in answer.sources if s.cited]
    assert answer.answer == f"No: the documents say “{FIRE}” [{cited[0].number}]"
    assert cited[0].file == "emergencies.md" and not answer.abstained
    assert not any("language model failed" in n for n in answer.notes), "the model was not asked"
    medical = Sentence(1, 0, 40, "For medical emergencies call 112 first.", 0.50, 1)
    fire = Sentence(1, 41, 140, FIRE, 0.46, 0)
    blank = Answer(question="")
    decided = Answerer._permission_answer("Can I use the lift in an emergency?", Evidence({1: [fire, medical]}, medical),
                                         blank)
    assert decided == f"No: the documents say “{FIRE}” [1]", "the forbidding sentence need not be the best one"
    far = Sentence(1, 41, 140, FIRE, 0.35, 0)
    assert Answerer._permission_answer("Can I use the lift?", Evidence({1: [far, medical]}, medical), blank) is None


def test_forbidden_verdicts_need_the_questions_own_word_after_the_negation():
    assert forbidden_verdict("Can I take the lift?", FIRE)
    assert forbidden_verdict("And may I use the lifts?", FIRE)
    assert not forbidden_verdict("Can I take the stairs?", FIRE), "the stairs are what it says to take"
    assert not forbidden_verdict("Can I use my own mouse?", "Do not use unknown USB sticks."), "an everyday verb only"
    assert not forbidden_verdict("Can I submit it within 30 days?", "Claims are due no later than 30 days after."), \
        "a bound is a figure's rule"
    assert not forbidden_verdict("Can I work abroad?", "Never work abroad without approval from People Operations.")
    assert not forbidden_verdict("Is the lift out of order?", FIRE), "not a permission question"
    assert not forbidden_verdict("Can I take my company laptop on holiday abroad?",
                                 "Restricted data (for example payroll) is never stored on laptops."), "storing is"
    assert forbidden_verdict("Can I share my password with the IT desk?", "Never share your password with anyone.")
    assert not forbidden_verdict("Can't I take the lift?", FIRE), "a negated question is the model's"


def test_who_owns_a_document_is_read_off_its_labelled_line(retriever, embedder):
    answer = Answerer(retriever, SilentModel(responses=[""]), embedder=embedder).ask("Who owns the employee handbook?")
    cited = [s for s in answer.sources if s.cited]
    assert answer.answer == f"Owner: People Operations (people@example.org) [{cited[0].number}]"
    assert cited[0].file == "employee-handbook.md"
    sources = {1: DOCS["it-catalogue.txt"], 2: DOCS["employee-handbook.md"]}
    files = {1: "it-catalogue.txt", 2: "employee-handbook.md"}
    assert field_answer("Who is the owner of the IT catalogue?", sources, files) == \
        "Owner: IT desk (it@example.org) [1]"
    assert field_answer("Who approves the employee handbook?", sources, files) is None, "no Approver line"
    assert field_answer("Who owns the travel policy?", sources, files) is None, "no source is named by the question"
    assert field_answer("Who owns it?", sources, files, subject="Who owns it? (employee handbook)") == \
        "Owner: People Operations (people@example.org) [2]"


def test_a_question_of_money_reads_the_sentences_that_state_an_amount():
    delivery = Sentence(1, 0, 60, "- Home equipment (monitor, chair): delivered within 10 working days.", 0.52, 0)
    heading = Sentence(2, 0, 11, "## Equipment", 0.3, 1)
    budget = Sentence(2, 12, 80, "You may order a monitor and a chair for home up to EUR 800 in total.", 0.48, 2)
    evidence = Evidence({1: [delivery], 2: [heading, budget]}, delivery)
    question = "How much can I spend on home equipment?"
    narrowed = evidence.narrowed(lambda s: gives_what_is_asked(question, s))
    assert narrowed.best is budget and narrowed.text(2).endswith("EUR 800 in total.") and "## Equipment" in \
        narrowed.text(2), "the amount, with its heading"
    assert 1 not in narrowed.by_source, "the delivery time is left out"
    timing = "How soon is home equipment delivered?"
    assert evidence.narrowed(lambda s: gives_what_is_asked(timing, s)) is evidence, "its best sentence gives a time"
    nothing = Evidence({1: [delivery]}, delivery)
    assert nothing.narrowed(lambda s: gives_what_is_asked(question, s)) is nothing, "no sentence states an amount"


def test_a_choice_question_names_the_option_its_rule_prefers():
    question = "Should I take the train or fly for a 3-hour journey?"
    assert is_choice(question) and named_option(question, "Trains are preferred over flights under 5 hours.") == "train"
    assert not is_choice("Do I need ten or more days?") and not is_choice("Can I fly business class?")


def test_a_follow_up_about_a_code_passes_the_gate_when_its_best_sentence_holds_the_code():
    texts = ["E-101 Joint overcurrent. Remove the obstruction, then acknowledge the error on the teach pendant."]
    assert not decide("Where do I acknowledge it?", texts, 0.3, None, 0.0, None, 0.36, 0.38).passed
    assert decide("Where do I acknowledge it?", texts, 0.3, None, 0.0, None, 0.36, 0.38, carried_code_held=True).passed
    assert holds_code("E-101", texts[0]) and not holds_code("E-10", texts[0])


def test_a_follow_up_about_them_after_a_who_question_carries_who_was_named():
    history = [("Who owns the employee handbook?", "Owner: People Operations (people@example.org) [2]")]
    assert "People Operations" in follow_up_query("How do I contact them?", history)
    assert "People" not in follow_up_query("How do I contact it?", [("What is E-101?", "Joint overcurrent")])


def test_an_address_or_a_number_is_how_one_contacts_someone():
    sentence = "You can contact People Operations at people@example.org [1]."
    assert _off_subject(sentence, "How do I contact them?", "Owner: People Operations (people@example.org).") == []
    assert _off_subject(sentence, "How do I contact them?", "Owner: People Operations.") != []


def test_a_thing_the_sentence_says_is_not_allowed_or_done_without_is_answered_no():
    from app.answering.prohibitions import needless_verdict

    shared = "Shared accounts are not allowed."
    assert forbidden_verdict("Can our team share one login for a tool?", shared)
    assert forbidden_verdict("Are shared accounts allowed?", shared)
    assert forbidden_verdict("Is alcohol reimbursed?", "Alcohol is not reimbursed.")
    assert not forbidden_verdict("Is the hotel reimbursed?", "Alcohol is not reimbursed."), "another thing"
    assert not forbidden_verdict("Can I use the password manager?", shared)
    fence = "It works next to people without a safety fence when it runs in collaborative mode."
    assert needless_verdict("Does the SK-220 need a safety fence in collaborative mode?", fence)
    assert not needless_verdict("Does it need a power supply?", fence)
    assert not needless_verdict("Do I need approval to work abroad for 30 days?",
                                "You can work abroad for up to 20 days without approval."), "a bound and an exception"
    per_diem = Sentence(1, 0, 60, "Meals are covered by a per diem of EUR 45 per full travel day.", 0.48, 0)
    alcohol = Sentence(1, 61, 87, "Alcohol is not reimbursed.", 0.43, 1)
    assert Answerer._permission_answer("Can I claim alcohol on my per diem?",
                                      Evidence({1: [per_diem, alcohol]}, per_diem), Answer(question="")) == \
        "No: the documents say “Alcohol is not reimbursed.” [1]"


def test_a_thing_allowed_one_way_only_is_a_yes_with_that_way():
    from app.answering.prohibitions import one_way_verdict

    rule = "Personal devices may access e-mail only through the managed mobile app."
    assert one_way_verdict("Can I read my work e-mail on my personal phone?", rule)
    assert not one_way_verdict("Can I use my personal laptop?", rule), "one shared word is not the same act"
    assert not one_way_verdict("Can I go into the lab before the training?",
                               "Only employees who have completed the lab safety training may enter a lab."), \
        "'only' before whom it allows limits who, not how"
    best = Sentence(1, 0, 70, rule, 0.55, 0)
    assert Answerer._permission_answer("Can I read my work e-mail on my personal phone?", Evidence({1: [best]}, best),
                                      Answer(question="")) == f"Yes, but only as the documents say: “{rule}” [1]"


def test_a_code_question_reads_the_sentences_with_a_code_and_which_department_reads_the_labelled_line():
    question = "What is the code of the travel and expense policy?"
    assert not gives_what_is_asked(question, "Week 1: read the Employee Handbook and the Travel and Expense Policy.")
    assert gives_what_is_asked(question, "TRAVEL AND EXPENSE POLICY (TEP-7)")
    assert gives_what_is_asked("What is the travel and expense policy about?", "Week 1: read the Travel Policy.")
    policy = "TRAVEL AND EXPENSE POLICY (TEP-7)\nEffective: 1 January 2026. Approver: Finance (finance@example.org)."
    assert field_answer("Which department approves it?", {1: policy}, {1: "travel-expenses.txt"},
                        subject="Which department approves it? (code travel expense policy TEP-7)") == \
        "Approver: Finance (finance@example.org) [1]"
