"""The answer stage's rules without a model: evidence selection, follow-up queries, the gate on labelled
questions over data/, and the citation rule."""

from pathlib import Path

import pytest

from app.answering.checker import SentenceChecker
from app.answering.citations import check_citations, claims, recite
from app.answering.evidence import select_evidence, split_sentences
from app.answering.followup import conversation_context, follow_up_query, is_follow_up, swap_follow_up
from app.answering.gate import decide, question_codes
from app.evaluate_answers import read_question_file

ROOT = Path(__file__).resolve().parents[1]


def test_sentences_keep_offsets_and_abbreviations():
    text = "Payload: 12 kg. Reach: 1,300 mm.\n- Up to 5 days, e.g. in March.\nE-104 Encoder mismatch"
    spans = split_sentences(text)
    parts = [text[a:b] for a, b in spans]
    assert parts == ["Payload: 12 kg.", "Reach: 1,300 mm.", "- Up to 5 days, e.g. in March.", "E-104 Encoder mismatch"]


def test_evidence_picks_the_answering_sentence(embedder):
    sources = {1: "Sick leave: tell your manager before 10:00. A doctor's note is needed from the fourth day.",
               2: "The learning budget is EUR 1,500 per year. Requests under EUR 300 need a manager's approval."}
    evidence = select_evidence("From which day of sick leave is a doctor's note needed?", sources, embedder, 2)
    assert evidence.best.source == 1 and "fourth day" in evidence.best.text
    assert sources[1][evidence.best.start:evidence.best.end] == evidence.best.text
    assert 2 not in evidence.by_source, "a source with nothing on the question is left out"


def test_follow_ups_carry_the_subject_and_standalone_questions_do_not():
    history = [("How many days of annual leave do employees get?", "Employees get 27 working days [1].")]
    query = follow_up_query("And how many of those can be carried over?", history)
    assert "annual" in query and "leave" in query and query.startswith("And how many of those")
    assert follow_up_query("What is the hotel limit in Paris?", history) == "What is the hotel limit in Paris?"
    assert "E-104" in follow_up_query("How do I fix it?", [("Which error means the encoders disagree?",
                                                             "That is E-104 [1].")])
    query = follow_up_query("How do I get rid of it?", [("What does E-117 mean?", "Emergency stop active [1].")])
    assert "E-117" in query and "mean" not in query, "'mean' names no subject"
    assert is_follow_up("What about London?") and is_follow_up("Is that paid?") and not is_follow_up(
        "How long is parental leave?")
    assert conversation_context(history) == 'the user asked "How many days of annual leave do employees get?"'


def test_a_follow_up_that_swaps_one_thing_becomes_the_previous_question_with_it_swapped():
    assert swap_follow_up("And in Vienna?", "What is the nightly hotel budget in Zurich?") == \
        "What is the nightly hotel budget in Vienna?"
    assert swap_follow_up("And payroll data?", "How is customer data classified?") == "How is payroll data classified?"
    assert swap_follow_up("What about the SK-330?", "What is the payload of the SK-220?") == \
        "What is the payload of the SK-330?"
    assert swap_follow_up("And a EUR 900 course?", "Who approves a EUR 200 request?") == \
        "Who approves a EUR 900 request?"
    # Not swaps: a question of its own, a pointer, nothing of the same shape to swap.
    assert swap_follow_up("And if it keeps coming back?", "How do I fix E-104?") is None
    assert swap_follow_up("And its repeatability?", "What is the reach of the SK-220?") is None
    assert swap_follow_up("and for a partial day?", "What is the per diem for meals?") is None
    assert swap_follow_up("How many are there?", "How many offices are in Zurich?") is None
    # Through the conversation: the swap applies to the previous turn as it was searched, codes carried.
    history = [("How quickly does IT respond to a P1 incident?", "Within 30 minutes [1]."),
               ("And what is the fix target?", "Within 4 hours [1].")]
    query = follow_up_query("What about for P3?", history)
    assert "P3" in query and "P1" not in query and "fix target" in query
    history = [("How long is parental leave?", "16 weeks [1]."), ("By when do I have to take it?", "Within 18 months.")]
    assert "parental leave" in follow_up_query("Is it paid?", history)
    assert "E-104" in follow_up_query("And if it keeps coming back?", [
        ("What does error code E-104 mean?", "The encoders disagree [1]."), ("How do I fix it?", "Recalibrate [1].")])


