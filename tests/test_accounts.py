"""Accounts: hashed passwords, API tokens, throttled logins; over real HTTP routes and the CLI."""

import base64
import sqlite3
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from app.accounts.auth import Authenticator, LoginThrottled, Throttle
from app.accounts.store import AccountError, AccountStore
from app.server import build_app
from app.service import AskDocs
from app.settings import Settings

ROUTES = [("get", "/api/documents"), ("post", "/api/search"), ("post", "/api/ask"), ("post", "/api/documents"),
          ("delete", "/api/documents/x.pdf"), ("put", "/api/documents/x.pdf/profile")]


@pytest.fixture
def accounts(tmp_path):
    return AccountStore(tmp_path / "accounts.sqlite3")


def test_passwords_and_tokens_are_never_stored_as_they_are(accounts, tmp_path):
    accounts.add_user("alice", "correct horse battery", admin=True)
    info, token = accounts.create_token("alice", "laptop")
    dump = "\n".join(sqlite3.connect(tmp_path / "accounts.sqlite3").iterdump())
    assert "correct horse battery" not in dump and token not in dump and "$argon2id$" in dump
    assert accounts.verify_password("alice", "correct horse battery")
    assert not accounts.verify_password("alice", "wrong") and not accounts.verify_password("nobody", "x")
    assert accounts.user_for_token(token).name == "alice" and accounts.user_for_token(token + "x") is None
    assert [t.id for t in accounts.tokens("alice")] == [info.id] and accounts.tokens()[0].last_used
    accounts.revoke_token(info.id)
    assert accounts.user_for_token(token) is None


def test_account_rules(accounts):
    with pytest.raises(AccountError, match="at least 8"):
        accounts.add_user("bob", "short")
    with pytest.raises(AccountError, match="invalid user name"):
        accounts.add_user("bob smith", "long enough password")
    accounts.add_user("bob", "long enough password")
    with pytest.raises(AccountError, match="exists"):
        accounts.add_user("bob", "another long password")
    _, token = accounts.create_token("bob")
    accounts.remove_user("bob")
    assert accounts.user_for_token(token) is None, "a removed user's tokens go with them"
    with pytest.raises(AccountError, match="no user"):
        accounts.set_password("bob", "long enough password")


def test_throttling_per_user_and_per_address(accounts):
    accounts.add_user("carol", "carol's long password")
    auth = Authenticator(accounts, Throttle(failures=3, window_s=60))
    for _ in range(3):
        assert auth.login("carol", "guess", "10.0.0.1") is None
    with pytest.raises(LoginThrottled):
        auth.login("carol", "carol's long password", "10.0.0.9")  # the user is locked, from any address
    accounts.add_user("dave", "dave's long password")
    with pytest.raises(LoginThrottled):
        auth.login("dave", "dave's long password", "10.0.0.1")  # and the address, for any user
    assert auth.login("dave", "dave's long password", "10.0.0.2").name == "dave"


@pytest.fixture
def server(tmp_path, embedder):
    settings = Settings(data_dir=tmp_path / "data", chroma_url=None, llm_backend="none", _env_file=None,
                        username="admin", password="admin-password")
    service = AskDocs(settings, llm=FakeListChatModel(responses=["ok [1]."] * 9), embedder=embedder)
    yield service, TestClient(build_app(service))
    service.close()


def _basic(name, password):
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()}


