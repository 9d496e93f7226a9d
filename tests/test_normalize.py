from ingest.normalize import normalize_text


def test_hyphenated_line_breaks_are_joined():
    assert normalize_text("an exam-\nple of hyphen-\nation") == "an example of hyphenation"


def test_codes_keep_their_hyphen_across_a_line_break():
    assert normalize_text("model SK-\n220 and Form 10-\nK") == "model SK-220 and Form 10-K"


def test_whitespace_is_collapsed_but_paragraphs_stay():
    assert normalize_text("a  \t b\n\n\n\n  c   \nd") == "a b\n\nc\nd"


def test_ligatures_and_control_characters():
    assert normalize_text("ﬁnance\x00 of\x07ﬁce") == "finance office"


def test_lone_surrogates_are_dropped():
    assert normalize_text("bad \udb62text") == "bad text"