def test_the_subject_outlives_a_standalone_question_and_can_be_forced():
    history = [("How do I submit an expense claim?", "Through the portal within 30 days [1]."),
               ("Which items need a receipt?", "Items over EUR 25 [1].")]
    query = follow_up_query("And when is the money paid back?", history)
    assert "expense" in query and "claim" in query and "receipt" in query, "earlier questions' terms, newest first"
    assert query.index("receipt") < query.index("expense")
    standalone = "Do I get something to work on in the meantime?"
    assert follow_up_query(standalone, history) == standalone
    forced = follow_up_query(standalone, history, force=True)
    assert forced.startswith(standalone + " (") and "expense" in forced
    assert follow_up_query(standalone, [], force=True) == standalone, "no conversation: nothing to carry"
    assert conversation_context(history) == ('the user asked "How do I submit an expense claim?", '
                                             'then "Which items need a receipt?"')
    assert conversation_context(history, turns=1) == 'the user asked "Which items need a receipt?"'


def test_claims_are_figures_codes_and_names_the_question_did_not_give():
    assert claims("The capital of Australia is Canberra [2].", "What is the capital of Australia?") == ["canberra"]
    assert "sk-330" in claims("The SK-330 carries 12 kg [1].", "What is the payload of the SK-330?")
    assert claims("No, only flights longer than 8 hours [1].", "Can I fly business class on a 6-hour flight?") == ["8"]
    # periods are claims as written (a slide about "Q3" holds "q3", not a free-standing 3)
    assert claims("The Q3 review says the Lisbon office opened in August [1].", "What does the Q3 review say?") \
        == ["lisbon", "august"]
    assert claims("Revenue in FY2022 was 4.1 million [1].", "What was the revenue?") == ["fy2022", "4.1"]


def test_the_rule_removes_what_no_cited_source_says():
    sources = {1: "sk-220-datasheet.pdf\nPayload: 12 kg. Reach: 1,300 mm.",
               2: "employee-handbook.md\nAnnual leave: 27 working days per calendar year."}
    checker = SentenceChecker("What is the payload of the SK-330?", sources)
    checker.feed("Employees get 27 days. [2] The reach is 1300 mm [1]. The SK-330 carries 12 kg [1]. "
                 "The capital is Canberra.")
    checker.flush()
    assert checker.text == "Employees get 27 days [2]. The reach is 1300 mm [1]."
    assert len(checker.removed) == 2 and check_citations(checker.text, sources)[0].supported


def test_codes_are_capitalised_tokens_with_digits():
    assert question_codes("Is the SK-330 or error E-150 in P5 of the 10-K?") == ["SK-330", "E-150", "P5"]
    assert question_codes("What was Adobe's FY2022 margin in Q2, H1 or FY 2021, per its 10-Q and S-1?") == []
    assert question_codes("Can I fly business class on a 6-hour flight on the 5th at 10am?") == []


@pytest.fixture(scope="module")
def data_search(tmp_path_factory, embedder):
    from app.service import AskDocs
    from app.settings import Settings

    settings = Settings(data_dir=tmp_path_factory.mktemp("gate"), chroma_url=None, llm_backend="none",
                        _env_file=None)
    service = AskDocs(settings, load_llm=False, embedder=embedder)
    service.ingest([ROOT / "data"])
    yield service
    service.close()


def _gate(service, question: str):
    from app.settings import Settings

    settings = Settings(_env_file=None)
    found = service.search(question)
    texts = [f"{r.chunk.source}\n{r.context_text}" for r in found.results]
    evidence = select_evidence(question, {n: r.chunk.text for n, r in enumerate(found.results, 1)}, service.embedder,
                               headings={n: r.heading for n, r in enumerate(found.results, 1)})
    return decide(question, texts, found.best_cosine, found.best_rerank, settings.abstain_min_cosine, None,
                  evidence.best_cosine, settings.abstain_min_sentence_cosine)


def test_the_gate_on_the_labelled_questions_of_data(data_search):
    """Held-apart (test split) questions: the default threshold passes nearly every answerable question and
    stops the general-knowledge ones; the rest of the absent questions are left to the model and the citation
    rule (they sound like the documents, so no retrieval signal separates them)."""
    items = read_question_file(ROOT / "tests" / "qa" / "sample-qa.jsonl", "test")
    firsts = [i["turns"][0] for i in items]
    answerable = [t for t in firsts if t["kind"] != "absent"]
    passed = sum(_gate(data_search, t["question"]).passed for t in answerable) / len(answerable)
    assert passed >= 0.95, passed
    assert _gate(data_search, "From which day of sick leave is a doctor's note needed?").passed
    for question in ("What is the capital of Australia?", "What is the payload of the SK-330?",
                     "What is the chemical symbol for gold?"):
        assert not _gate(data_search, question).passed, question
    # the one checklist line that answers scores 0.6; its whole chunk under 0.2
    decision = _gate(data_search, "What do I agree with my manager in week 2?")
    assert decision.passed and decision.signals["best_cosine"] < 0.2 < 0.5 < decision.signals["best_sentence_cosine"]


