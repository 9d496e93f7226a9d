"""Scoring answers by kind: numbers with units and scale, phrases, yes/no, abstentions."""

from app.answer_scoring import infer_kind, is_correct, number_matches, phrase_matches, quantities, yesno_verdict


def test_numbers_match_by_value_with_units_and_scale():
    assert number_matches("1200000", "Revenue was $1.2 million [1].")
    assert number_matches("$1.2 million", "Revenue was 1,200,000 dollars.")
    assert number_matches("0.12", "The margin was 12% [2].")
    assert number_matches("12%", "a ratio of 0.12")
    assert number_matches("1,500", "a learning budget of EUR 1,500 per year")
    assert number_matches("0.66", "about 0.664") and not number_matches("0.66", "It is 6.6 or 66")
    assert number_matches("$1,577", "Capital expenditure was $1577 million [2].")
    assert number_matches("4", "a doctor's note from the fourth day") and number_matches("3", "up to three days")
    assert not number_matches("27", "Employees get 25 working days.")
    assert (1300.0, 0) in quantities("Reach: 1,300 mm") and not number_matches("1300", "1.3 m")


def test_phrases_match_whole_words_after_normalisation():
    assert phrase_matches("Dear Evan Hansen", "He played in dear evan hansen.")
    assert not phrase_matches("Evan", "Evanston")
    assert phrase_matches("31 March", "they expire on 31 March [1].")
    assert phrase_matches("people@harborlane.example", "Write to people@harborlane.example.")


def test_yes_no_reads_the_verdict():
    assert yesno_verdict("No, business class is only for flights over 8 hours [1].") == "no"
    assert yesno_verdict("Yes [2].") == "yes"
    assert yesno_verdict("Business class is not allowed on that flight [1].") == "no"
    assert yesno_verdict("Business class is allowed for flights longer than 8 hours [1].") == "yes"


def test_required_facts_alternatives_and_abstention():
    two = ["45", "25"]
    assert is_correct("number", two, "EUR 45 per full travel day and EUR 25 per partial day [1].", False)
    assert not is_correct("number", two, "EUR 25 per full travel day and EUR 25 per partial day [1].", False)
    assert is_correct("phrase", [["macos", "mac"], ["linux"]], "macOS or Linux [1].", False)
    assert not is_correct("phrase", [["macos", "mac"], ["linux"]], "macOS [1].", False)
    assert not is_correct("number", ["27"], "27 days", True), "an abstention is never a right answer"
    assert is_correct("absent", [], "The documents do not contain the answer.", True)
    assert not is_correct("absent", [], "It is 12 kg [1].", False)


def test_kinds_of_gold_answers_without_one():
    assert infer_kind(["$1577.00"]) == "number" and infer_kind(["Yes"]) == "yesno"
    assert infer_kind(["Dear Evan Hansen"]) == "phrase" and infer_kind(["a long answer of many words here"]) is None
