"""Saved chats in the UI: each finished answer is kept; past chats are listed, reopened, renamed, deleted."""

from __future__ import annotations

import time

import gradio as gr

from app.conversations.store import ConversationNotFound, ConversationStore
from app.pages import query_terms
from app.render import answer_markdown, source_cards, source_choices


def _owner(request: gr.Request | None) -> str:
    """The signed-in user; "" on a server without accounts (one shared list)."""
    return getattr(request, "username", None) or ""


def _turns(n: int) -> str:
    return "1 turn" if n == 1 else f"{n} turns"


class ConversationCallbacks:
    def __init__(self, store: ConversationStore):
        self.store = store

    def choices(self, request: gr.Request):
        items = [(f"{c.title} · {time.strftime('%d %b %H:%M', time.localtime(c.updated))} · {_turns(c.turns)}", c.id)
                 for c in self.store.conversations(_owner(request))]
        return gr.update(choices=items)

    def save_turn(self, current: dict | None, history: list, last: dict | None, request: gr.Request):
        """After an answer: append it to the open conversation (a new one for the first question).
        `current` is {"id", "turns"}; nothing is saved when the chat has no new turn."""
        turns = (current or {}).get("turns", 0)
        if not history or last is None or len(history) <= turns:
            return current, gr.skip()
        question = history[-1][0]
        conversation_id = self.store.add_turn(_owner(request), (current or {}).get("id"), question, last)
        return {"id": conversation_id, "turns": len(history)}, self.choices(request)

    def open(self, conversation_id: str | None, request: gr.Request):
        """(chat messages, history, last answer, sources html, source choices, conversation state, status)."""
        if not conversation_id:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), "Choose a conversation first."
        try:
            turns = self.store.turns(_owner(request), conversation_id)
        except ConversationNotFound:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), "That conversation is gone."
        messages, history = [], []
        for turn in turns:
            answer = turn.answer
            messages += [{"role": "user", "content": turn.question},
                         {"role": "assistant", "content": answer_markdown(answer["answer"], len(answer["sources"]))}]
            history.append((turn.question, answer["answer"]))
        last = turns[-1].answer if turns else None
        sources = source_cards(last, query_terms(last.get("rewritten_query") or last["question"])) if last else \
            source_cards(None, [])
        picks = source_choices(last) if last else []
        return (messages, history, last, sources, gr.update(choices=picks, value=picks[0] if picks else None),
                {"id": conversation_id, "turns": len(turns)}, f"Reopened a conversation of {_turns(len(turns))}.")

    def rename(self, conversation_id: str | None, title: str, request: gr.Request):
        try:
            self.store.rename(_owner(request), conversation_id or "", title)
            return "Renamed.", self.choices(request)
        except (ConversationNotFound, ValueError) as exc:
            return f"Cannot rename: {exc}", self.choices(request)

    def delete(self, conversation_id: str | None, current: dict | None, request: gr.Request):
        try:
            self.store.delete(_owner(request), conversation_id or "")
        except ConversationNotFound:
            return "No such conversation.", self.choices(request), current
        # the open chat stays on screen, but a further question starts a new conversation
        still_open = None if (current or {}).get("id") == conversation_id else current
        return "Deleted.", self.choices(request), still_open
