"""Map [n] markers to sources, drop the ones that point nowhere, and check each sentence against its sources.

`ground_sentence` is the rule that nothing uncited is presented as cited: a sentence whose claims (figures,
codes, names) are not in the sources it cites is re-cited to the source that holds them, or removed; a sentence
without a marker whose claims one source holds gets that source's marker; one whose claims no source holds is
removed. `app.answering.checker` applies it sentence by sentence as an answer streams.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from app.answering.quantities import UNITS, quantities
from app.answering.verify import is_yes_no
from retrieval.tokenize import tokenize

_MARKER = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
# Markers that open a piece split off after a full stop ("3 a.m. [1].": "[1]." belongs to the sentence before)
_LEADING_MARKERS = re.compile(rf"^(?:{_MARKER.pattern}\s*)+[.!?]?")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])|\n+")
_NUMBER = re.compile(r"\d[\d,.]*\d|\d")


_CODE = re.compile(r"(?<![\w-])(?=[\w-]*\d)(?=[\w-]*[A-Za-z])[A-Za-z0-9]+(?:[-/][A-Za-z0-9]+)*(?![\w-])")
_ORDINAL_OR_UNIT = re.compile(r"^\d+(?:st|nd|rd|th|s|h|m|km|kg|mm|cm|am|pm|k)$", re.I)
# Periods and filing types are written other ways in documents ("fiscal 2022", "second quarter", "Form 10-K"):
# they are no identifiers that a document must spell the same way.
_PERIOD_OR_FORM = re.compile(r"^(?:FY|CY|Q[1-4]|H[12])'?\d{0,4}$|^(?:Q|H)\d$|^\d{1,2}-[A-Z]$|^[A-Z]-\d$", re.I)
_WORD = re.compile(r"[^\W\d_]+")


@dataclass
class CitationCheck:
    sentence: str
    sources: list[int]
    supported: bool
    overlap: float  # share of the sentence's terms found in its cited sources

    def to_dict(self) -> dict:
        return asdict(self)


def clean_markers(text: str, n_sources: int) -> str:
    """Keep [n] markers with 1 <= n <= n_sources; drop the rest (a model may invent [7] with 5 sources)."""

    def keep(match: re.Match) -> str:
        numbers = [int(n) for n in re.split(r"\s*,\s*", match.group(1))]
        valid = [n for n in dict.fromkeys(numbers) if 1 <= n <= n_sources]
        return "".join(f"[{n}]" for n in valid)

    cleaned = _MARKER.sub(keep, text)
    return re.sub(r"[ \t]+([.,;:!?])", r"\1", cleaned)


def renumber_markers(text: str, numbers: dict[int, int]) -> str:
    """The [n] markers of `text` mapped through `numbers` (n not in it stays n)."""
    def mapped(match: re.Match) -> str:
        return "[" + ", ".join(str(numbers.get(int(n), int(n))) for n in re.split(r"\s*,\s*", match.group(1))) + "]"
    return _MARKER.sub(mapped, text)


def cited_numbers(text: str) -> list[int]:
    seen: dict[int, None] = {}
    for match in _MARKER.finditer(text):
        for n in re.split(r"\s*,\s*", match.group(1)):
            seen[int(n)] = None
    return list(seen)


def split_sentences(text: str) -> list[str]:
    """The sentences of an answer; markers after a sentence's full stop stay with it ("at 3 a.m. [1].")."""
    out: list[str] = []
    for piece in (s.strip() for s in _SENTENCE.split(text) if s and s.strip()):
        lead = _LEADING_MARKERS.match(piece)
        if lead and out:
            out[-1] = f"{out[-1]} {lead.group().strip()}"
            piece = piece[lead.end():].strip()
        if piece:
            out.append(piece)
    return out