def test_a_title_led_by_a_code_is_no_list_item_and_units_end_sentences():
    text = ("SK-220 Collaborative Robotic Arm - Datasheet\nThe SK-220 is a six-axis arm.\nSpecifications\n"
            "Payload: 12 kg. Power: 350 W. Weight: 33.5 kg.\nE-101 Joint overcurrent: the load exceeds the payload. "
            "Remove the\nobstruction.")
    parts = [text[a:b] for a, b in split_sentences(text)]
    assert parts == ["SK-220 Collaborative Robotic Arm - Datasheet", "The SK-220 is a six-axis arm.", "Specifications",
                     "Payload: 12 kg.", "Power: 350 W.", "Weight: 33.5 kg.",
                     "E-101 Joint overcurrent: the load exceeds the payload. Remove the\nobstruction."]


def test_table_rows_reach_the_model_with_their_column_names(embedder):
    table = ("| Office | Address | Desks |\n|---|---|---|\n| Eindhoven | Strijpweg 21 | 60 |\n"
             "| Lyon | 8 Quai des Ateliers | 20 |\n")
    evidence = select_evidence("What is the street address of the Lyon office?", {1: table}, embedder, 2)
    assert evidence.best.text == "| Lyon | 8 Quai des Ateliers | 20 |", "the row, not the header, scores best"
    shown = evidence.text(1)
    assert "Office: Lyon; Address: 8 Quai des Ateliers; Desks: 20." in shown
    assert "| Office |" not in shown and "---" not in shown
    # A question in the header's words ("robotics lab") gets rows, never the header row itself as the best.
    table = "| Office | Desks | Robotics lab |\n|---|---|---|\n| Eindhoven | 60 | Yes |\n| Lyon | 20 | No |\n"
    evidence = select_evidence("Which offices have a robotics lab?", {1: table}, embedder, 4)
    assert evidence.best.text.startswith("| Eindhoven") or evidence.best.text.startswith("| Lyon")
    assert "Office: Eindhoven; Desks: 60; Robotics lab: Yes." in evidence.text(1)


def checked(question: str, sources: dict[int, str], answer: str) -> SentenceChecker:
    """The citation rule run over the whole of `answer`, as the model would stream it."""
    checker = SentenceChecker(question, sources)
    checker.feed(answer)
    checker.flush()
    return checker


def test_a_figure_pinned_on_a_subject_its_source_never_mentions_is_removed():
    sources = {1: "office-locations.md\nDesks are not assigned. Book a desk at most 14 days ahead.",
               2: "it-service-catalogue.txt\n- P1 Critical: the VPN is down. Response within 30 minutes."}
    checker = checked("How often are fire drills held in the offices?", sources,
                      "Fire drills are held every 14 days [1].")
    assert checker.text == "" and "do not mention fire, drills, held" in checker.removed[0]
    # other word forms of the subject count ("responds" / "Response"), and a code is checked whole ("P1", not "P")
    checker = checked("How quickly does IT respond to a P1 incident?", sources,
                      "IT responds to a P1 incident within 30 minutes [2].")
    assert checker.text == "IT responds to a P1 incident within 30 minutes [2]." and not checker.removed
    handbook = {1: "employee-handbook.md\n- Parental leave: 16 weeks, to be taken within 18 months of the birth."}
    checker = checked("By when do I have to take it?", handbook,
                      "You have to take parental leave within 18 months of the birth [1].")
    assert not checker.removed, "'take' is a word of 'to be taken'"
    checker = checked("How far ahead can I book a desk?", sources, "You can book a desk at most 14 days ahead [1].")
    assert not checker.removed
    # a source that gives a phone number speaks of a phone without the word
    security = {1: "it-security-policy.html\nReport a lost device within one hour to the security hotline "
                   "+31 20 555 0199."}
    checker = checked("And what's the phone number?", security, "The phone number is +31 20 555 0199 [1].")
    assert checker.text == "The phone number is +31 20 555 0199 [1]." and not checker.removed
    checker = checked("And what's the phone number?", sources, "The phone number is 14 [1].")
    assert checker.text == "" and "do not mention phone" in checker.removed[0]


