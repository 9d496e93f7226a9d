"""The Gradio chat UI: ask with streaming and citations, inspect sources and their pages, manage the library.

Callbacks are methods of `Callbacks` (plain Python, tested without a browser); `build_ui` only lays out
components and connects them."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from pathlib import Path

import gradio as gr

from app.accounts.access import EVERYTHING, NOTHING, SHARED, Access, access_for, collection_label, parse_collection
from app.accounts.store import AccountStore
from app.accounts.ui import build_account_tab
from app.conversations.store import ConversationStore
from app.conversations.ui import ConversationCallbacks
from app.pages import context_html, query_terms, render_image, render_page
from app.render import (CSS, LIBRARY_HEADERS, answer_markdown, evidence_markdown, library_rows, source_cards,
                        source_choices, upload_table)
from app.service import AskDocs

logger = logging.getLogger(__name__)

MODES = ["hybrid", "bm25", "vector"]


class Callbacks:
    def __init__(self, service: AskDocs, access_of: Callable[[gr.Request | None], Access] = lambda request: EVERYTHING):
        """`access_of(request)`: what the signed-in caller may read and write (every callback asks it)."""
        self.service = service
        self.access_of = access_of

    # -- chat ---------------------------------------------------------------------------------------------

    def respond(self, question: str, messages: list, history: list, top_k: int, mode: str, rerank: bool,
                ask_in: list[str] | None = None, request: gr.Request = None):
        """Yields (chat messages, status, sources html, rewritten query, source choices, history, question box,
        last answer) as the answer streams. `ask_in`: the collections to ask (labels; none = all it reads)."""
        question = (question or "").strip()
        messages, history = list(messages or []), list(history or [])
        if not question:
            yield messages, "Type a question first.", gr.skip(), gr.skip(), gr.skip(), history, "", gr.skip()
            return
        messages += [{"role": "user", "content": question}, {"role": "assistant", "content": ""}]
        mode = "rerank" if rerank else mode
        sources_html, choices, rewritten, last = gr.skip(), gr.skip(), "", None
        text = ""
        collections = [parse_collection(c) or SHARED for c in ask_in] if ask_in else None
        events = self.service.ask_stream(question, [tuple(h) for h in history], top_k=int(top_k), mode=mode,
                                         access=self.access_of(request), collections=collections)
        for event in events:
            if event.kind == "status":
                yield messages, f"*{event.text}*", sources_html, rewritten, choices, history, "", gr.skip()
            elif event.kind == "sources":
                answer = event.answer
                last = answer.to_dict()
                terms = _terms(answer.rewritten_query or question)
                sources_html = source_cards(last, terms)
                picks = source_choices(last)
                choices = gr.update(choices=picks, value=picks[0] if picks else None)
                if answer.rewritten_query and answer.rewritten_query != question:
                    rewritten = f"Searched for: *{answer.rewritten_query}*"
                if answer.evidence:  # the best-matching sentence, while the model reads
                    messages[-1] = {"role": "assistant", "content": evidence_markdown(last)}
                yield messages, "*found sources…*", sources_html, rewritten, choices, history, "", gr.skip()
            elif event.kind == "token":
                if not text:
                    status = "*answering…*"
                text += event.text
                messages[-1] = {"role": "assistant", "content": answer_markdown(text, len(last["sources"]))}
                yield messages, status, sources_html, rewritten, choices, history, "", gr.skip()
            elif event.kind == "done":
                answer = event.answer
                last = answer.to_dict()
                messages[-1] = {"role": "assistant", "content": answer_markdown(answer.answer, len(answer.sources))}
                history.append((question, answer.answer))
                notes = [f"⚠ {n}" for n in answer.notes]
                if answer.abstained:
                    notes.insert(0, "Not found in the documents; the nearest passages are listed.")
                timing = answer.timings.get("total_ms")
                status = " · ".join(notes + ([f"{timing / 1000:.1f} s"] if timing else []))
                sources_html = source_cards(last, _terms(answer.rewritten_query or question))
                yield messages, status, sources_html, rewritten, choices, history, "", last

    def new_chat(self):
        """Clears the conversation: (messages, history, status, sources, rewritten, choices, last)."""
        return [], [], "", source_cards(None, []), "", gr.update(choices=[], value=None), None

    # -- sources ------------------------------------------------------------------------------------------

    def open_source(self, choice: str | None, last: dict | None, request: gr.Request = None):
        """(image update, context html update, page label, viewer state) for the chosen source's page."""
        if not choice or not last:
            return gr.update(visible=False), gr.update(visible=False), "", None
        number = int(choice.split("]")[0].strip("["))
        source = next(s for s in last["sources"] if s["number"] == number)
        viewer = {"doc_id": source["doc_id"], "page": source["page"], "text": source["text"],
                  "start": source["start"], "end": source["end"], "home": source["page"]}
        return self.show_page(viewer, 0, request)

    def show_page(self, viewer: dict | None, step: int = 0, request: gr.Request = None):
        if not viewer:
            return gr.update(visible=False), gr.update(visible=False), "", None
        access = self.access_of(request)
        record = self.service.document(viewer["doc_id"], access)
        if record is None:
            return gr.update(visible=False), gr.update(value="This document was deleted.", visible=True), "", None
        viewer = dict(viewer, page=max(1, min(record.pages, viewer["page"] + step)))
        label = f"{record.source} · page {viewer['page']} of {record.pages}"
        try:
            if record.kind in ("pdf", "image"):
                home = viewer["page"] == viewer["home"]
                highlight = viewer["text"] if home else None
                words = (self.service.word_boxes(viewer["doc_id"], viewer["page"], viewer["start"], viewer["end"],
                                                 access)
                         if home and viewer["page"] in record.ocr_pages else None)
                if record.kind == "image":
                    image, found = render_image(record.path, viewer["page"], words)
                else:
                    image, found = render_page(record.path, viewer["page"], highlight, words=words)
                if highlight and not found:
                    label += " · (passage not located on the rendered page)"
                return gr.update(value=image, visible=True), gr.update(visible=False), label, viewer
            text = self.service.page_text(viewer["doc_id"], viewer["page"], access)
            return (gr.update(visible=False), gr.update(value=context_html(text, viewer["start"], viewer["end"]),
                                                        visible=True), label, viewer)
        except Exception as exc:  # the file may have moved since it was ingested
            logger.warning("cannot show %s page %s: %s", record.path, viewer["page"], exc)
            return gr.update(visible=False), gr.update(value=f"Cannot open the file: {exc}", visible=True), label, viewer

    def previous_page(self, viewer: dict | None, request: gr.Request = None):
        return self.show_page(viewer, -1, request)

    def next_page(self, viewer: dict | None, request: gr.Request = None):
        return self.show_page(viewer, +1, request)

    # -- library ------------------------------------------------------------------------------------------

    def upload(self, files, upload_to: str | None = None, request: gr.Request = None):
        """Yields (progress table html, library rows) while the files go through read, chunk, embed, index.
        `upload_to`: the collection (label; None = the caller's default)."""
        access = self.access_of(request)
        collection = parse_collection(upload_to)
        collection = access.default if collection is None else collection
        paths, rows = [], {}
        if not access.can_write(collection):
            rows["(upload)"] = {"stage": "done", "status": "failed",
                                "reason": f"you may not add documents to {collection_label(collection)}"}
            files = []
        for f in files or []:
            src = Path(getattr(f, "name", f))
            original = Path(getattr(f, "orig_name", None) or src.name).name
            try:
                saved = self.service.save_upload(original, src, collection)
                paths.append(saved)
                rows[f"{collection}/{saved.name}" if collection else saved.name] = {"stage": "waiting"}
            except (ValueError, OSError) as exc:
                rows[original] = {"stage": "done", "status": "failed", "reason": str(exc)}
        yield upload_table(rows), gr.skip()
        if not paths:
            yield upload_table(rows), library_rows(self.service.documents(access))
            return
        events: queue.Queue = queue.Queue()
        result: dict = {}

        def work():
            try:
                result["reports"] = self.service.ingest(paths, on_progress=lambda d, s, f: events.put((d, s, f)),
                                                        access=access, collection=collection)
            except Exception as exc:  # e.g. the store is unreachable: every file fails with the reason
                result["error"] = str(exc)
            events.put(None)

        threading.Thread(target=work, daemon=True).start()
        while (event := events.get()) is not None:
            doc_id, stage, fraction = event
            rows.setdefault(doc_id, {}).update(stage=stage, fraction=fraction)
            yield upload_table(rows), gr.skip()
        for report in result.get("reports", []):
            rows[report.doc_id] = {"stage": "done", "status": report.status, "pages": report.pages,
                                   "chunks": report.chunks, "reason": report.reason, "warnings": report.warnings,
                                   "ocr_pages": report.ocr_pages}
        if "error" in result:
            for row in rows.values():
                row.setdefault("status", "failed")
                row.setdefault("reason", result["error"])
        yield upload_table(rows), library_rows(self.service.documents(access))

    def library(self, request: gr.Request = None):
        records = self.service.documents(self.access_of(request))
        return library_rows(records), gr.update(choices=[r.doc_id for r in records], value=None)

    def collections(self, request: gr.Request = None):
        """(the chat's "Ask in" choices: what the caller reads; the library's "Upload to": what it writes)."""
        access = self.access_of(request)
        present = {r.collection for r in self.service.documents(access)}
        readable = sorted(access.readable if access.readable is not None else present | {SHARED})
        writable = sorted(access.writable if access.writable is not None else readable)
        labels = [collection_label(c) for c in readable]
        return (gr.update(choices=labels, value=labels),
                gr.update(choices=[collection_label(c) for c in writable], value=collection_label(access.default)))

    def delete(self, doc_id: str | None, request: gr.Request = None):
        if not doc_id:
            return "Choose a document first.", *self.library(request)
        try:
            report = self.service.delete(doc_id, self.access_of(request))
        except PermissionError as exc:
            return f"Could not delete {doc_id}: {exc}", *self.library(request)
        message = f"Deleted {doc_id}." if report.status == "removed" else f"Could not delete {doc_id}: {report.reason}"
        return message, *self.library(request)

    def reindex(self, doc_id: str | None, request: gr.Request = None):
        if not doc_id:
            return "Choose a document first.", *self.library(request)
        try:
            report = self.service.reindex(doc_id, self.access_of(request))
        except PermissionError as exc:
            return f"Could not re-index {doc_id}: {exc}", *self.library(request)
        message = (f"Re-indexed {doc_id}: {report.pages} pages, {report.chunks} chunks." if report.status != "failed"
                   else f"Could not re-index {doc_id}: {report.reason}")
        return message, *self.library(request)

    def profile_fields(self, doc_id: str | None, request: gr.Request = None):
        """The chosen document's profile, for the fields under the library."""
        record = self.service.document(doc_id, self.access_of(request)) if doc_id else None
        profile = (record.profile if record else {}) or {}
        return tuple(gr.update(value=profile.get(k, "")) for k in PROFILE_FIELDS)

    def save_profile(self, doc_id: str | None, organisation: str, period: str, doc_type: str, title: str,
                     request: gr.Request = None):
        if not doc_id:
            return "Choose a document first.", *self.library(request)
        values = {"organisation": organisation, "period": period, "doc_type": doc_type, "title": title}
        try:
            self.service.set_profile(doc_id, {k: (v or "").strip() for k, v in values.items()},
                                     self.access_of(request))
        except KeyError:
            return f"{doc_id} is not in the library any more.", *self.library(request)
        except PermissionError as exc:
            return f"Could not save the profile: {exc}", *self.library(request)
        return (f"Saved the profile of {doc_id}: questions naming its organisation now search it.",
                *self.library(request))


