"""Text clean-up shared by every loader."""

from __future__ import annotations

import re
import unicodedata

# Control characters, zero-width space, soft hyphen, and lone surrogates (broken PDF text maps) that
# tokenizers refuse.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\u00ad\ud800-\udfff]")
_HYPHEN_WORD = re.compile(r"([a-z])-\n[ \t]*([a-z])")  # "exam-\nple" -> "example"
_HYPHEN_CODE = re.compile(r"(\w)-\n[ \t]*(\w)")  # "SK-\n220" -> "SK-220"
_SPACES = re.compile(r"[ \t\f\v\u00a0]+")
_EDGE_SPACES = re.compile(r" *\n *")
_BLANK_LINES = re.compile(r"\n{3,}")


def normalize_text(text: str) -> str:
    """NFKC (ligatures), no control characters, rejoined hyphenated line breaks, single spaces."""
    text = unicodedata.normalize("NFKC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    text = _HYPHEN_WORD.sub(r"\1\2", text)
    text = _HYPHEN_CODE.sub(r"\1-\2", text)
    text = _SPACES.sub(" ", text)
    text = _EDGE_SPACES.sub("\n", text)
    text = _BLANK_LINES.sub("\n\n", text)
    return text.strip()