def test_a_figure_the_source_gives_for_another_thing_is_removed(embedder):
    """"16 weeks of bereavement leave" from "Parental leave: 16 weeks": every word and figure is in the source."""
    def similarity(a, b):
        first, second = embedder.embed_documents([a, b])
        return float(sum(x * y for x, y in zip(first, second)))

    sources = {1: "employee-handbook.md\n- Annual leave: 27 working days per calendar year.\n"
                  "- Parental leave: 16 weeks at full pay for every new parent.\n"
                  "Every employee has a learning budget of EUR 1,500 per year for courses.",
               2: "policy\nPasswords are at least 14 characters long and stored in the company password manager.\n"
                  "E-104 Encoder mismatch: the two encoders of a joint disagree by more than 0.5 degrees."}
    checker = SentenceChecker("How many days of bereavement leave do employees get?", sources, similarity)
    checker.feed("Employees get 16 weeks of bereavement leave [1].")
    checker.flush()
    assert checker.text == "" and "parental leave, not bereavement leave" in checker.removed[0]
    # a synonym is not another thing ("training budget" / "learning budget"), nor is the thing the source names
    for question, said in (("How much is the yearly training budget per employee?",
                            "The yearly training budget is EUR 1,500 per employee [1]."),
                           ("How long is parental leave?", "Parental leave is 16 weeks at full pay [1]."),
                           # "password" of "company password manager" names the manager; "minimum" is no thing
                           ("What is the minimum password length?",
                            "The minimum password length is 14 characters [2]."),
                           ("By how many degrees must a joint's encoders disagree?",
                            "The encoders must disagree by more than 0.5 degrees [2].")):
        checker = SentenceChecker(question, sources, similarity)
        checker.feed(said)
        checker.flush()
        assert checker.text == said and not checker.removed
    without = SentenceChecker("How many days of bereavement leave do employees get?", sources)
    without.feed("Employees get 16 weeks of bereavement leave [1].")
    without.flush()
    assert without.text, "without a similarity the rule is not applied"


def test_day_names_hold_where_the_source_abbreviates_them():
    sources = {1: "office-locations.md\n| Munich | Werkstraße 14, 80339 Munich | Mon–Fri 08:00–18:00 | 35 | No |"}
    checker = SentenceChecker("What are the opening hours of the Munich office?", sources)
    checker.feed("The Munich office is open Monday to Friday from 08:00 to 18:00 [1].")
    checker.flush()
    assert checker.text.startswith("The Munich office is open Monday to Friday") and not checker.removed
    checker = SentenceChecker("When is the Munich office open?", sources)
    checker.feed("It is open on Sundays from 08:00 [1].")
    checker.flush()
    assert checker.text == "" and checker.removed, "a day the source does not name is still a claim it lacks"


def test_tables_answer_which_rows_have_a_yes_no_feature():
    from app.answering.tables import table_answer, tables

    table = ("| Office | Desks | Robotics lab |\n|---|---|---|\n| Amsterdam (head office) | 140 | Yes |\n"
             "| Eindhoven | 60 | Yes |\n| Munich | 35 | No |\n\nAll offices are closed on weekends.")
    rows = [["Amsterdam (head office)", "140", "Yes"], ["Eindhoven", "60", "Yes"], ["Munich", "35", "No"]]
    assert tables(table) == [(["Office", "Desks", "Robotics lab"], rows)]
    assert table_answer("Which offices have a robotics lab?", {1: "Other text.", 2: table}) == \
        "Amsterdam (head office) and Eindhoven have a robotics lab [2]."
    assert table_answer("Which of our offices has a robotics lab?", {3: table}) == \
        "Amsterdam (head office) and Eindhoven have a robotics lab [3]."
    sheet = "Site: Lyon | Canteen: No\nSite: Oslo | Canteen: No\nTotal sites: 2"
    assert table_answer("Which sites have a canteen?", {1: sheet}) == \
        "None of the sites in the table has any canteen [1]."
    # Left to the model: no column of that name, a column that is not yes/no, a table the chunk may cut short.
    assert table_answer("Which offices have a gym?", {1: table}) is None
    assert table_answer("Which offices have desks?", {1: table}) is None
    assert table_answer("Which offices have a robotics lab?", {1: table[:table.index("| Munich")]}) is None
    assert table_answer("How many desks has Munich?", {1: table}) is None