def check_citations(text: str, source_texts: dict[int, str], threshold: float = 0.5) -> list[CitationCheck]:
    """For every sentence with markers: is it backed by what its sources say (terms and numbers)?"""
    source_terms = {n: set(tokenize(t)) for n, t in source_texts.items()}
    source_numbers = {n: set(_numbers(t)) for n, t in source_texts.items()}
    checks = []
    for sentence in split_sentences(text):
        numbers = cited_numbers(sentence)
        if not numbers:
            continue
        plain = _MARKER.sub(" ", sentence)
        terms = set(tokenize(plain))
        cited_terms = set().union(*(source_terms.get(n, set()) for n in numbers))
        overlap = len(terms & cited_terms) / len(terms) if terms else 1.0
        # Figures are where small models go wrong: every number must appear in a cited source.
        wanted_numbers = set(_numbers(plain))
        have_numbers = set().union(*(source_numbers.get(n, set()) for n in numbers))
        supported = overlap >= threshold and wanted_numbers <= have_numbers
        checks.append(CitationCheck(sentence, numbers, supported, round(overlap, 3)))
    return checks


def _numbers(text: str) -> list[str]:
    return [n.replace(",", "").rstrip(".") for n in _NUMBER.findall(text)]


def strip_markers(text: str) -> str:
    """The text with its [n] markers blanked out."""
    return _MARKER.sub(" ", text)


def figures(text: str) -> list[str]:
    """The figures a text states, markers left out, without thousands separators ("EUR 1,500 [1]" -> ["1500"])."""
    return _numbers(strip_markers(text))


def codes(text: str) -> list[str]:
    """Product, error and policy codes: a capital letter and a digit in one token (SK-330, E-150, P5, TEP-7;
    not 5th, 10am, 6-hour, 12kg, nor periods and filing types: FY2022, Q2, 10-K)."""
    return [c for c in _CODE.findall(text) if not _ORDINAL_OR_UNIT.match(c) and not _PERIOD_OR_FORM.match(c)
            and any(ch.isupper() for ch in c)]


def claims(sentence: str, question: str = "") -> list[str]:
    """What a sentence asserts that a source must hold: its figures, codes and names (capitalised words
    inside the sentence). Names and figures the question itself gives are not claims; codes are, since a
    source's facts about SK-220 do not hold for the SK-330 the question asked about."""
    plain = _MARKER.sub(" ", sentence)
    asked = question.lower()
    found = [code.lower() for code in codes(plain)]
    # Periods and forms (Q3, FY2022, 10-K) are claims as written, not as a letter and a number: a source
    # about "Q3" holds "q3", never a free-standing "3".
    periods = [p.lower() for p in _CODE.findall(plain) if _PERIOD_OR_FORM.match(p)]
    found += [p for p in periods if not _in(p, asked)]
    # Codes and periods are checked whole above; their letters are no name ("P1" is not a word "P").
    rest = _CODE.sub(lambda m: " " if _PERIOD_OR_FORM.match(m.group()) or m.group().lower() in found else m.group(),
                     plain)
    in_codes = " ".join(found)
    for number in _numbers(rest):
        if number not in in_codes and not _in(number, asked):
            found.append(number)
    for word in _WORD.findall(rest)[1:]:  # the first word is capitalised for being first
        if word[0].isupper() and word.lower() not in _COMMON and not _in(word.lower(), asked):
            found.append(word.lower())
    return list(dict.fromkeys(found))


def _in(claim: str, text: str) -> bool:
    return re.search(rf"(?<![\w.]){re.escape(claim)}(?![\w]|\.\d)", text) is not None


def holds(claim: str, text: str) -> bool:
    """Whether `text` (lower-cased, see `grounding_texts`) states `claim` (see `claims`)."""
    if claim.lower() in _CALENDAR_NAMES and _in(claim.lower()[:3], text):  # "Monday" of "Mon–Fri 08:00–18:00"
        return True
    return _in(claim, text) or (claim.replace(",", "") != claim and _in(claim.replace(",", ""), text))


_CALENDAR_NAMES = frozenset("monday tuesday wednesday thursday friday saturday sunday january february march april "
                            "june july august september october november december".split())