def test_api_takes_bearer_tokens_and_user_passwords(server):
    service, client = server
    accounts = AccountStore(service.settings.data_dir / "accounts.sqlite3")
    assert accounts.user("admin").admin, "ASKDOCS_USERNAME is the first admin"
    accounts.add_user("erin", "erin's long password")
    _, token = accounts.create_token("erin")
    for method, path in ROUTES:
        assert getattr(client, method)(path).status_code == 401, path
        assert getattr(client, method)(path, headers={"Authorization": "Bearer adk_nope"}).status_code == 401
    assert client.get("/api/documents", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert client.get("/api/documents", headers=_basic("erin", "erin's long password")).status_code == 200
    assert client.get("/api/documents", headers=_basic("admin", "admin-password")).status_code == 200
    accounts.revoke_token(accounts.tokens("erin")[0].id)
    assert client.get("/api/documents", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    # The UI's login form knows the users too.
    assert client.post("/login", data={"username": "erin", "password": "erin's long password"}).status_code == 200
    assert client.get("/config").status_code == 200


def test_repeated_failed_logins_are_throttled(server):
    _, client = server
    codes = [client.get("/api/documents", headers=_basic("admin", f"guess {i}")).status_code for i in range(6)]
    assert codes[:5] == [401] * 5 and codes[5] == 429
    refused = client.get("/api/documents", headers=_basic("admin", "admin-password"))
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert client.post("/login", data={"username": "admin", "password": "admin-password"}).status_code != 200


def _askdocs(tmp_path, *args, stdin=""):
    env = {"ASKDOCS_DATA_DIR": str(tmp_path / "data"), "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-m", "app.cli", *args], input=stdin, capture_output=True, text=True,
                          env=env, timeout=60)


def test_cli_users_and_tokens(tmp_path):
    assert _askdocs(tmp_path, "users", "add", "frank", "--admin", stdin="frank's password\n").returncode == 0
    assert "frank  admin" in _askdocs(tmp_path, "users", "list").stdout
    made = _askdocs(tmp_path, "tokens", "create", "frank", "--label", "ci")
    token = made.stdout.strip()
    assert made.returncode == 0 and token.startswith("adk_") and "\n" not in token
    accounts = AccountStore(tmp_path / "data" / "accounts.sqlite3")
    assert accounts.user_for_token(token).name == "frank"
    listed = _askdocs(tmp_path, "tokens", "list")
    assert token not in listed.stdout and accounts.tokens()[0].id in listed.stdout
    assert _askdocs(tmp_path, "tokens", "revoke", accounts.tokens()[0].id).returncode == 0
    assert accounts.user_for_token(token) is None
    assert _askdocs(tmp_path, "users", "passwd", "frank", stdin="a new password\n").returncode == 0
    assert accounts.verify_password("frank", "a new password")
    short = _askdocs(tmp_path, "users", "add", "gina", stdin="short\n")
    assert short.returncode == 1 and "at least 8" in short.stderr
    assert _askdocs(tmp_path, "users", "remove", "frank").returncode == 0 and not accounts.has_users()


class _Request:
    """What Gradio hands a callback about the signed-in user."""

    def __init__(self, username):
        self.username = username


def test_account_tab_lets_admins_manage_users_and_everyone_their_tokens(accounts):
    from app.accounts.ui import NO_ACCOUNTS, AccountCallbacks

    cb = AccountCallbacks(accounts)
    assert cb.load(_Request(None))[0] == NO_ACCOUNTS
    accounts.add_user("root", "root's long password", admin=True)
    accounts.add_user("hana", "hana's long password")
    me, tokens, admin_section, users = cb.load(_Request("root"))
    assert "root" in me and admin_section["visible"] and [u[0] for u in users] == ["hana", "root"]
    message, users = cb.add_user("ivan", "ivan's long password", False, _Request("root"))
    assert message == "Added ivan." and "ivan" in [u[0] for u in users]
    # a plain user sees no admin section, and the callbacks refuse them even if called directly
    assert cb.load(_Request("hana"))[2]["visible"] is False
    message, _ = cb.add_user("mallory", "mallory's password", True, _Request("hana"))
    assert "only an admin" in message and accounts.user("mallory") is None
    assert "only an admin" in cb.remove_user("root", _Request("hana"))[0] and accounts.user("root")
    assert "yourself" in cb.remove_user("root", _Request("root"))[0]
    message, rows = cb.create_token("laptop", _Request("hana"))
    token = message.split("copy it now): `")[1].split("`")[0]
    assert accounts.user_for_token(token).name == "hana" and rows[0][1] == "laptop"
    root_token = accounts.create_token("root")[0]
    assert "no token" in cb.revoke_token(root_token.id, _Request("hana"))[0], "only one's own tokens"
    assert cb.revoke_token(rows[0][0], _Request("hana"))[1] == [] and accounts.user_for_token(token) is None