def test_a_table_cell_answers_the_row_and_column_the_question_names():
    from app.answering.tables import cell_answer

    table = ("| Office | Address | Desks |\n|---|---|---|\n| Amsterdam (head office) | Havenlaan 7 | 140 |\n"
             "| Eindhoven | Strijpweg 21 | 60 |\n| Lyon | 8 Quai des Ateliers | 20 |\n\nAll offices close at 18:00.")
    assert cell_answer("How many desks does Eindhoven have?", {2: table}) == "Eindhoven: Desks 60 [2]."
    assert cell_answer("What is the street address of the Lyon office?", {1: table}) == \
        "Lyon: Address 8 Quai des Ateliers [1]."
    assert cell_answer("How many desks does the head office have?", {1: table}).startswith("Amsterdam (head office)")
    assert cell_answer("How many desks are there?", {1: table}, "How many desks are there? (Eindhoven office)") == \
        "Eindhoven: Desks 60 [1].", "a follow-up's row named by the conversation"
    # Left to the model: no row named, a row the table lacks, no column named, two columns named.
    assert cell_answer("How many desks are there?", {1: table}) is None
    assert cell_answer("How many desks does Berlin have?", {1: table}) is None
    assert cell_answer("What is the phone number of the Lyon office?", {1: table}) is None
    assert cell_answer("What are the address and desks of Lyon?", {1: table}) is None



def test_a_table_cell_answers_which_row_is_least_or_greatest():
    from app.answering.tables import cell_answer

    table = ("| Office | Opening hours | Desks |\n|---|---|---|\n| Amsterdam (head office) | Mon–Fri | 140 |\n"
             "| Eindhoven | Mon–Fri | 60 |\n| Lyon | Mon–Fri | 20 |\n\nAll offices close at 18:00.")
    assert cell_answer("Which office has the most desks?", {1: table}) == "Amsterdam (head office): Desks 140 [1]."
    assert cell_answer("Which of our offices has the fewest desks?", {3: table}) == "Lyon: Desks 20 [3]."
    # Of the rows the conversation names (the previous answer's offices), not of all rows: Lyon is smaller still.
    history = [("Which offices have a robotics lab?", "Amsterdam (head office) and Eindhoven have a robotics lab [3].")]
    question = "How many desks does the smaller of the two have?"
    query = follow_up_query(question, history)
    assert "Amsterdam" in query and "Eindhoven" in query, query
    assert cell_answer(question, {1: table}, query) == "Eindhoven: Desks 60 [1]."
    # A column that is not all numbers is no ranking: left to the model.
    assert cell_answer("Which office has the longest opening hours?", {1: table}) is None


def test_a_follow_up_is_scored_by_the_question_as_asked_too(embedder):
    text = ("Every employee has a learning budget of EUR 1,500 per year for courses, conferences and books. "
            "Requests under EUR 300 are approved by your manager; larger ones also by the head of department.")
    question = "Who approves a EUR 200 request from it?"
    query = f"{question} (learning budget per year)"
    asked = select_evidence(query, {1: text}, embedder, asked=question, asked_weight=0.5)
    assert asked.best.text.startswith("Requests under EUR 300"), asked.best.text


def test_a_heading_reaches_the_model_on_a_line_of_its_own(embedder):
    text = "## 5. Equipment\n\nNew employees may order a monitor, keyboard and chair for home up to EUR 800 in total."
    evidence = select_evidence("How much can I spend on home office equipment?", {1: text}, embedder)
    assert evidence.text(1).endswith("Equipment\nNew employees may order a monitor, keyboard and chair for home up "
                                     "to EUR 800 in total."), evidence.text(1)