def ground_sentence(sentence: str, source_texts: dict[int, str], question: str = "") -> tuple[str | None, str, bool]:
    """(the sentence as shown or None when removed, why it was removed, whether a marker was added).
    `source_texts`: {number: lower-cased text without thousands separators}, see `grounding_texts`."""
    numbers = [n for n in cited_numbers(sentence) if n in source_texts]
    if is_refusal(sentence):  # "the documents do not say": nothing to cite
        return _MARKER.sub("", sentence).replace(" .", ".").strip(), "", False
    if question and not _adds_anything(sentence, question):
        return None, f"{sentence} (it only restates the question)", False
    if question and asks_for_money(question) and figures(sentence) \
            and not states_money(sentence):
        # "How much does the SK-220 cost?" answered "33.5 kg": a figure of the source, but not a price.
        return None, f"{sentence} (the question asks for an amount of money; the sentence gives none)", False
    found = claims(sentence, question)
    if not numbers:
        if not found:
            return sentence, "", False
        best = _best_holder(sentence, found, source_texts, question)
        if best is None:
            return None, f"{sentence} (no source says {', '.join(found)})", False
        return _add_marker(sentence, best), "", True
    cited_text = " ".join(source_texts[n] for n in numbers)
    missing = [c for c in found if not holds(c, cited_text)]
    off_subject = _off_subject(sentence, question, cited_text) if found else []
    if missing or off_subject:
        # Small models often cite the neighbouring number: a sentence that another source supports keeps
        # its place with that source's marker instead.
        best = _best_holder(sentence, found, source_texts, question)
        if best is not None:
            return _add_marker(_MARKER.sub("", sentence).replace(" .", "."), best), "", True
        if missing:
            return None, f"{sentence} (its sources do not say {', '.join(missing)})", False
        return None, f"{sentence} (its sources do not mention {', '.join(off_subject)})", False
    return sentence, "", False


def recite(sentence: str, support: dict[int, float], source_texts: dict[int, str], question: str = "",
           margin: float = 0.1) -> str:
    """The sentence with its markers pointed at the source that says it, when that is not the one it cites.

    `support`: {source number: how closely the source's best sentence matches this one (cosine)}; the sentence
    moves to the best-matching source that also holds its claims, when that one beats every cited source by
    `margin`. The 1.5B model cites a neighbouring number for sentences without figures ("Yes, it is paid [4]"
    citing the travel policy for the handbook's parental leave). `source_texts` as for `ground_sentence`."""
    numbers = [n for n in cited_numbers(sentence) if n in source_texts]
    if not numbers or not support:
        return sentence
    found = claims(sentence, question)
    holders = [n for n in support if n in source_texts and all(holds(c, source_texts[n]) for c in found)
               and not (found and _off_subject(sentence, question, source_texts[n]))]
    if not holders:
        return sentence
    best = max(holders, key=lambda n: support[n])
    if best in numbers or support[best] <= max(support.get(n, -1.0) for n in numbers) + margin:
        return sentence
    return _add_marker(_MARKER.sub("", sentence).replace(" .", ".").rstrip(), best)


def _best_holder(sentence: str, found: list[str], source_texts: dict[int, str], question: str = "") -> int | None:
    """The source that holds every claim, mentions the sentence's subject, and shares most of its terms."""
    holders = [n for n, t in source_texts.items() if all(holds(c, t) for c in found)
               and not _off_subject(sentence, question, t)]
    return max(holders, key=lambda n: _overlap(sentence, source_texts[n])) if holders else None


# Words of a question that name no subject: a source holding "days" does not thereby speak of fire drills.
_GENERIC = frozenset(tokenize("many much long often get need needed use used employee employees staff day days "
                              "week weeks month months year years time times number amount people person company"))


