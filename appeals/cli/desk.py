"""The review desk and its users: serve, users, access-log."""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from appeals.cli.common import (
    AsOfOpt,
    DbOpt,
    FormatOpt,
    OrgOpt,
    PayersOpt,
    RegistryOpt,
    TemplatesOpt,
    _case_call,
    _logged,
    _print_json,
    _settings,
    _shown,
    _store,
    app,
    err,
)


@app.command("serve")
def serve_cmd(
    db: DbOpt = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on. The default "
                                      "serves this machine only.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8000,
    facts: Annotated[Path | None, typer.Option("--facts", help="The runs' facts YAML: the "
                                               "clinician form saves answers there.")] = None,
    org: OrgOpt = None, payers: PayersOpt = None, templates: TemplatesOpt = None,
    rules: Annotated[Path | None, typer.Option("--rules")] = None, registry: RegistryOpt = None,
    cert: Annotated[Path | None, typer.Option("--cert", help="TLS certificate (PEM): serve "
                                              "HTTPS.")] = None,
    key: Annotated[Path | None, typer.Option("--key", help="The certificate's private key "
                                             "(PEM).")] = None,
    behind_proxy: Annotated[bool, typer.Option("--behind-proxy", help="A reverse proxy on this "
                                               "machine terminates TLS: trust its "
                                               "X-Forwarded-Proto and -For.")] = False,
    as_of: AsOfOpt = None,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64, help="Server processes "
                                         "(a team on PostgreSQL).")] = 1,
) -> None:
    """The review desk: the worklist, cases and their packets, approve, mark sent, record the
    decision, in the browser. Sign in with a user made by `appeals users add`. Run it from the
    folder `appeals run` ran in (packets are found where the run wrote them)."""

    import uvicorn

    from appeals.store import store_url
    from appeals.web import create_app

    files = {"org": org, "payers": payers, "templates": templates, "rules": rules,
             "registry": registry}
    _settings(rules, registry, org, payers, facts if facts and facts.exists() else None,
              templates, None)  # a broken settings file stops the desk before it starts
    engine = _store(db)
    secret = os.environ.get("APPEALS_SECRET")
    if (cert is None) != (key is None):
        err("error: --cert and --key go together")
        raise typer.Exit(2)
    loopback = host in ("127.0.0.1", "localhost", "::1")
    where = "this machine only" if loopback else \
        "the network: anyone who can reach this address sees the sign-in page"
    scheme = "https" if cert else "http"
    err(f"review desk on {scheme}://{host}:{port}/ for {where}; case store "
        f"{_shown(store_url(db))}"
        + ("" if secret else "; sessions end when it stops (set APPEALS_SECRET to keep them)"))
    if not cert and not behind_proxy and not loopback:
        err("warning: plain HTTP on a network address: passwords, session cookies and patients' "
            "records cross the network unencrypted. Give --cert and --key, or put a TLS proxy "
            "in front (--behind-proxy); see the README's desk section")
    transport = {"ssl_certfile": str(cert) if cert else None,
                 "ssl_keyfile": str(key) if key else None, "proxy_headers": behind_proxy,
                 "forwarded_allow_ips": "127.0.0.1" if behind_proxy else None}
    if workers == 1:
        uvicorn.run(create_app(engine, secret, as_of=as_of.date() if as_of else None,
                               facts=facts, settings=files), host=host, port=port,
                    log_level="warning", **transport)
        return
    import secrets

    from appeals.web.app import DESK_ENV

    if engine.dialect.name == "sqlite":
        err("warning: several workers on SQLite take turns writing; a team serves from "
            "PostgreSQL (see the case store section)")
    # The workers are fresh processes: the store, the cookie key and the files go by the
    # environment (one key for all, or a cookie signed by one worker is refused by the next).
    os.environ["APPEALS_DB"] = engine.url.render_as_string(hide_password=False)
    os.environ.setdefault("APPEALS_SECRET", secrets.token_hex(32))
    os.environ[DESK_ENV] = json.dumps({
        "as_of": as_of.date().isoformat() if as_of else None,
        "facts": str(facts.resolve()) if facts else None,
        "settings": {k: str(v.resolve()) if v else None for k, v in files.items()}})
    engine.dispose()
    uvicorn.run("appeals.web.app:app_from_env", factory=True, workers=workers, host=host,
                port=port, log_level="warning", **transport)


users_app = typer.Typer(no_args_is_help=True, help="The review desk's users.")


app.add_typer(users_app, name="users")


PasswordStdinOpt = Annotated[bool, typer.Option("--password-stdin", help="Read the password "
                                                "from standard input (else asked).")]


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


@users_app.command("add")
def users_add_cmd(
    name: Annotated[str, typer.Argument()],
    role: Annotated[str, typer.Option("--role", help="biller, clinician, compliance or admin.")],
    password_stdin: PasswordStdinOpt = False,
    db: DbOpt = None,
) -> None:
    """Add a user of `appeals serve` (the password is stored as an argon2id hash)."""
    from appeals.store.users import add_user

    password = _password(password_stdin)
    _case_call(lambda: add_user(_store(db), name, role, password))
    err(f"user {name} ({role}) added")


