"""HTML and Markdown for the UI. Document text is always escaped: it is data, never markup."""

from __future__ import annotations

import html
import re
import time

from app.pages import highlight_terms, reflow

_MARKER = re.compile(r"\[(\d+)\]")
_LINK = re.compile(r"(?<!\!)\[([^\]]+)\]\(([^)#][^)]*)\)")  # any target but an in-page #anchor
_AUTOLINK = re.compile(r"<(https?://[^>]+)>")
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_REF_IMAGE = re.compile(r"!\[([^\]]*)\]\[[^\]]*\]")
_REF_DEFINITION = re.compile(r"^( {0,3})\[(?=[^\]]+\]:)", re.M)  # `[r]: https://...` would give `[x][r]` a target
_BARE_URL = re.compile(r"\b(?:https?://|www\.|mailto:)[^\s<>()\[\]`]+")


def answer_markdown(text: str, n_sources: int) -> str:
    """Answer text for the chat: [n] becomes a link to source card n; remote links lose their target and
    images go (either may come from an injected document: an image URL would leak the chat when shown).
    Applied to every streamed piece too, so nothing is live even for a moment."""
    text = _IMAGE.sub(lambda m: m.group(1), text)
    text = _REF_IMAGE.sub(lambda m: m.group(1), text)
    text = _REF_DEFINITION.sub(lambda m: m.group(1) + "\\[", text)
    text = _LINK.sub(lambda m: f"{m.group(1)} ({m.group(2)})", text)
    text = _AUTOLINK.sub(lambda m: m.group(1), text)
    text = _BARE_URL.sub(lambda m: f"`{m.group(0)}`", text)  # shown as code: not linkified by the renderer
    text = text.replace("<", "&lt;")  # no raw HTML from the model
    return _MARKER.sub(lambda m: f"[[{m.group(1)}]](#source-{m.group(1)})"
                       if 1 <= int(m.group(1)) <= n_sources else "", text)


def _breakdown_rows(b: dict) -> str:
    rows = []
    if "bm25_rank" in b:
        rows.append(f"BM25 #{b['bm25_rank']} · {b['bm25_score']:.2f}")
    if "vector_rank" in b:
        rows.append(f"vector #{b['vector_rank']} · cos {b['vector_cosine']:.3f}")
    if "fused_score" in b:
        rows.append(f"fused {b['fused_score']:.4f}")
    if b.get("phrase_share"):
        rows.append(f"phrase {b['phrase_share']:.2f}")
    if "rerank_score" in b:
        rows.append(f"rerank {b['rerank_score']:.3f}")
    return " | ".join(rows) or "—"


def source_cards(answer: dict | None, query_terms: list[str]) -> str:
    if not answer or not answer.get("sources"):
        return '<div class="askdocs-empty">Sources of the answer appear here.</div>'
    checks: dict[int, list[bool]] = {}
    for check in answer.get("citations", []):
        for n in check["sources"]:
            checks.setdefault(n, []).append(check["supported"])
    cards = []
    for s in answer["sources"]:
        verdicts = checks.get(s["number"], [])
        if not verdicts:
            check = '<span class="askdocs-uncited">not cited</span>'
        elif all(verdicts):
            check = '<span class="askdocs-ok">✓ cited, supported</span>'
        else:
            check = f'<span class="askdocs-warn">⚠ {verdicts.count(False)} cited sentence(s) not supported</span>'
        cards.append(
            f'<div class="askdocs-source" id="source-{s["number"]}">'
            f'<div class="askdocs-source-head"><b>[{s["number"]}] {html.escape(s["file"])}</b>'
            f' · page {s["page"]} · {check}</div>'
            f'<div class="askdocs-source-text">{_source_text(s, answer.get("evidence"), query_terms)}</div>'
            f'<div class="askdocs-breakdown">{html.escape(_breakdown_rows(s["breakdown"]))}</div></div>'
        )
    return "\n".join(cards)


def _source_text(source: dict, evidence: dict | None, query_terms: list[str]) -> str:
    """The source's text, reflowed, with the query's words marked and, in the source that holds it, the
    best-matching sentence marked as such."""
    text = source["text"]
    if not evidence or evidence.get("source") != source["number"]:
        return highlight_terms(reflow(text), query_terms)
    a, b = evidence["start"] - source["start"], evidence["end"] - source["start"]
    if not 0 <= a < b <= len(text):
        return highlight_terms(reflow(text), query_terms)
    before, best, after = (highlight_terms(reflow(part), query_terms) for part in (text[:a], text[a:b], text[b:]))
    return f'{before}<span class="askdocs-best" title="best match">{best}</span>{after}'