def _off_subject(sentence: str, question: str, source_text: str) -> list[str]:
    """The question's words the sentence repeats ("fire drills") when its source contains none of them: the
    small model pinned the source's figure ("every 14 days" of desk booking) onto the question's subject.
    Measured on the dev questions of tests/qa/sample-qa.jsonl: it removed the two invented answers to questions
    the documents do not answer and none of the right ones."""
    asked = set(tokenize(question)) - _GENERIC
    subject = {word.lower(): terms for word in _SUBJECT_WORD.findall(_MARKER.sub(" ", sentence))
               if (terms := set(tokenize(word)) & asked)}
    if not subject:
        return []
    held = set(tokenize(source_text))
    # A source that gives a phone number or an e-mail address speaks of one without the word ("security hotline
    # +31 20 555 0199" for "And what's the phone number?").
    held |= {term for term, pattern in _KIND_TERMS if pattern.search(source_text)}
    # Stems differ between word forms ("respond", "respons"): five letters in common are the same word here,
    # and so is a word that begins another ("take" of "to be taken").
    prefixes = {t[:5] for t in held if len(t) >= 5}
    for terms in subject.values():
        if terms & held or any(len(t) >= 5 and t[:5] in prefixes for t in terms) \
                or any(len(t) >= 4 and h.startswith(t) for t in terms for h in held):
            return []
    return list(subject)


_SUBJECT_WORD = re.compile(r"\w[\w'’-]*")
_PHONE = re.compile(r"\+\d[\d ()/-]{6,}\d")
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.-]+")
# An address or a number is how one contacts or reaches someone ("How do I contact them?" beside "Owner: People
# Operations (people@harborlane.example)").
_KIND_TERMS = [(term, _PHONE) for term in tokenize("phone telephone call contact reach")] + \
    [(term, _EMAIL) for term in tokenize("email e-mail mail contact reach write")]


_ASKED_NAME = re.compile(r"(?<=\s)[A-Z][\w-]+")  # a capitalised word of the question after its first
_YES = re.compile(r"^\W*yes\b", re.I)


def unmentioned_names(question: str, sentence: str, source_texts: list[str]) -> list[str]:
    """The names of a yes/no question that no source mentions, when `sentence` answers it "Yes": "Yes, you can
    get Windows instead" beside "a laptop of their choice (macOS or Linux)" affirms what no source says. Day and
    month names are left out ("open on a Tuesday" is decided by "Mon–Fri"). `source_texts` are lower-cased."""
    if not _YES.match(sentence) or not is_yes_no(question):
        return []
    names = [n for n in _ASKED_NAME.findall(question) if n.lower() not in _CALENDAR_NAMES]
    return [n for n in dict.fromkeys(names)
            if not any(re.search(rf"\b{re.escape(n.lower())}", text) for text in source_texts)]


def asks_for_money(question: str) -> bool:
    return _MONEY_QUESTION.search(question) is not None


def states_money(text: str) -> bool:
    return _MONEY.search(text) is not None


def gives_what_is_asked(question: str, sentence: str) -> bool:
    """False when `sentence` cannot answer `question` for the kind of figure it asks: a price without one, a code
    ("What is the code of …?") without one, a duration ("how long", "how soon") without a time, a figure in the
    units it names ("in degrees per second")
    without one in those units (the SK-220's "2 m/s" for its joint speed in degrees per second)."""
    if asks_for_money(question) and not states_money(sentence):
        return False
    if _CODE_QUESTION.search(question) and not codes(sentence):
        return False
    duration = _DURATION_QUESTION.search(question) is not None
    asked = {UNITS[w][0] for w in (_singular(w) for w in _IN_UNITS.findall(question.lower())) if w in UNITS}
    if not duration and not asked:
        return True  # no figure of a kind to look for: the sentence's figures need not be read
    stated = {q.family for q in quantities(sentence, lone_points=True)}
    if duration and not stated & _TIME_FAMILIES and not _AT_ONCE.search(sentence):
        return False
    return not asked or bool(asked & stated)


def _singular(word: str) -> str:
    return word[:-1] if word.endswith("s") and word[:-1] in UNITS else word