def test_ranges_and_capacities_decide_a_yes_no_question():
    from app.answering.figures import figure_verdict
    from app.answering.quantities import quantities

    temperature = "Operating temperature: 0 to 45 degrees Celsius."
    assert figure_verdict("Can I run the arm in a cold store at minus 10 degrees?", temperature,
                          "operating SK-220") == (False, temperature)
    assert figure_verdict("Is 30 °C within the operating temperature?", temperature)[0] is True
    assert figure_verdict("Can the SK-220 run at -5 °C?", temperature, "operating temperature")[0] is False
    assert [(q.value, q.high) for q in quantities("Power supply: 100-240 V AC, between 18 and 22 °C")] == \
        [(100, 240), (18, 22)]
    assert figure_verdict("Can I connect the power supply to 230 V?", "Power supply: 100-240 V AC, 50/60 Hz.")[0]
    row = ("Office: Lyon; Address: 8 Quai des Ateliers, 69007 Lyon; Opening hours: Mon–Fri 08:30–17:30; Desks: 20; "
           "Robotics lab: No.")
    assert figure_verdict("Is the Lyon office open at 08:30?", row) == (True, row), "a table row stays one sentence"
    assert figure_verdict("Is the Lyon office open at 6 pm?", row)[0] is False
    assert figure_verdict("Is the Lyon office open at 09:00 on a Tuesday?", row)[0] is True
    assert figure_verdict("Is the Lyon office open at 09:00 on Saturdays?", row)[0] is False, "one figure fails"
    assert figure_verdict("Is the Lyon office open at the weekend?", row)[0] is False
    assert figure_verdict("Is the Lyon office open on Saturdays?", "All offices are closed on weekends.") is None, \
        "'closed' turns the range round"
    hotels = "The nightly hotel limit is EUR 160 in most cities and EUR 220 in London, Paris, Zurich and New York."
    assert figure_verdict("Will a EUR 190 hotel night in Paris be covered?", hotels) == (True, hotels), \
        "the figure stated for the place asked about, under the bound stated before the first"
    assert figure_verdict("Is the hotel limit in London EUR 250?", hotels)[0] is False
    assert figure_verdict("Can I book a EUR 190 hotel in Vienna?", hotels)[0] is False, "'most cities' for Vienna"
    assert figure_verdict("Is a EUR 200 hotel night within the limit?", hotels) is None, "no place named: no default"
    per_diem = "A per diem of EUR 45 per full travel day and EUR 25 per partial day (departure or return day)."
    assert figure_verdict("Is the per diem EUR 25 on my return day?", per_diem)[0] is True
    assert figure_verdict("Can the SK-220 lift 10 kg?", "SK-220 payload: 12 kg.")[0] is True, "a capacity is a maximum"
    assert figure_verdict("Can the SK-220 lift 15 kg?", "SK-220 payload: 12 kg.")[0] is False
    assert figure_verdict("Is the SK-220 payload 10 kg?", "SK-220 payload: 12 kg.")[0] is False, "asked as a value"


def test_a_yes_no_question_about_a_figure_is_decided_by_the_bound_its_sentence_states():
    from app.answering.figures import figure_verdict
    from app.answering.quantities import quantities

    remote = "Employees may work remotely up to three days per week."
    assert figure_verdict("Can I work from home four days a week?", remote) == (False, remote)
    assert figure_verdict("Can I work from home two days a week?", remote)[0] is True
    note = ("- Sick leave: tell your manager before 10:00 on the first day. "
            "A doctor's note is needed from the fourth day.")
    assert figure_verdict("Do I need a doctor's note on the second day of sick leave?", note) == (
        False, "A doctor's note is needed from the fourth day."), "the sentence of the item that shares most words"
    assert figure_verdict("Is a 40-hour week the full-time standard here?", "A full-time week is 38 hours.")[0] is False
    assert figure_verdict("Can I fly business class on a 10-hour flight?",
                          "business class is allowed only for flights longer than 8 hours.")[0] is True
    assert figure_verdict("Do I need a receipt for an EUR 8 taxi ride?",
                          "Claims need receipts for every item above EUR 10.")[0] is False
    assert figure_verdict("Can I postpone an operating system update for two weeks?",
                          "Operating system updates are installed within 7 days of release.")[0] is False
    assert figure_verdict("Can I carry over 4 unused leave days?", "- Up to 5 unused days may be carried over.")[0]
    assert quantities("Can I carry over 4 unused leave days?")[0].bound == "eq", "'carry over' is no bound"
    # Not decided: the model answers.
    assert figure_verdict("Can I work a four-day week on full pay?",
                          "Annual leave: 27 working days per calendar year for full-time employees.") is None
    assert figure_verdict("Is the per diem EUR 45 on the day I fly back?",
                          "A per diem of EUR 45 per full travel day and EUR 25 per partial day.") is None
    assert figure_verdict("Can I leave my laptop unattended for 5 minutes?",
                          "Laptops must not be left unattended for more than 10 minutes.") is None, "a negation"
    assert figure_verdict("Is the payload at least 10 kg?", "Payload: 12 kg.") is None, "the question's own bound"
    assert figure_verdict("Do core hours start at 11:00?", "Our core hours are 10:00 to 15:00 local time.") is None, \
        "a start asked is an end of the range, not a point inside it"
    assert figure_verdict("Can I check in my desk at 10:45?",
                          "A booking not checked in by 10:30 is released.") is None, "a lone clock time is no rule"
    assert figure_verdict("Can the arm carry 10 kg?", "The gripper weighs 12 kg.") is None, "no word in common"


