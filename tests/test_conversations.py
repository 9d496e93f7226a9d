"""Saved conversations: kept per user with their answers and sources; reopened, renamed, deleted."""

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from app.conversations.store import ConversationNotFound, ConversationStore
from app.conversations.ui import ConversationCallbacks
from app.service import AskDocs
from app.settings import Settings
from app.ui import Callbacks
from tests.files import write_pdf


class _Request:
    def __init__(self, username):
        self.username = username


@pytest.fixture
def store(tmp_path):
    return ConversationStore(tmp_path / "conversations.sqlite3")


def test_turns_are_kept_per_owner(store, tmp_path):
    first = store.add_turn("ann", None, "What does E-104 mean?", {"answer": "Encoders disagree [1].", "sources": []})
    assert store.add_turn("ann", first, "And E-105?", {"answer": "Not found.", "sources": []}) == first
    other = store.add_turn("ben", None, "Warranty?", {"answer": "36 months [1].", "sources": []})
    (only,) = store.conversations("ann")
    assert (only.id, only.title, only.turns) == (first, "What does E-104 mean?", 2)
    assert [t.question for t in store.turns("ann", first)] == ["What does E-104 mean?", "And E-105?"]
    for action in (lambda: store.turns("ann", other), lambda: store.rename("ann", other, "mine"),
                   lambda: store.delete("ann", other), lambda: store.add_turn("ann", other, "q", {})):
        with pytest.raises(ConversationNotFound):  # another user's conversation does not exist for ann
            action()
    store.rename("ann", first, "  Error codes  ")
    assert store.conversations("ann")[0].title == "Error codes"
    store.delete("ann", first)
    assert store.conversations("ann") == [] and len(store.conversations("ben")) == 1
    reopened = ConversationStore(tmp_path / "conversations.sqlite3")  # what a restarted server reads
    assert reopened.turns("ben", other)[0].answer["answer"] == "36 months [1]."


def test_a_chat_is_saved_and_reopens_with_its_sources(store, tmp_path, embedder):
    settings = Settings(data_dir=tmp_path / "data", chroma_url=None, llm_backend="none", top_k=3, _env_file=None,
                        answer_evidence_check=0)  # the fake model answers in turn; no judging call between
    service = AskDocs(settings, llm=FakeListChatModel(responses=["Error E-104 means the encoders disagree [1].",
                                                                  "The warranty lasts thirty-six months [1]."]),
                      embedder=embedder)
    try:
        service.ingest([write_pdf(tmp_path / "manual.pdf")])
        chat, saved = Callbacks(service), ConversationCallbacks(store)
        alice = _Request("alice")
        current, history, messages = None, [], []
        for question in ("What does error E-104 mean?", "How long is the warranty?"):
            *_, step = chat.respond(question, messages, history, 3, "hybrid", False)
            messages, history, last = step[0], step[5], step[7]
            current, _ = saved.save_turn(current, history, last, alice)
        assert current["turns"] == 2
        # a question that produced no answer (empty box) saves nothing
        assert saved.save_turn(current, history, last, alice)[0] == current
        listed = saved.choices(alice)["choices"]
        assert len(listed) == 1 and listed[0][1] == current["id"] and "2 turns" in listed[0][0]
        assert saved.choices(_Request("bob"))["choices"] == []

        chat_messages, chat_history, reopened, sources, picks, state, status = saved.open(current["id"], alice)
        assert [m["content"] for m in chat_messages if m["role"] == "user"] == [
            "What does error E-104 mean?", "How long is the warranty?"]
        # the model wrote [1]; the sentence is cited to the source that says it, wherever retrieval ranked it
        (warranty,) = [s for s in reopened["sources"] if "thirty-six months" in s["text"]]
        n = warranty["number"]
        assert "thirty-six months" in chat_messages[-1]["content"] and f"[[{n}]](#source-{n})" in chat_messages[-1]["content"]
        assert [s["number"] for s in reopened["sources"] if s["cited"]] == [n]
        assert reopened["sources"][0]["file"] == "manual.pdf" and "manual.pdf" in sources
        assert picks["value"].startswith("[1] manual.pdf p.") and state == current
        assert chat_history[0] == ("What does error E-104 mean?", "Error E-104 means the encoders disagree [1].")
        assert saved.open(current["id"], _Request("bob"))[-1] == "That conversation is gone."
        assert saved.rename(current["id"], "Manual questions", alice)[0] == "Renamed."
        message, _, still_open = saved.delete(current["id"], current, alice)
        assert message == "Deleted." and still_open is None and store.conversations("alice") == []
    finally:
        service.close()