_MONEY_QUESTION = re.compile(r"\bhow much\b.*\b(?:cost|costs|price|pay|paid|spend|budget|fee|fees|allowance|"
                             r"reimburse[sd]?|contribute[sd]?|charge[sd]?)\b|\b(?:what|which) (?:is|are) the "
                             r"(?:price|cost|fee)s?\b|\bhow much (?:money|does it cost)\b|"
                             r"\bwhat (?:does|do|did|will|would) (?:[\w-]+\s+){1,4}cost\b", re.I)
# "What is the code of the travel and expense policy?": its best sentence was the checklist's "read … the Travel and
# Expense Policy", and the evidence check stopped it; the title line "… POLICY (TEP-7)" holds the code.
_CODE_QUESTION = re.compile(r"\b(?:what|which) (?:is|are) (?:the|its|their) (?:\w+ )?(?:code|reference|identifier)s?\b",
                            re.I)
_DURATION_QUESTION = re.compile(r"\bhow (?:long|soon|quickly|fast|often)\b|\bwithin how\b", re.I)
_IN_UNITS = re.compile(r"\bin\s+([a-z°%]+)")  # "in degrees per second", "in kg": the unit the answer is to be in
_TIME_FAMILIES = frozenset({"time", "hour", "day", "month", "year", "clock", "weekday"})
_AT_ONCE = re.compile(r"\b(?:immediately|at once|right away|same day|straight away|as soon as)\b", re.I)
_MONEY = re.compile(r"(?:EUR|USD|GBP|CHF|€|\$|£)\s?\d|\d\s?(?:EUR|USD|GBP|CHF|euros?|dollars?|pounds|cents?|€|"
                    r"million|billion)\b|\bfree\b|\bno (?:cost|charge)\b", re.I)


def is_refusal(sentence: str) -> bool:
    return _REFUSAL.search(sentence) is not None


def _adds_anything(sentence: str, question: str) -> bool:
    """Whether the sentence says something the question did not: a yes or no, or a term of its own."""
    plain = _MARKER.sub(" ", sentence)
    if re.match(r"^\W*(yes|no)\b", plain, re.I):
        return True
    return bool(set(tokenize(plain)) - set(tokenize(question)))


_REFUSAL = re.compile(r"\b(?:do(?:es)? not (?:contain|mention|say|specify|provide|include|state|cover|answer)|"
                      r"(?:is|are) not (?:mentioned|specified|provided|stated|given|listed|covered)|"
                      r"no (?:information|mention|details?) (?:about|on|of|is|are)|"
                      r"(?:cannot|can't|could not) (?:find|determine|answer))\b", re.I)


def grounding_texts(source_texts: dict[int, str]) -> dict[int, str]:
    return {n: _THOUSANDS.sub("", t.lower()) for n, t in source_texts.items()}


def normalize_markers(text: str) -> str:
    """Markers written after the full stop ("days. [1]") belong to the sentence before it."""
    return _AFTER_STOP.sub(lambda m: f" {m.group(2).strip()}{m.group(1)}", text)


_AFTER_STOP = re.compile(r"([.!?])[ \t]*((?:\[\d+(?:\s*,\s*\d+)*\]\s*)+)(?=\s|$)")


def _overlap(sentence: str, source: str) -> float:
    terms = set(tokenize(_MARKER.sub(" ", sentence)))
    return len(terms & set(tokenize(source))) / len(terms) if terms else 0.0


def _add_marker(sentence: str, number: int) -> str:
    body = sentence.rstrip()
    end = len(body) - len(body.rstrip(".!?"))
    return f"{body[:len(body) - end]} [{number}]{body[len(body) - end:]}" if end else f"{body} [{number}]"


_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")
# Capitalised words that name nothing a source must hold (sentence-inner "The", weekdays are still checked).
_COMMON = frozenset("""i the a an yes no however according based this that these those it they there here also
each every both all any per and or but if so for in on at to of by with from as""".split())