@users_app.command("list")
def users_list_cmd(db: DbOpt = None, fmt: FormatOpt = "table") -> None:
    """Every user: role, state (active, locked, disabled), wrong passwords in a row, whether an
    API token is set, and open sessions."""
    from appeals.store.users import list_users

    rows = list_users(_store(db))
    if fmt == "json":
        _print_json(rows)
        return
    for r in rows:
        typer.echo(f"{r['name']:<24} {r['role']:<11} {r['state']:<9} failed {r['failed_sign_ins']}"
                   f"  tokens {r['api_tokens']}  sessions {r['open_sessions']}"
                   + (f"  providers {', '.join(r['providers'])}" if r["providers"] else ""))


def _user_change(change: str, help_: str):
    def command(name: Annotated[str, typer.Argument()], db: DbOpt = None) -> None:
        from appeals.store.users import set_user

        _case_call(lambda: set_user(_store(db), name, change))
        err(f"user {name}: {change}{'d' if change.endswith('e') else 'ed'}")
    command.__doc__ = help_
    return command


for _change, _help in (
        ("disable", ("Disable NAME: no sign-in, their sessions end and their API token is "
                     "dropped.")),
        ("enable", "Let a disabled user sign in again."),
        ("unlock", "Clear the lock set after repeated wrong passwords."),
        ("remove", "Remove NAME (their sessions end; the history keeps their name).")):
    users_app.command(_change)(_user_change(_change, _help))


@users_app.command("password")
def users_password_cmd(name: Annotated[str, typer.Argument()],
                       password_stdin: PasswordStdinOpt = False, db: DbOpt = None) -> None:
    """Set NAME's password: their sessions end and their API token is dropped."""
    from appeals.store.users import set_user

    password = _password(password_stdin)
    _case_call(lambda: set_user(_store(db), name, "password", password))
    err(f"user {name}: password changed, sessions ended")


@app.command("access-log")
def access_log_cmd(
    user: Annotated[str | None, typer.Option("--user")] = None,
    case: Annotated[int | None, typer.Option("--case", metavar="CASE_ID")] = None,
    since: Annotated[datetime | None, typer.Option("--since", formats=["%Y-%m-%d"])] = None,
    fmt: Annotated[str, typer.Option("--format", help="table, json or csv.")] = "table",
    db: DbOpt = None,
) -> None:
    """Who signed in, viewed a case, downloaded a file, called the API or exported, and from
    where (the desk and the case commands write it; no patient data in it)."""
    from appeals.store.access import access_rows

    engine = _store(db)
    rows = access_rows(engine, user=user, case_id=case, since=since.date() if since else None)
    _logged(engine, "export", f"appeals access-log --format {fmt}: {len(rows)} rows")
    if fmt == "json":
        _print_json(rows)
    elif fmt == "csv":
        import csv

        out = csv.DictWriter(sys.stdout, fieldnames=["id", "at", "user_name", "action",
                                                     "case_id", "detail", "address", "outcome"],
                             lineterminator="\n")
        out.writeheader()
        out.writerows(rows)
    else:
        for r in rows:
            typer.echo(f"{r['at']}  {r['user_name'] or '-':<16} {r['action']:<16} "
                       f"{r['case_id'] or '':<6} {r['outcome']:<8} {r['address'] or ''}  "
                       f"{r['detail'] or ''}")


@users_app.command("token")
def users_token_cmd(
    name: Annotated[str, typer.Argument()], db: DbOpt = None,
    scope: Annotated[str, typer.Option("--scope", help="read, or write (read and write).")
                     ] = "read",
    days: Annotated[int, typer.Option("--days", help="How long it lasts (1 to 366).")] = 90,
) -> None:
    """A new API token for NAME (printed once; only its hash is kept): send it as
    `Authorization: Bearer TOKEN` to /api/cases. It ends after --days, when revoked, or when
    the user is disabled or given a new password."""
    from appeals.store.users import make_token

    typer.echo(_case_call(lambda: make_token(_store(db), name, scope, days)))


@users_app.command("tokens")
def users_tokens_cmd(name: Annotated[str | None, typer.Argument()] = None,
                     db: DbOpt = None) -> None:
    """The API tokens (never their values): id, user, scope, made, expires, revoked, last use."""
    from appeals.store.users import list_tokens

    for t in list_tokens(_store(db), name):
        state = f"revoked {t['revoked_at']}" if t["revoked_at"] else f"expires {t['expires_at']}"
        typer.echo(f"{t['id']:>4}  {t['user_name']:<24} {t['scope']:<6} made {t['created_at']}  "
                   f"{state}  last used {t['last_used_at'] or 'never'}")


@users_app.command("revoke")
def users_revoke_cmd(token_id: Annotated[int, typer.Argument(metavar="TOKEN_ID")],
                     db: DbOpt = None) -> None:
    """Revoke an API token by its id (`appeals users tokens` lists them)."""
    from appeals.store.users import revoke_token

    _case_call(lambda: revoke_token(_store(db), token_id))
    err(f"token {token_id} revoked")


@users_app.command("link")
def users_link_cmd(
    name: Annotated[str, typer.Argument()],
    provider: Annotated[list[str], typer.Option("--provider", help="A rendering provider's NPI "
                                                "(or name as the remittance gives it); "
                                                "repeat it for several.")],
    db: DbOpt = None,
) -> None:
    """The rendering providers a clinician is: the desk shows them those providers' cases only,
    and only those may they answer and sign. Replaces the earlier list."""
    from appeals.store.users import set_providers

    _case_call(lambda: set_providers(_store(db), name, provider))
    err(f"user {name}: providers {', '.join(provider)}")