PROFILE_FIELDS = ("organisation", "period", "doc_type", "title")


def _terms(query: str) -> list[str]:
    """Words of the query to mark in the sources: whole words, no stop words, codes like E-104 kept whole.
    (Not BM25's stems: "organization" stems to "organ", which would mark an unrelated word.)"""
    return query_terms(query)




def build_ui(service: AskDocs, accounts: AccountStore | None = None,
             conversations: ConversationStore | None = None) -> gr.Blocks:
    if accounts is not None and accounts.has_users():  # the UI asks for a login: each caller gets their access
        def access_of(request: gr.Request | None) -> Access:
            name = getattr(request, "username", None)
            return access_for(accounts, accounts.user(name)) if name else NOTHING
    else:
        def access_of(request: gr.Request | None) -> Access:
            return EVERYTHING
    cb = Callbacks(service, access_of)
    saved = ConversationCallbacks(conversations) if conversations is not None else None
    settings = service.settings
    with gr.Blocks(title="askdocs") as demo:
        history = gr.State([])
        last = gr.State(None)
        viewer = gr.State(None)
        conversation = gr.State(None)  # {"id", "turns"} of the saved conversation on screen
        with gr.Tab("Chat"):
            with gr.Row():
                with gr.Column(scale=3):
                    chat = gr.Chatbot(label="askdocs", height=520, elem_id="chat", sanitize_html=True,
                                      placeholder="Ask a question about your documents.", buttons=["copy"])
                    status = gr.Markdown("", elem_id="status")
                    with gr.Row():
                        box = gr.Textbox(placeholder="Ask about your documents…", show_label=False, scale=6,
                                         elem_id="question", submit_btn=False)
                        ask = gr.Button("Ask", variant="primary", scale=1, elem_id="ask")
                        new = gr.Button("New chat", scale=1, elem_id="new-chat")
                    with gr.Accordion("Conversations", open=False, visible=saved is not None):
                        with gr.Row():
                            conv_pick = gr.Dropdown(choices=[], label="Past conversations", scale=4,
                                                    elem_id="conversation-pick")
                            conv_open = gr.Button("Open", scale=1, elem_id="open-conversation")
                            conv_delete = gr.Button("Delete", variant="stop", scale=1)
                        with gr.Row():
                            conv_title = gr.Textbox(label="New title", scale=4)
                            conv_rename = gr.Button("Rename", scale=1)
                        conv_status = gr.Markdown("")
                    with gr.Accordion("Retrieval settings", open=False):
                        top_k = gr.Slider(1, 15, value=settings.top_k, step=1, label="Sources (top-k)")
                        default_mode = settings.retrieval_mode if settings.retrieval_mode in MODES else "hybrid"
                        mode = gr.Radio(MODES, value=default_mode, label="Retrieval mode")
                        ask_in = gr.CheckboxGroup([], label="Ask in collections (none ticked: all)",
                                                  elem_id="ask-in")
                        rerank = gr.Checkbox(value=settings.retrieval_mode == "rerank",
                                             label="Rerank with the cross-encoder"
                                             + ("" if service.retriever.reranker else
                                                f" (unavailable: {service.retriever.reranker_problem})"),
                                             interactive=service.retriever.reranker is not None)
                with gr.Column(scale=2):
                    rewritten = gr.Markdown("", elem_id="rewritten")
                    sources = gr.HTML(source_cards(None, []), elem_id="sources")
                    with gr.Row():
                        pick = gr.Dropdown(choices=[], label="Source", scale=3, elem_id="source-pick")
                        open_page = gr.Button("Open page", scale=1, elem_id="open-page")
                    page_label = gr.Markdown("", elem_id="page-label")
                    page_image = gr.Image(visible=False, type="pil", label="Page", elem_id="page-image",
                                          interactive=False, buttons=[])
                    page_context = gr.HTML(visible=False, elem_id="page-context")
                    with gr.Row():
                        prev_page = gr.Button("◀ Previous page", size="sm", elem_id="prev-page")
                        next_page = gr.Button("Next page ▶", size="sm", elem_id="next-page")
        with gr.Tab("Library"):
            upload = gr.File(file_count="multiple", elem_id="upload",
                             label="Upload documents (PDF, Word, PowerPoint, Excel, CSV, HTML, Markdown, text; "
                                   "scans and images are read by OCR)")
            upload_to = gr.Dropdown([], label="Upload to collection", elem_id="upload-to")
            upload_status = gr.HTML(elem_id="upload-status")
            table = gr.Dataframe(headers=LIBRARY_HEADERS,
                                 value=library_rows(service.documents()), interactive=False, elem_id="library")
            with gr.Row():
                doc_pick = gr.Dropdown(choices=[r.doc_id for r in service.documents()], label="Document", scale=3)
                delete = gr.Button("Delete", variant="stop", scale=1)
                reindex = gr.Button("Re-index", scale=1)
                refresh = gr.Button("Refresh", scale=1)
            with gr.Row():  # what the chosen document is, as routing reads it; correct it here
                profile_boxes = [gr.Textbox(label=label, scale=2 if name == "title" else 1, elem_id=f"profile-{name}")
                                 for name, label in zip(PROFILE_FIELDS, ("Organisation", "Period", "Type", "Title"))]
                save_profile = gr.Button("Save profile", scale=1, elem_id="save-profile")
            library_status = gr.Markdown("")

        chat_outputs = [chat, status, sources, rewritten, pick, history, box, last]
        # "undocumented": callable through the queue by gradio_client (the load test), not listed in the API docs.
        asked = gr.on([ask.click, box.submit], cb.respond, [box, chat, history, top_k, mode, rerank, ask_in],
                      chat_outputs, api_name="ask", api_visibility="undocumented", concurrency_limit=4)
        cleared = new.click(cb.new_chat, None, [chat, history, status, sources, rewritten, pick, last],
                            api_visibility="private")
        if saved is not None:
            private = {"api_visibility": "private"}
            asked.then(saved.save_turn, [conversation, history, last], [conversation, conv_pick], **private)
            cleared.then(lambda: None, None, conversation, **private)
            conv_open.click(saved.open, [conv_pick], [chat, history, last, sources, pick, conversation, conv_status],
                            **private)
            conv_rename.click(saved.rename, [conv_pick, conv_title], [conv_status, conv_pick], **private)
            conv_delete.click(saved.delete, [conv_pick, conversation], [conv_status, conv_pick, conversation],
                              **private)
            demo.load(saved.choices, None, conv_pick, **private)
        viewer_outputs = [page_image, page_context, page_label, viewer]
        open_page.click(cb.open_source, [pick, last], viewer_outputs, api_visibility="private")
        prev_page.click(cb.previous_page, [viewer], viewer_outputs, api_visibility="private")
        next_page.click(cb.next_page, [viewer], viewer_outputs, api_visibility="private")
        upload.upload(cb.upload, [upload, upload_to], [upload_status, table], api_name="upload",
                      api_visibility="undocumented", concurrency_limit=1)
        library_outputs = [table, doc_pick]
        refresh.click(cb.library, None, library_outputs, api_visibility="private")
        delete.click(cb.delete, [doc_pick], [library_status, *library_outputs], api_visibility="private")
        reindex.click(cb.reindex, [doc_pick], [library_status, *library_outputs], api_visibility="private")
        doc_pick.change(cb.profile_fields, [doc_pick], profile_boxes, api_visibility="private")
        save_profile.click(cb.save_profile, [doc_pick, *profile_boxes], [library_status, *library_outputs],
                           api_visibility="private")
        demo.load(cb.library, None, library_outputs, api_visibility="private")
        demo.load(cb.collections, None, [ask_in, upload_to], api_visibility="private")
        if accounts is not None:
            build_account_tab(accounts, demo)
    demo.css = CSS
    return demo
