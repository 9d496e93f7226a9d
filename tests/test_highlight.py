"""Query-term marking in the source cards (whole words, no stop words, codes whole, escaped) and the reflow of
PDF line breaks for reading. Pure functions: no model, no store."""

from __future__ import annotations

import re

from app.pages import highlight_terms, query_terms, reflow
from app.render import source_cards


def marked(html_text: str) -> list[str]:
    return re.findall(r"<mark>(.*?)</mark>", html_text)


# --- highlight_terms ---------------------------------------------------------------------------------------


def test_whole_words_only_no_fragment_inside_a_longer_word():
    out = highlight_terms("Then the theme: th is short, thermal too.", ["the", "th", "therm"])
    assert marked(out) == []  # "the" is a stop word, "th" too short, "therm" only inside "thermal"
    assert "Then" in out and "<mark>Th" not in out


def test_term_is_not_marked_as_a_prefix_or_suffix():
    out = highlight_terms("pump pumped pumpkin sump-pump repump", ["pump"])
    assert marked(out) == ["pump", "pumped", "pump"]  # "pump" in sump-pump is a whole word; pumpkin/repump aren't


def test_stop_words_are_never_marked():
    out = highlight_terms("What does the valve do when it is open?", ["what", "does", "the", "when", "it", "is",
                                                                      "valve", "open"])
    assert marked(out) == ["valve", "open"]


def test_case_insensitive():
    assert marked(highlight_terms("VALVE Valve valve", ["Valve"])) == ["VALVE", "Valve", "valve"]


def test_code_marked_whole_including_the_hyphen():
    terms = query_terms("What does E-104 mean?")
    assert "e-104" in terms and "what" not in terms and "does" not in terms
    out = highlight_terms("Error E-104 means the encoders disagree; E-1045 and XE-104 are other codes.", terms)
    assert marked(out) == ["E-104", "means"]
    assert "<mark>E-104</mark> <mark>means</mark>" in out


def test_short_terms_kept_only_with_a_digit():
    out = highlight_terms("Set A1 to on, see 7B and ok.", ["a1", "7b", "on", "ok", "a"])
    assert marked(out) == ["A1", "7B"]


def test_code_with_pdf_dash_variant():
    assert marked(highlight_terms("Fault SK\u2013220 on joint 2", query_terms("SK-220 fault"))) == ["Fault", "SK\u2013220"]


def test_plural_and_inflection_tolerance():
    out = highlight_terms("One day, three days, daylight, Monday.", ["days"])
    assert marked(out) == ["day", "days"]  # never "daylight" or "Monday"
    out = highlight_terms("close it, closes, closed, closing, closer, closet", ["closed"])
    assert marked(out) == ["close", "closes", "closed", "closing"]
    out = highlight_terms("stop, stops, stopped, stopping, stopover", ["stopped"])
    assert marked(out) == ["stop", "stops", "stopped", "stopping"]
    out = highlight_terms("a battery, two batteries, battered", ["batteries"])
    assert marked(out) == ["battery", "batteries"]
    out = highlight_terms("the box and boxes; boxer", ["boxes"])
    assert marked(out) == ["box", "boxes"]


def test_codes_are_not_inflected():
    assert marked(highlight_terms("E-104 E-104s E-104ed", ["e-104"])) == ["E-104"]


def test_text_is_escaped_and_terms_next_to_ampersand_and_angle_brackets():
    out = highlight_terms("valve&pump <valve> <script>alert(1)</script> \"pump\"", ["valve", "pump", "script"])
    assert "<script>" not in out and "&lt;<mark>script</mark>&gt;" in out
    assert "<mark>valve</mark>&amp;<mark>pump</mark>" in out
    assert "&lt;<mark>valve</mark>&gt;" in out
    assert "&quot;<mark>pump</mark>&quot;" in out
    # The only tags in the output are our marks.
    assert set(re.findall(r"</?([a-z]+)", out)) == {"mark"}


