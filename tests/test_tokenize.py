from retrieval.tokenize import tokenize


def test_case_stemming_and_stopwords():
    assert tokenize("The Policies are RUNNING") == ["polici", "run"]


def test_codes_are_kept_whole_and_in_parts():
    assert tokenize("SK-220") == ["sk-220", "sk", "220"]
    assert tokenize("Form 10-K") == ["form", "10-k", "10"]
    assert "e-104" in tokenize("error E-104 occurred")


def test_numbers():
    assert tokenize("1,300 mm and 0.03 mm") == ["1300", "mm", "0.03", "mm"]
    assert tokenize("FY2015") == ["fy2015"]


def test_punctuation_and_possessives():
    assert tokenize("company's (revenue), growth!") == ["compani", "revenu", "growth"]


def test_unicode_words():
    assert tokenize("Über München") == ["über", "münchen"]


def test_query_and_document_agree():
    assert set(tokenize("sk-220 payload")) <= set(tokenize("The SK-220's payload is 12 kg."))
