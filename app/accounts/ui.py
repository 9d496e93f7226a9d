"""The "Account" tab: your API tokens; for admins, the users of the server. Every action checks the caller."""

from __future__ import annotations

import logging
import time

import gradio as gr

from app.accounts.store import AccountError, AccountStore

logger = logging.getLogger(__name__)

NO_ACCOUNTS = ("No accounts yet: everyone who reaches this server may use it. Add the first admin with "
               "`askdocs users add NAME --admin` (or set ASKDOCS_USERNAME / ASKDOCS_PASSWORD) and restart.")


class AccountCallbacks:
    def __init__(self, accounts: AccountStore):
        self.accounts = accounts

    def _caller(self, request: gr.Request | None):
        name = getattr(request, "username", None)
        return self.accounts.user(name) if name else None

    def _admin(self, request):
        user = self._caller(request)
        if user is None or not user.admin:
            raise AccountError("only an admin may manage users")
        return user

    def _user_rows(self) -> list[list]:
        return [[u.name, "admin" if u.admin else "", time.strftime("%Y-%m-%d", time.localtime(u.created)),
                 len(self.accounts.tokens(u.name))] for u in self.accounts.users()]

    def _token_rows(self, name: str) -> list[list]:
        return [[t.id, t.label, time.strftime("%Y-%m-%d %H:%M", time.localtime(t.created)),
                 time.strftime("%Y-%m-%d %H:%M", time.localtime(t.last_used)) if t.last_used else "never"]
                for t in self.accounts.tokens(name)]

    def load(self, request: gr.Request):
        """(who you are, your tokens, the admin section's visibility, the users table)."""
        user = self._caller(request)
        if user is None:
            return NO_ACCOUNTS, [], gr.update(visible=False), []
        me = f"Signed in as **{user.name}**" + (" (admin)" if user.admin else "")
        return me, self._token_rows(user.name), gr.update(visible=user.admin), \
            self._user_rows() if user.admin else []

    def create_token(self, label: str, request: gr.Request):
        user = self._caller(request)
        if user is None:
            return "Sign in to create API tokens.", []
        info, token = self.accounts.create_token(user.name, (label or "").strip())
        return (f"New token `{info.id}` (shown once, copy it now): `{token}` — send it as "
                f"`Authorization: Bearer …`", self._token_rows(user.name))

    def revoke_token(self, token_id: str, request: gr.Request):
        user = self._caller(request)
        if user is None:
            return "Sign in first.", []
        try:
            self.accounts.revoke_token((token_id or "").strip(), user.name)  # only one's own tokens
            return f"Revoked `{token_id}`.", self._token_rows(user.name)
        except AccountError as exc:
            return str(exc), self._token_rows(user.name)

    def add_user(self, name: str, password: str, admin: bool, request: gr.Request):
        try:
            self._admin(request)
            self.accounts.add_user((name or "").strip(), password or "", admin=bool(admin))
            return f"Added {name}.", self._user_rows()
        except AccountError as exc:
            return str(exc), self._user_rows() if self._caller(request) else []

    def remove_user(self, name: str, request: gr.Request):
        try:
            me = self._admin(request)
            if (name or "").strip() == me.name:
                raise AccountError("you cannot remove yourself")
            self.accounts.remove_user((name or "").strip())
            return f"Removed {name}.", self._user_rows()
        except AccountError as exc:
            return str(exc), self._user_rows() if self._caller(request) else []

    def set_password(self, name: str, password: str, request: gr.Request):
        try:
            self._admin(request)
            self.accounts.set_password((name or "").strip(), password or "")
            return f"Changed the password of {name}.", self._user_rows()
        except AccountError as exc:
            return str(exc), self._user_rows() if self._caller(request) else []


def build_account_tab(accounts: AccountStore, demo: gr.Blocks) -> None:
    """The tab's components and events; call inside `demo`'s context."""
    cb = AccountCallbacks(accounts)
    private = {"api_visibility": "private"}
    with gr.Tab("Account"):
        me = gr.Markdown("", elem_id="account-me")
        gr.Markdown("#### Your API tokens")
        tokens = gr.Dataframe(headers=["id", "label", "created", "last used"], interactive=False,
                              elem_id="account-tokens")
        with gr.Row():
            label = gr.Textbox(label="Label of a new token (what it is for)", scale=3)
            create = gr.Button("Create token", scale=1, elem_id="create-token")
            token_id = gr.Textbox(label="Token id to revoke", scale=2)
            revoke = gr.Button("Revoke", variant="stop", scale=1)
        token_status = gr.Markdown("", elem_id="token-status")
        with gr.Column(visible=False) as admin_section:
            gr.Markdown("#### Users (admins only)")
            users = gr.Dataframe(headers=["user", "role", "since", "tokens"], interactive=False, elem_id="users")
            with gr.Row():
                name = gr.Textbox(label="User name", scale=2)
                password = gr.Textbox(label="Password (8+ characters)", type="password", scale=2)
                admin = gr.Checkbox(label="Admin", scale=1)
            with gr.Row():
                add = gr.Button("Add user", variant="primary")
                set_pw = gr.Button("Set password")
                remove = gr.Button("Remove user", variant="stop")
            user_status = gr.Markdown("", elem_id="user-status")
    create.click(cb.create_token, [label], [token_status, tokens], **private)
    revoke.click(cb.revoke_token, [token_id], [token_status, tokens], **private)
    add.click(cb.add_user, [name, password, admin], [user_status, users], **private)
    set_pw.click(cb.set_password, [name, password], [user_status, users], **private)
    remove.click(cb.remove_user, [name], [user_status, users], **private)
    demo.load(cb.load, None, [me, tokens, admin_section, users], **private)
