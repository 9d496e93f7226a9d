"""`askdocs users add|list|remove|passwd` and `askdocs tokens create|list|revoke`."""

from __future__ import annotations

import functools
import getpass
import json
import sys
import time

from app.accounts.store import AccountError, AccountStore


def add_parsers(sub) -> None:
    p = sub.add_parser("users", help="accounts of the server: add, list, remove, passwd")
    users = p.add_subparsers(required=True, dest="action", metavar="ACTION")
    q = users.add_parser("add", help="add a user (password from standard input when it is not a terminal)")
    q.add_argument("name")
    q.add_argument("--admin", action="store_true", help="may manage users")
    users.add_parser("list", help="list users").add_argument("--json", action="store_true")
    users.add_parser("remove", help="remove a user and their tokens").add_argument("name")
    users.add_parser("passwd", help="set a user's password").add_argument("name")
    p.set_defaults(handler=cmd_users)

    p = sub.add_parser("collections", help="shared collections and their members: add, list, remove, grant, revoke")
    collections = p.add_subparsers(required=True, dest="action", metavar="ACTION")
    collections.add_parser("add", help="create a shared collection").add_argument("name")
    collections.add_parser("list", help="shared collections and members").add_argument("--json", action="store_true")
    collections.add_parser("remove", help="remove a shared collection (its documents stay until "
                                          "removed)").add_argument("name")
    q = collections.add_parser("grant", help="let a user read (or --write) a collection")
    q.add_argument("name")
    q.add_argument("user")
    q.add_argument("--write", action="store_true", help="may also upload, delete and re-index")
    q = collections.add_parser("revoke", help="take a user out of a collection")
    q.add_argument("name")
    q.add_argument("user")
    p.set_defaults(handler=cmd_collections)

    p = sub.add_parser("tokens", help="API tokens (Authorization: Bearer TOKEN): create, list, revoke")
    tokens = p.add_subparsers(required=True, dest="action", metavar="ACTION")
    q = tokens.add_parser("create", help="print a new token for a user on standard output")
    q.add_argument("name")
    q.add_argument("--label", default="", help="what the token is for")
    q = tokens.add_parser("list", help="list tokens (ids, never the tokens)")
    q.add_argument("name", nargs="?")
    q.add_argument("--json", action="store_true")
    tokens.add_parser("revoke", help="revoke a token by its id").add_argument("token_id", metavar="ID")
    p.set_defaults(handler=cmd_tokens)


def _with_accounts(command):
    """Runs `command(args, accounts)` on the data folder's accounts; an AccountError is one line and exit 1."""
    @functools.wraps(command)
    def run(args, settings) -> int:
        try:
            command(args, AccountStore(settings.data_dir / "accounts.sqlite3"))
        except AccountError as exc:
            print(f"askdocs: {exc}", file=sys.stderr)
            return 1
        return 0
    return run


def read_password(prompt: str = "Password: ") -> str:
    """From the terminal (asked twice), or the first line of standard input when it is not a terminal."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass(prompt)
    if getpass.getpass("Again: ") != first:
        raise AccountError("the passwords differ")
    return first


@_with_accounts
def cmd_users(args, accounts: AccountStore) -> None:
    if args.action == "add":
        accounts.add_user(args.name, read_password(), admin=args.admin)
        print(f"added {args.name}" + (" (admin)" if args.admin else ""))
    elif args.action == "list":
        users = accounts.users()
        if args.json:
            print(json.dumps([vars(u) for u in users], indent=2))
        for u in [] if args.json else users:
            print(f"{u.name}{'  admin' if u.admin else ''}  since {time.strftime('%Y-%m-%d', time.localtime(u.created))}")
    elif args.action == "remove":
        accounts.remove_user(args.name)
        print(f"removed {args.name}")
    elif args.action == "passwd":
        if accounts.user(args.name) is None:
            raise AccountError(f"no user {args.name!r}")
        accounts.set_password(args.name, read_password("New password: "))
        print(f"password of {args.name} changed")


@_with_accounts
def cmd_collections(args, accounts: AccountStore) -> None:
    if args.action == "add":
        accounts.add_collection(args.name)
        print(f"added collection {args.name}")
    elif args.action == "list":
        listed = accounts.collections()
        if args.json:
            print(json.dumps(listed, indent=2))
        for name, members in [] if args.json else listed.items():
            who = ", ".join(f"{u} ({'write' if w else 'read'})" for u, w in sorted(members.items())) or "no members"
            print(f"{name}: {who}")
    elif args.action == "remove":
        accounts.remove_collection(args.name)
        print(f"removed collection {args.name}")
    elif args.action == "grant":
        accounts.grant(args.name, args.user, write=args.write)
        print(f"{args.user} may {'write' if args.write else 'read'} {args.name}")
    elif args.action == "revoke":
        accounts.revoke(args.name, args.user)
        print(f"{args.user} left {args.name}")


@_with_accounts
def cmd_tokens(args, accounts: AccountStore) -> None:
    if args.action == "create":
        info, token = accounts.create_token(args.name, args.label)
        print(token)
        print(f"token {info.id} for {info.user}: shown once, keep it secret", file=sys.stderr)
    elif args.action == "list":
        tokens = accounts.tokens(args.name)
        if args.json:
            print(json.dumps([vars(t) for t in tokens], indent=2))
        for t in [] if args.json else tokens:
            used = time.strftime("%Y-%m-%d %H:%M", time.localtime(t.last_used)) if t.last_used else "never"
            print(f"{t.id}  {t.user}  {t.label or '-'}  created "
                  f"{time.strftime('%Y-%m-%d', time.localtime(t.created))}, last used {used}")
    elif args.action == "revoke":
        accounts.revoke_token(args.token_id)
        print(f"revoked {args.token_id}")