def test_a_quote_stands_in_only_with_the_kind_of_figure_asked_for():
    from app.answering.citations import gives_what_is_asked

    assert not gives_what_is_asked("How much does the SK-220 cost?", "The SK-220 weighs 33.5 kg.")
    assert gives_what_is_asked("How much does the SK-220 cost?", "The SK-220 costs EUR 24,000.")
    claim = "Expense claims are submitted within 30 days of the end of the trip."
    assert gives_what_is_asked("How long after the trip can I still claim it?", claim)
    assert not gives_what_is_asked("How soon must I report it?", "Report it to the security hotline.")
    assert gives_what_is_asked("How soon must I report it?", "Report it immediately to the security hotline.")
    speed = "Maximum tool speed: 2 m/s (collaborative mode: 250 mm/s)."
    assert not gives_what_is_asked("What is the maximum joint speed in degrees per second?", speed)
    assert gives_what_is_asked("What is the maximum tool speed in mm per second?", speed)
    assert gives_what_is_asked("Who approves it?", speed), "a question that asks for no figure takes any sentence"
    assert gives_what_is_asked("What is the hotel limit in Vienna?", "The limit is EUR 160 in most cities.")
    assert not gives_what_is_asked("And what does it cost?", "The SK-220 carries a warranty of 36 months."), \
        "a price asked as 'what does it cost'"


def test_a_sentence_moves_to_the_source_that_says_it():
    sources = {1: "employee-handbook.md\nParental leave: 16 weeks at full pay.",
               2: "travel-expenses.txt\nMileage is paid at EUR 0.30 per kilometre.",
               3: "sk-220-datasheet.pdf\nPayload: 12 kg."}
    lowered = {n: t.lower() for n, t in sources.items()}
    support = {1: 0.71, 2: 0.42, 3: 0.10}
    assert recite("Yes, it is paid [2].", support, lowered, "Is it paid?") == "Yes, it is paid [1]."
    assert recite("Yes, it is paid [2].", {1: 0.50, 2: 0.42, 3: 0.1}, lowered, "Is it paid?") \
        == "Yes, it is paid [2].", "within the margin the model's marker stands"
    # The best-matching source must also hold the sentence's claims: 12 kg is only in [3].
    assert recite("It carries 12 kg [3].", {1: 0.9, 2: 0.2, 3: 0.3}, lowered, "What does it carry?") \
        == "It carries 12 kg [3]."
    assert recite("It is paid [1].", support, lowered) == "It is paid [1]."

    checker = SentenceChecker("Is it paid?", sources, support=lambda sentence: support)
    checker.feed("Yes, it is paid [2]. ")
    checker.flush()
    assert checker.text == "Yes, it is paid [1]."


def test_a_follow_up_answered_from_a_source_off_the_conversations_subject_is_removed():
    sources = {1: "it-security-policy.html\nPasswords are stored in the company password manager.",
               2: "office-locations.md\nOn your team's office day, the app keeps a block of desks together."}
    checker = SentenceChecker("And where should I keep it?", sources, subject=frozenset({"password"}))
    checker.feed("The app keeps a block of desks for the team together [2]. ")
    checker.flush()
    assert checker.text == "" and "mention password" in checker.removed[0]
    kept = SentenceChecker("And where should I keep it?", sources, subject=frozenset({"password"}))
    kept.feed("Keep it in the company password manager [1]. ")
    kept.flush()
    assert kept.text == "Keep it in the company password manager [1]."
    # a sentence re-cited to the source that says it is judged by that source
    leave = {1: "employee-handbook.md\n- Parental leave: 16 weeks at full pay for every new parent.",
             4: "travel-expenses.txt\nMeals are covered by a per diem of EUR 45 per full travel day."}
    recited = SentenceChecker("Is it paid?", leave, support=lambda sentence: {1: 0.8, 4: 0.3},
                              subject=frozenset({"parent", "leav"}))
    recited.feed("Yes, it is paid [4]. ")
    recited.flush()
    assert recited.text == "Yes, it is paid [1]." and not recited.removed


def test_a_yes_that_affirms_a_figure_no_source_meets_is_removed():
    handbook = {1: "employee-handbook.md\n- Annual leave: 27 working days per calendar year.\n- A doctor's note is "
                   "needed from the fourth day.",
                2: "employee-handbook.md\nEmployees may work remotely up to three days per week."}
    checker = SentenceChecker("Can I work a four-day week on full pay?", handbook)
    checker.feed("Yes, you can work a four-day week on full pay [1]. ")
    checker.flush()
    assert checker.text == "" and "no source states four-day" in checker.removed[0]
    # a figure within a stated bound is met; a "No" and the quote of a decided question are left alone
    for question, sentence in [("Can I work remotely two days a week?", "Yes, you can work remotely two days a week [2]."),
                               ("Can I work remotely four days a week?", "No, at most three days per week [2]."),
                               ("Can I work remotely four days a week?",
                                "Yes: the documents say “Employees may work remotely up to three days per week.” [2]")]:
        checker = SentenceChecker(question, handbook)
        checker.feed(sentence + " ")
        checker.flush()
        assert checker.text == sentence and not checker.removed, sentence