def test_marks_never_break_an_entity():
    # Terms spelled like the entity names html.escape writes: "amp", "quot", "x27".
    out = highlight_terms("R&D, \"quoted\", it's, amp quot x27", ["amp", "quot", "x27", "quoted"])
    assert "&amp;" in out and "&quot;" in out and "&#x27;" in out
    assert "&<mark>" not in out and "#<mark>" not in out
    assert marked(out) == ["quoted", "amp", "quot", "x27"]


def test_term_with_an_ampersand_matches_the_escaped_text():
    assert marked(highlight_terms("R&D budget", ["r&d"])) == ["R&amp;D"]


def test_no_terms_gives_the_escaped_text():
    assert highlight_terms("a < b & c", []) == "a &lt; b &amp; c"
    assert highlight_terms("a < b & c", ["the", "of", "a"]) == "a &lt; b &amp; c"


# --- query_terms / ui._terms ---------------------------------------------------------------------------------


def test_query_terms():
    assert query_terms("How many days does the joint's follow-up take?") == ["many", "days", "joint", "follow-up",
                                                                            "follow", "take"]
    assert query_terms("What is it?") == []
    assert query_terms("SK-220 and 10-K in v2.1") == ["sk-220", "10-k", "v2.1"]


def test_ui_terms_uses_whole_query_words_not_stems():
    from app.ui import _terms

    terms = _terms("What does E-104 mean for the organization?")
    assert "e-104" in terms and "organization" in terms
    assert "organ" not in terms and "the" not in terms and "what" not in terms
    out = highlight_terms("The organ of the organization: E-104.", terms)
    assert marked(out) == ["organization", "E-104"]


# --- reflow ----------------------------------------------------------------------------------------------------


def test_reflow_joins_wrapped_lines_and_keeps_paragraph_breaks():
    text = "The pump stops\nwhen the valve\ncloses.\n\nA new paragraph\nstarts here."
    assert reflow(text) == "The pump stops when the valve closes.\n\nA new paragraph starts here."


def test_reflow_joins_hyphenation_only_before_lower_case():
    assert reflow("An exam-\nple of hyphen-\nation.") == "An example of hyphenation."
    assert reflow("Fault SK-\n220 and Jean-\nPierre") == "Fault SK-220 and Jean-Pierre"
    assert reflow("costs -\nbenefits") == "costs - benefits"


def test_reflow_keeps_list_items_and_table_rows_on_their_lines():
    text = ("Steps:\n- open the valve\n- close the\n  drain\n• check\n* log it\n1. first\n2. second\n"
            "| code | meaning |\n| E-104 | encoders disagree |\nAfter the table.")
    assert reflow(text) == ("Steps:\n- open the valve\n- close the drain\n• check\n* log it\n1. first\n2. second\n"
                            "| code | meaning |\n| E-104 | encoders disagree |\nAfter the table.")


def test_reflow_keeps_blank_lines_and_edges():
    assert reflow("") == ""
    assert reflow("one line") == "one line"
    assert reflow("a\n\n\nb\n") == "a\n\n\nb\n"
    assert reflow("wrapped\r\nline") == "wrapped line"


# --- source_cards ----------------------------------------------------------------------------------------------


def _answer(text: str) -> dict:
    return {"sources": [{"number": 1, "file": "manual<1>.pdf", "page": 2, "text": text, "start": 10,
                         "end": 10 + len(text), "breakdown": {}}],
            "citations": [{"sources": [1], "supported": True}]}


def test_source_cards_show_reflowed_marked_escaped_text_and_keep_the_stored_text():
    text = "Error E-104 means the two en-\ncoders of a joint\ndisagree.\n\n- reset <joint> & retry"
    answer = _answer(text)
    out = source_cards(answer, query_terms("What does E-104 mean for encoders?"))
    body = re.search(r'<div class="askdocs-source-text">(.*?)</div>', out, re.S).group(1)
    assert body == ("Error <mark>E-104</mark> <mark>means</mark> the two <mark>encoders</mark> of a joint disagree."
                    "\n\n- reset &lt;joint&gt; &amp; retry")
    assert "manual&lt;1&gt;.pdf" in out
    # Display only: the chunk itself (and its span) is untouched.
    assert answer["sources"][0]["text"] == text and answer["sources"][0]["end"] == 10 + len(text)
