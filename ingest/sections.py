"""Section headings by layout cues: the heading-like line a chunk falls under ("CONSOLIDATED BALANCE SHEETS",
"## 3. Per diem", "4. Claims"), so that the text indexed for a chunk says which part of the document it is from."""

from __future__ import annotations

import re

_NUMBERED = re.compile(r"^(?:#+\s*)?(?:\d+(?:\.\d+)*\.?|[A-Z]\.|Item\s+\d+[A-Z]?\.?|Part\s+[IVX]+\.?)\s+\S", re.I)
_NOISE = re.compile(r"^(?:table of contents|page \d+( of \d+)?|\d+|index|continued|\(continued\))$", re.I)


def is_heading(line: str) -> bool:
    """A short line that names a part: markdown heading, numbered title, or mostly capital letters."""
    text = line.strip()
    if not 3 <= len(text) <= 80 or _NOISE.match(text) or text.endswith((".", ",", ";")):
        return False
    letters = [c for c in text if c.isalpha()]
    if len(letters) < 3 or len(letters) < 0.5 * len(text.replace(" ", "")) or len(text.split()) > 10:
        return False
    if text.startswith("#") or _NUMBERED.match(text):
        return True
    return sum(c.isupper() for c in letters) >= 0.8 * len(letters)


def section_at(page_text: str, offset: int) -> str:
    """The last heading-like line of the page that starts before `offset` (the chunk's start), or ""."""
    found = ""
    for line in page_text[:offset].split("\n"):
        if is_heading(line):
            found = line.strip().lstrip("#").strip()
    return found