def test_a_marker_after_an_abbreviation_stays_with_its_sentence():
    sources = {1: "sk-220-datasheet.pdf\nThe service line answers 24 hours a day, also at night."}
    checker = SentenceChecker("Can I call them at 3 a.m.?", sources)
    for piece in ["Yes, you can call them at 3 a.m.", " [1", "]. They answer 24 hours a day [1]."]:
        checker.feed(piece)
    checker.flush()
    assert checker.kept == ["Yes, you can call them at 3 a.m. [1].", "They answer 24 hours a day [1]."]
    assert not checker.removed


# The Best Buy FY2019 10-K's page 31, as pypdf reads it (the unit broken over two lines).
FISCAL_2018 = ("Fiscal\n2018 Results Compared With Fiscal 2017 Consolidated revenue of $42.2 bill\nion in fiscal 2018 "
               "increased 7.0% compared to fiscal 2017.")


def test_a_figure_the_source_gives_for_another_year_is_removed():
    from app.answering.periods import asked_years, wrong_period

    question = "What was Best Buy's revenue in fiscal 2019?"
    checker = SentenceChecker(question, {1: "BESTBUY_2019_10K.pdf\n" + FISCAL_2018})
    assert checker.feed("Best Buy's revenue in fiscal 2019 was $42.2 billion [1]. ") == ""
    assert checker.flush() == "" and "given for 2018" in checker.removed[0]
    # The same figure for the year its source gives, or asked for that year, stands.
    for asked, said in [(question, "Revenue was $42.2 billion in fiscal 2018 [1]."),
                        ("What was Best Buy's revenue in FY2018?", "Revenue was $42.2 billion [1]."),
                        ("How did revenue change from FY2017 to FY2019?", "Revenue was $42.2 billion [1].")]:
        kept = SentenceChecker(asked, {1: FISCAL_2018})
        assert kept.feed(said + " ") + kept.flush() == said and not kept.removed
    assert asked_years("from FY17 to FY2019") == {2017, 2018, 2019} and asked_years("a $2019 fee") == set()
    # Figures tied to no year stay: a table row under its year columns, notes "due 2028".
    for source in ["Revenue $ 42,879 $ 42,151\n2018 2017", "$500 million notes due 2028"]:
        figure = "42879" if "42" in source else "500"
        assert wrong_period(f"It was {figure} [1].", question, [source.lower()]) is None
    # A date ties within a year either side: the second quarter of Best Buy's fiscal 2024 ended on July 29, 2023.
    quarter = "revenue was $9,583 million for the three months ended july 29, 2023."
    assert wrong_period("Revenue was $9,583 million [1].", "What was Q2 FY2024 revenue?", [quarter]) is None
    assert "given for 2023" in wrong_period("Revenue was $9,583 million [1].", "What was 2021 revenue?", [quarter])


def test_a_quote_of_another_years_figure_does_not_stand_in():
    question = "What was Best Buy's revenue in fiscal 2019?"
    quote = f"The documents say: “{' '.join(FISCAL_2018.split())}” [1]"
    checker = SentenceChecker(question, {1: FISCAL_2018})
    checker.feed("The documents do not contain the answer.")
    assert checker.flush(quote) == "The documents do not contain the answer." and not checker.quoted
    asked_2018 = SentenceChecker("What was Best Buy's revenue in fiscal 2018?", {1: FISCAL_2018})
    asked_2018.feed("The documents do not contain the answer.")
    assert asked_2018.flush(quote) == quote


def test_a_yes_about_a_name_no_source_mentions_is_removed():
    handbook = {3: "employee-handbook.md\nNew employees receive a laptop of their choice (macOS or Linux)."}
    checker = checked("Can I get Windows instead?", handbook, "Yes, you can get Windows instead [3].")
    assert checker.text == "" and "no source mentions Windows" in checker.removed[0]
    checker = checked("Can I get Linux?", handbook, "Yes, you can get Linux [3].")
    assert checker.text == "Yes, you can get Linux [3]." and not checker.removed
    offices = {1: "office-locations.md\n| Eindhoven | Mon–Fri 08:00–18:00 |"}
    checker = checked("Is the Eindhoven office open on a Tuesday?", offices, "Yes, it is open on weekdays [1].")
    assert not checker.removed, "a day name is decided by the days the source gives, not by the word"