def evidence_markdown(answer: dict) -> str:
    """What the chat shows while the model reads: the best-matching sentence of the sources, quoted."""
    evidence = answer.get("evidence")
    if not evidence:
        return ""
    source = next((s for s in answer["sources"] if s["number"] == evidence["source"]), None)
    where = f"{source['file']}, page {source['page']}" if source else ""
    quote = answer_markdown(" ".join(evidence["text"].split()), 0).replace("*", "\\*").replace("_", "\\_")
    return f"> {quote}\n>\n> — best match, [{evidence['source']}] {answer_markdown(where, 0)}\n\n*answering…*"


STAGES = ("read", "chunk", "embed", "index", "done")


def upload_table(rows: dict[str, dict]) -> str:
    """rows: name -> {stage, fraction, status, pages, chunks, reason, warnings}."""
    if not rows:
        return ""
    lines = ['<table class="askdocs-uploads"><tr><th>file</th><th>progress</th><th>result</th></tr>']
    for name, r in rows.items():
        stage = r.get("stage", "waiting")
        progress = {"embed": f"embed {int(100 * r.get('fraction', 0))}%",
                    "ocr": f"OCR of scanned pages {int(100 * r.get('fraction', 0))}%"}.get(stage, stage)
        if r.get("status") == "failed":
            result = f'<span class="askdocs-warn">failed: {html.escape(r.get("reason", ""))}</span>'
        elif r.get("status"):
            counts = f'{_count(r.get("pages", 0), "page")}, {_count(r.get("chunks", 0), "chunk")}'
            result = f'{html.escape(r["status"])}: {counts}'
            if r.get("ocr_pages"):
                result += f', OCR on {ocr_summary(r["ocr_pages"])}'
            for warning in r.get("warnings", []):
                result += f'<br><span class="askdocs-warn">warning: {html.escape(warning)}</span>'
        else:
            result = "…"
        lines.append(f"<tr><td>{html.escape(name)}</td><td>{html.escape(progress)}</td><td>{result}</td></tr>")
    return "".join(lines) + "</table>"


def source_choices(last: dict) -> list[str]:
    """The "Source" picker's entries for an answer: "[1] handbook.pdf p.3"."""
    return [f"[{s['number']}] {s['file']} p.{s['page']}" for s in last["sources"]]


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


LIBRARY_HEADERS = ["document", "what it is", "pages", "chunks", "read by OCR", "collection", "size", "ingested",
                   "warnings"]


def library_rows(records) -> list[list]:
    return [[r.doc_id, _profile_line(r.profile), r.pages, r.chunks, ocr_summary(r.ocr_pages),
             r.collection or "shared", f"{r.size_bytes / 1024:.0f} KiB",
             time.strftime("%Y-%m-%d %H:%M", time.localtime(r.ingested_at)), "; ".join(r.warnings)]
            for r in records]


def ocr_summary(pages: list[int]) -> str:
    """"pages 1-3, 7" for the pages read by OCR; "" for none."""
    if not pages:
        return ""
    from ingest.pdf import ranges

    return f"page {pages[0]}" if len(pages) == 1 else f"pages {ranges(sorted(pages))}"


def _profile_line(profile: dict) -> str:
    """What the document is, as its profile says ("ADOBE INC. · 10-K annual report · 2022"), else its title."""
    return " · ".join(p for p in (profile.get("organisation"), profile.get("doc_type"), profile.get("period")) if p) \
        or profile.get("title", "")


CSS = """
.askdocs-source { border: 1px solid #d0d7de; border-radius: 8px; padding: 8px 10px; margin-bottom: 8px; }
.askdocs-source-head { margin-bottom: 4px; }
.askdocs-source-text { font-size: 0.9em; white-space: pre-wrap; overflow-wrap: anywhere; max-height: 12em;
  overflow-y: auto; }
.askdocs-breakdown { font-size: 0.8em; color: #57606a; margin-top: 4px; }
.askdocs-ok { color: #1a7f37; } .askdocs-warn { color: #bf5700; } .askdocs-uncited { color: #57606a; }
.askdocs-uploads td, .askdocs-uploads th { padding: 2px 8px; text-align: left; }
.askdocs-context { white-space: pre-wrap; font-size: 0.9em; max-height: 30em; overflow-y: auto; }
mark { background: #fff3a3; }
.askdocs-best { background: #dbeafe; border-bottom: 2px solid #2563eb; }
"""
