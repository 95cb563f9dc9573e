"""The review desk: a server-rendered Starlette app over the case store.

Pages for people (a login form, the worklist, a case, its files, approve, mark, outcome) and a
small JSON API for scripts, calling the same store functions as the CLI. Every form carries the
session's CSRF token; roles decide who may mark, approve or answer; every change is an event in
the case's history with the user's name. Files are served only when the case recorded them and
their bytes still have the recorded sha256: no path from a request reaches the file system.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import secrets
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from sqlalchemy.engine import Engine
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from appeals.compose.letters import display_name
from appeals.compose.settings import load_biller_fields
from appeals.intake.caps import MB, caps
from appeals.models import Category, Owner, parse_money
from appeals.store import (
    CaseError,
    approve,
    case_history,
    log_call,
    mark,
    record_outcome,
)
from appeals.store.access import access_rows, log_access, refused_sign_ins
from appeals.store.cases import (
    WorklistQuery,
    approved_cases,
    status_counts,
    worklist_page,
)
from appeals.store.lifecycle import Status
from appeals.store.record import unfinished_runs
from appeals.store.users import (
    CAN,
    LIFETIME_HOURS,
    Role,
    end_session,
    providers_of,
    session_user,
    sign_in,
    user_for_token,
)
from appeals.web.week import Job, keep_upload, next_folder, save_upload, start_run

if TYPE_CHECKING:
    from appeals.packet import Settings

#: The largest request body the desk reads (a form is a few kB; a checklist answer a few more).
MAX_BODY = 1 << 20
UPLOAD_FILES = 4  # an upload's body: at most this many files of the largest size
PAGE = 200  # worklist rows a page
API_PAGE, API_PAGE_MAX = 100, 500  # /api/cases: cases a page by default, at most
SOON = 14  # days left at or under which a deadline is highlighted


def upload_limit() -> int:
    """The week's uploads: a few files of up to documents.file_mb each (limits.yaml)."""
    return UPLOAD_FILES * caps().file_mb * MB


class BodyLimit:
    """413 for a body over MAX_BODY (the week's uploads: upload_limit()), whether it says its
    length or streams it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        most = upload_limit() if scope.get("path", "").startswith("/week/") else MAX_BODY
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > most):
            await _too_large(send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > most:
                raise _TooLarge
            return message

        try:
            await self.app(scope, counted, send)
        except _TooLarge:
            await _too_large(send)


class _TooLarge(Exception):
    pass


#: On every response: no framing by other sites, no scripts at all (the desk has none), nothing
#: sniffed, no referrer leaving with a case number in it.
SECURITY_HEADERS = [
    (b"content-security-policy", (b"default-src 'self'; script-src 'none'; style-src 'self' "
                                 b"'unsafe-inline'; frame-ancestors 'self'; form-action 'self'")),
    (b"x-frame-options", b"SAMEORIGIN"), (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"), (b"cache-control", b"no-store"),
]


#: Over HTTPS (TLS here, or a proxy's scheme trusted with --behind-proxy): browsers keep to
#: HTTPS for a year, and the session cookie is sent over HTTPS only.
HSTS = (b"strict-transport-security", b"max-age=31536000")


class SecurityHeaders:
    """The headers above on every response, a 500 included (an error inside the desk is a plain
    page with the same headers, its traceback in the server's log, never in the page)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https, started = scope.get("scheme") == "https", False

        async def with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", []))
                if https:
                    headers = [(k, v + b"; secure") if k.lower() == b"set-cookie" and
                               b"secure" not in v.lower() else (k, v) for k, v in headers]
                names = {k.lower() for k, _ in headers}
                message["headers"] = [*headers, *(h for h in (
                    *SECURITY_HEADERS, *((HSTS,) if https else ())) if h[0] not in names)]
            await send(message)

        try:
            await self.app(scope, receive, with_headers)
        except Exception:
            if started:
                raise
            logging.getLogger("appeals.web").exception("error on %s", scope.get("path"))
            await PlainTextResponse("Something went wrong on the desk; it is in the server's "
                                    "log.", status_code=500)(scope, receive, with_headers)


async def _too_large(send: Send) -> None:
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"text/plain; charset=utf-8")]})
    await send({"type": "http.response.body", "body": b"request body too large"})


def _templates() -> Environment:
    env = Environment(loader=PackageLoader("appeals.web", "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["words"] = lambda v: str(v or "").replace("_", " ")
    return env


class Desk:
    """The app's state and handlers (one store, one template environment)."""

    def __init__(self, engine: Engine, as_of: date | None = None, facts: Path | None = None,
                 settings: dict | None = None) -> None:
        self.engine = engine
        self.fixed_day = as_of
        self.env = _templates()
        self.facts = facts  # where the clinician's answers are kept (the runs' --facts file)
        self.settings = settings or {}  # the runs' other files: org, payers, templates, ...
        self.root = Path.cwd()  # inbox/ and out/ of the week's runs, as `appeals run` here
        self.jobs: list[Job] = []  # runs started from the desk since it started

    def _org(self):
        """The practice settings (org.yaml), read again each time: an edit applies at once."""
        from appeals.compose.settings import load_org

        return load_org(self.settings.get("org"))

    def _separate(self) -> bool:
        """The practice separates approving a letter from sending it (org.yaml)."""
        return self._org().approver_not_sender

    @property
    def today(self) -> date:
        return self.fixed_day or date.today()

    def run_settings(self) -> Settings:
        """The runs' settings as of today, with the facts file once it exists."""
        from appeals.packet import Settings

        return Settings.load(**self.settings, facts=self.facts if self.facts and
                             self.facts.exists() else None, as_of=self.today)

    # --- who is asking ------------------------------------------------------------------------

    def user(self, request: Request) -> tuple[str, Role] | None:
        """Who is asking: a bearer token's user, else the session's; looked up once a request
        (the guard, the handler and the page all ask)."""
        if "appeals.user" in request.scope:
            return request.scope["appeals.user"]
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            found = user_for_token(self.engine, auth[7:].strip(),
                                   write=request.method not in ("GET", "HEAD"))
        else:  # the cookie only names a session: the store says whether it still lives
            found = session_user(self.engine, str(request.session.get("sid") or ""))
        request.scope["appeals.user"] = found
        return found

    def providers(self, request: Request) -> frozenset[str] | None:
        """A clinician's own rendering providers (only their cases are shown); None for the
        other roles, who see every case."""
        user = self.user(request)
        if user is None or user[1] != Role.clinician:
            return None
        if "appeals.providers" not in request.scope:
            request.scope["appeals.providers"] = providers_of(self.engine, user[0])
        return request.scope["appeals.providers"]

    def log(self, request: Request, action: str, **row) -> None:
        """One access-log row for the user asking (the store keeps it; no PHI in it)."""
        user = self.user(request)
        log_access(self.engine, user[0] if user else None, action, address=_address(request),
                   **row)

    def page(self, request: Request, name: str, status: int = 200, **context) -> HTMLResponse:
        user = self.user(request)
        html = self.env.get_template(name).render(
            user=user[0] if user else None, role=user[1].value if user else None,
            csrf=_csrf(request), can={k: user is not None and user[1] in v
                                      for k, v in CAN.items()}, **context)
        return HTMLResponse(html, status_code=status)

    # --- pages --------------------------------------------------------------------------------

    async def login_form(self, request: Request) -> Response:
        return self.page(request, "login.html.j2", error="")

    async def login(self, request: Request) -> Response:
        form = await request.form()
        if not _csrf_ok(request, form.get("csrf")):
            return self.page(request, "login.html.j2", 403, error="The form expired: try again.")
        name, address = str(form.get("username", ""))[:100], _address(request)
        throttle = self._org().sign_in_throttle  # refused sign-ins slow the next ones
        wait = throttle.wait(refused_sign_ins(self.engine, address, throttle.window_minutes))
        if wait:  # a guesser waits; the server does not
            await asyncio.sleep(wait)
        # argon2 takes a tenth of a second of CPU on purpose: not on the event loop
        done = await run_in_threadpool(sign_in, self.engine, name,
                                       str(form.get("password", "")), address)
        if done.user is None:
            log_access(self.engine, name, "sign_in", detail=done.why, address=address,
                       outcome="refused")
            return self.page(request, "login.html.j2", 401, error=(
                "This account is locked or disabled: ask an administrator to unlock it."
                if done.locked else "That name and password do not match."))
        if request.session.get("sid"):  # a sign-in over another: that one ends here
            end_session(self.engine, str(request.session["sid"]), "signed_in_again")
        request.session.clear()
        request.session.update(sid=done.token, csrf=secrets.token_urlsafe(32))
        request.scope["appeals.user"] = done.user
        log_access(self.engine, done.user[0], "sign_in", address=address)
        return RedirectResponse("/", status_code=303)

    async def logout(self, request: Request) -> Response:
        form = await request.form()
        if _csrf_ok(request, form.get("csrf")):
            if request.session.get("sid"):
                self.log(request, "sign_out")
                end_session(self.engine, str(request.session["sid"]))
            request.session.clear()
        return RedirectResponse("/login", status_code=303)

    async def worklist(self, request: Request) -> Response:
        """Each person's work first: urgent cases at the top and marked, a readiness column,
        filters in words, a search by claim, member id or patient name, and the compliance
        reviewer's queue of letters awaiting approval (`?queue=approval`)."""
        q = request.query_params
        bad = _bad_numbers(q, "page", "due", "level")
        if bad:
            return self.page(request, "error.html.j2", 400, message=bad)
        status = q.get("status") or None
        if status and status not in Status.__members__:
            return self.page(request, "error.html.j2", 400,
                             message=f"status: {status[:40]!r} is not a status of a case.")
        queue = q.get("queue") == "approval"
        start = (_number(q.get("page")) or 0) * PAGE
        owner = q.get("owner") if q.get("owner") in {o.value for o in Owner} else None
        query = WorklistQuery(
            as_of=self.today,  # no status: the work, the open cases (the rest a filter away)
            statuses=(status,) if status else tuple(sorted(OPEN)),
            category=_words_key(q.get("category")) or None, payer=q.get("payer") or None,
            owner=owner, level=_number(q.get("level")) or None, due_within=_number(q.get("due")),
            search=" ".join((q.get("q") or "").split())[:100],
            providers=self.providers(request), needs_approval=queue,
            order=q.get("sort", "priority"), offset=0 if queue else start,
            limit=None if queue else PAGE)
        total, rows = worklist_page(self.engine, query)
        approved = approved_cases(self.engine, [r["case_id"] for r in rows
                                                if r["needs_approval"]])
        if queue:  # what waits for compliance: not yet approved as the packet now stands
            rows = [r for r in rows if r["case_id"] not in approved]
            total, rows = len(rows), rows[start:start + PAGE]
        # one spelling per patient: "SAMPLE, AVERY" from an 835 and "Avery Sample" from an
        # export are the same person, shown as a letter names them
        shown = [{**r, "patient_name": display_name(r["patient_name"]) or "",
                  "readiness": _readiness(r, r["case_id"] in approved)} for r in rows]
        return self.page(request, "worklist.html.j2", rows=shown,
                         total=total, start=start, page_size=PAGE, filters=dict(q),
                         statuses=[s.value for s in Status], owners=[o.value for o in Owner],
                         categories=[c.value for c in Category if c.value not in NOT_DENIALS],
                         soon=SOON, today=self.today, queue=queue)

    async def case(self, request: Request) -> Response:
        case = self._case(request)
        if case is None:
            return self.page(request, "error.html.j2", 404, message="No such case.")
        self.log(request, "case_view", case_id=case["case_id"])
        return self._case_page(request, case)

    def _case_page(self, request: Request, case: dict, status: int = 200, error: str = "",
                   typed: dict | None = None) -> HTMLResponse:
        """The case page; after a refused action, with why and what was typed kept."""
        case = {**case, "patient_name": display_name(case.get("patient_name")) or ""}
        return self.page(request, "case.html.j2", status, case=case,
                         packet=_packet_summary(case), needs_approval=case["needs_approval"],
                         approved=case["approved"], send_problems=case["send_problems"],
                         files=sorted(case["packet_hashes"]), today=self.today,
                         biller_fields=sorted(load_biller_fields().fields.items()),
                         error=error, typed=typed or {}, open_statuses=OPEN)

    async def file(self, request: Request) -> Response:
        case = self._case(request)
        name = request.path_params["name"]
        if case is None or name not in case["packet_hashes"] or not case["packet"]:
            return Response("not a file of this case", status_code=404)
        path = Path(case["packet"]) / name
        try:
            data = path.read_bytes()
        except OSError:
            return Response("the file is no longer where the run wrote it", status_code=404)
        if hashlib.sha256(data).hexdigest() != case["packet_hashes"][name]:
            return Response("the file changed since the run recorded it", status_code=409)
        self.log(request, "file_download", case_id=case["case_id"], detail=name)
        kind = {".pdf": "application/pdf", ".json": "application/json"}.get(
            path.suffix, "application/vnd.openxmlformats-officedocument.wordprocessingml.document")
        shown = "inline" if path.suffix == ".pdf" else "attachment"
        return Response(data, media_type=kind, headers={
            "content-disposition": f'{shown}; filename="{name}"'})

    async def act(self, request: Request) -> Response:
        """approve, mark (sent, closed) or outcome: a form post, checked, then the store."""
        who = self.user(request)
        action = request.path_params["action"]
        if action not in ACTIONS:
            return self.page(request, "error.html.j2", 404, message="No such action.")
        form = await request.form()
        refusal = self._refusal(request, form, who, f"{action} a case", ACTIONS[action])
        if refusal is not None:
            return refusal
        ref = str(request.path_params["case_id"])
        note = str(form.get("note") or "")[:2000] or None
        try:
            if action == "approve":
                approve(self.engine, ref, on=self.today, who=who[0], note=note)
            elif action == "escalate":
                return self._escalate(request, ref, str(form.get("kind") or ""), who[0])
            elif action == "facts":
                return self._fact(request, ref, str(form.get("field") or ""),
                                  str(form.get("value") or "").strip()[:2000], who[0])
            elif action == "call":
                log_call(self.engine, ref, on=self.today, rep=str(form.get("rep") or ""),
                         reference=str(form.get("ref") or "")[:100] or None, note=note,
                         who=who[0])
            elif action == "mark":
                mark(self.engine, ref, str(form.get("to", "")), on=self.today,
                     method=form.get("method") or None, reason=form.get("reason") or None,
                     note=note, who=who[0],
                     override=str(form.get("override") or "")[:500] or None,
                     separate=self._separate())
            else:
                record_outcome(self.engine, ref, str(form.get("decision", "")), on=self.today,
                               amount=parse_money(form.get("amount") or None), note=note,
                               who=who[0])
        except (CaseError, ValueError) as exc:
            case = self._case(request)
            if case is None:
                return self.page(request, "error.html.j2", 400, message=str(exc))
            typed = {k: str(v)[:2000] for k, v in form.items() if k != "csrf"}
            return self._case_page(request, case, 400, error=str(exc),
                                   typed={"action": action, **typed})
        return RedirectResponse(f"/cases/{ref}", status_code=303)

    async def bulk(self, request: Request) -> Response:
        """Many cases marked sent at once (one fax batch): each through the same send gate as
        one case; what the gate refuses is listed with its reason, the rest are sent."""
        who = self.user(request)
        form = await request.form()
        refusal = self._refusal(request, form, who, "mark cases sent", "mark")
        if refusal is not None:
            return refusal
        refs = [str(v) for v in form.getlist("case") if _number(str(v)) is not None][:PAGE]
        method = str(form.get("method") or "") or None
        if not refs:
            return self.page(request, "error.html.j2", 400,
                             message="Tick the cases that went out, then mark them sent.")
        done, refused = [], []
        for ref in refs:
            try:
                mark(self.engine, ref, "sent", on=self.today, method=method, who=who[0],
                     note=str(form.get("note") or "")[:2000] or None, separate=self._separate())
                done.append(ref)
            except (CaseError, ValueError) as exc:
                refused.append((ref, str(exc)))
        return self.page(request, "bulk.html.j2", 400 if refused and not done else 200,
                         done=done, refused=refused, method=method)

    # --- the week from the desk -------------------------------------------------------------

    async def week(self, request: Request) -> Response:
        return self._week_page(request)

    def _week_page(self, request: Request, status: int = 200, *,
                   results: list | None = None, refused: list | None = None) -> HTMLResponse:
        """The Week page: the runs started here (the page refreshes while one runs), and what
        an upload just took or refused."""
        return self.page(request, "week.html.j2", status, jobs=self.jobs[::-1],
                         running=any(j.running for j in self.jobs), most=caps().file_mb,
                         results=results, refused=refused or [])

    async def week_run(self, request: Request) -> Response:
        """The week's files uploaded, sniffed, saved and run in the background."""
        who = self.user(request)
        form = await request.form()
        refusal = self._refusal(request, form, who, "run the week's files", "mark")
        if refusal is not None:
            return refusal
        going = unfinished_runs(self.engine, "the review desk")[1]
        if going or any(j.running for j in self.jobs):
            return self.page(request, "error.html.j2", 409, message=(
                "A run is still going on this store (from the desk or `appeals run`): wait for "
                "it to finish (the Week page shows the desk's), then upload again. Nothing was "
                "taken from this upload."))
        folder, number = next_folder(self.root / "inbox", self.today)
        taken: set[str] = set()
        saved, refused = [], []
        for upload in form.getlist("files"):
            if not hasattr(upload, "read"):
                continue
            name, why = save_upload(folder, upload.filename or "", await upload.read(), taken)
            (refused.append((name, why)) if why else saved.append(name))
        if not saved:
            return self._week_page(request, 400, refused=refused or [
                ("", "choose the week's files first")])
        out = self.root / "out" / f"week-{folder.name}"
        job = Job(number=len(self.jobs) + 1, who=who[0], started=datetime.now(UTC),
                  inbox=folder, out=out, log=out.with_name(out.name + ".log"), files=saved,
                  refused=refused)
        start_run(job, self.engine.url.render_as_string(hide_password=False), self.settings,
                  self.facts, self.today, self.root)
        self.jobs.append(job)
        self.log(request, "upload", detail=f"run {number} of {self.today} started: "
                                           f"{len(saved)} file(s)")
        return RedirectResponse("/week", status_code=303)

    async def week_checklists(self, request: Request) -> Response:
        """Returned checklists (PDF or DOCX) imported: each case's answers checked, saved to
        the runs' facts file and its packet built again, as the clinician's form does."""
        from appeals.answers import import_answers
        from appeals.answers.rebuild import save, stored_record

        who = self.user(request)
        form = await request.form()
        refusal = self._refusal(request, form, who, "import checklists", "answer", "mark")
        if refusal is not None:
            return refusal
        if self.facts is None:
            return self.page(request, "error.html.j2", 400, message=(
                "The desk keeps answers in the runs' facts file: start it with --facts."))
        folder, _ = next_folder(self.root / "inbox" / "checklists", self.today)
        taken: set[str] = set()
        paths, results = [], []
        for upload in form.getlist("files"):
            if not hasattr(upload, "read"):
                continue
            path, why = keep_upload(folder, upload.filename or "checklist",
                                    await upload.read(), taken)
            if path is None:
                results.append((upload.filename or "", "", f"{why}: not read"))
            else:
                paths.append(path)
        self.log(request, "upload", detail=f"{len(paths)} returned checklist(s)")
        mine = self.providers(request)
        for r in import_answers(paths, as_of=self.today):
            if r.error:
                results.append((r.path.name, "", r.error.split(": ", 1)[-1]))
                continue
            try:
                case = case_history(self.engine, r.case, as_of=self.today)
            except CaseError as exc:
                results.append((r.path.name, r.case, str(exc)))
                continue
            if mine is not None and case["provider"] not in mine:
                results.append((r.path.name, r.case, "not a case of yours: not imported"))
            elif r.problems:
                results.append((r.path.name, r.case, "not imported: " + "; ".join(r.problems)))
            elif not r.imported:
                results.append((r.path.name, r.case, "no answer filled in yet"))
            else:
                save(self.engine, case, stored_record(self.engine, case["case_id"]), r.imported,
                     facts_file=self.facts, settings_files=self.settings, as_of=self.today,
                     who=who[0], where="uploaded on the review desk")
                results.append((r.path.name, r.case, f"{len(r.imported)} answer(s) imported"
                                + (f"; still missing: {', '.join(r.missing)}" if r.missing
                                   else "") + "; its packet is built again"))
        return self._week_page(request, results=results)

    def _refusal(self, request: Request, form, who, what: str, *needed: str
                 ) -> Response | None:
        """403 for a form without this session's token, or from a role none of `needed` (the
        permissions of CAN) allows; None when the post may go on."""
        if not _csrf_ok(request, form.get("csrf")):
            return self.page(request, "error.html.j2", 403,
                             message="The form expired or did not come from this desk.")
        if not any(who[1] in CAN[n] for n in needed):
            return self.page(request, "error.html.j2", 403,
                             message=f"A {who[1].value} may not {what}.")
        return None

    def _escalate(self, request: Request, ref: str, kind: str, who: str) -> Response:
        """A letter about the filed level (appeals escalate), built under the case's folder."""
        from appeals.escalate import EscalationError, escalate

        settings = self.run_settings()
        try:
            escalate(self.engine, ref, kind, on=self.today, settings=settings, who=who)
        except EscalationError as exc:
            return self.page(request, "error.html.j2", 400, message=str(exc))
        return RedirectResponse(f"/cases/{ref}", status_code=303)

    def _fact(self, request: Request, ref: str, field_id: str, value: str, who: str
              ) -> Response:
        """A billing fact (biller_fields.yaml) for the case, saved and the packet rebuilt, as
        `appeals facts set` does."""
        from appeals.answers.rebuild import save, stored_record

        if field_id not in load_biller_fields().fields or not value:
            return self.page(request, "error.html.j2", 400,
                             message="Choose a billing fact and give its value.")
        if self.facts is None:
            return self.page(request, "error.html.j2", 400, message=(
                "The desk keeps facts in the runs' facts file: start it with --facts."))
        case = case_history(self.engine, ref, as_of=self.today)
        save(self.engine, case, stored_record(self.engine, case["case_id"]), {field_id: value},
             facts_file=self.facts, settings_files=self.settings, as_of=self.today, who=who)
        return RedirectResponse(f"/cases/{ref}", status_code=303)

    async def checklist(self, request: Request) -> Response:
        """The clinician's form: GET shows it, POST checks, saves and rebuilds the letter."""
        from appeals.answers.rebuild import save, stored_record
        from appeals.web.checklist import check, fields

        case = self._case(request)
        if case is None:
            return self.page(request, "error.html.j2", 404, message="No such case.")
        who = self.user(request)
        if request.method == "GET":
            self.log(request, "case_view", case_id=case["case_id"], detail="checklist")
        record = stored_record(self.engine, case["case_id"])
        summary = _packet_summary(case)
        settings = self.run_settings()
        items = fields(case, summary, settings, record)
        errors: list[str] = []
        if request.method == "POST":
            form = await request.form()
            if not _csrf_ok(request, form.get("csrf")):
                return self.page(request, "error.html.j2", 403,
                                 message="The form expired or did not come from this desk.")
            if who[1] not in CAN["answer"]:
                return self.page(request, "error.html.j2", 403, message=(
                    f"A {who[1].value} may not answer or sign for the treating clinician."))
            if self.facts is None:
                return self.page(request, "error.html.j2", 400, message=(
                    "The desk keeps answers in the runs' facts file: start it with --facts."))
            answers = {f.item.id: str(form.get(f.item.id) or "").strip() for f in items}
            errors = check(record, answers, self.today)
            if not errors:
                save(self.engine, case, record, answers, facts_file=self.facts,
                     settings_files=self.settings, as_of=self.today, who=who[0])
                return RedirectResponse(f"/cases/{case['case_id']}", status_code=303)
            items = [type(f)(f.item, answers.get(f.item.id, "")) for f in items]
        return self.page(request, "checklist.html.j2", 400 if errors else 200, case=case,
                         items=items, errors=errors, saving=self.facts is not None)

    async def report(self, request: Request) -> Response:
        """The weekly view from the case store: cases by status and what history tells (this
        week's reasons against the four before, aging, denial and overturn rates, charts)."""
        from markupsafe import Markup

        from appeals.compose.markup import template_file
        from appeals.report import render_history
        from appeals.store.history import history

        self.log(request, "report_view")
        counts = status_counts(self.engine)
        css = template_file("triage.css").read_text(encoding="utf-8")
        return self.page(request, "report.html.j2", counts=counts, today=self.today,
                         history=Markup(render_history(history(self.engine, self.today))),
                         css=Markup(css.replace("</", "<\\/")))

    # --- the API ------------------------------------------------------------------------------

    async def access_log(self, request: Request) -> Response:
        """The compliance officer's view of the access log (newest 500, filtered)."""
        who = self.user(request)
        if who[1] not in (Role.compliance, Role.admin):
            return self.page(request, "error.html.j2", 403,
                             message=f"A {who[1].value} may not read the access log.")
        q = request.query_params
        self.log(request, "access_log_view", detail=str(request.url.query)[:300] or None)
        rows = access_rows(self.engine, user=q.get("user") or None,
                           case_id=_number(q.get("case")), limit=500)
        return self.page(request, "access_log.html.j2", rows=rows, filters=dict(q))

    async def api_cases(self, request: Request) -> Response:
        self.log(request, "api_call", detail=f"GET {request.url.path}?{request.url.query}")
        q = request.query_params
        bad = _bad_numbers(q, "page", "per_page", "due")
        if bad:
            return JSONResponse({"error": bad}, status_code=400)
        status = q.get("status") if q.get("status") in Status.__members__ else None
        size = min(_number(q.get("per_page")) or API_PAGE, API_PAGE_MAX)
        page = _number(q.get("page")) or 0
        total, rows = worklist_page(self.engine, WorklistQuery(  # paged in the store
            as_of=self.today, statuses=(status,) if status else tuple(s.value for s in Status),
            category=q.get("category") or None, payer=q.get("payer") or None,
            due_within=_number(q.get("due")), providers=self.providers(request),
            order="deadline", offset=page * size, limit=size))
        return JSONResponse({"total": total, "page": page, "per_page": size, "cases": rows})

    async def api_case(self, request: Request) -> Response:
        case = self._case(request)
        if case is None:
            return JSONResponse({"error": "no such case"}, status_code=404)
        self.log(request, "api_call", case_id=case["case_id"], detail=f"GET {request.url.path}")
        return JSONResponse(json.loads(json.dumps(case, default=str)))

    def _case(self, request: Request) -> dict | None:
        """The case asked for; None when there is none, or it is not the asking clinician's
        (told apart from nothing, so case numbers reveal nothing)."""
        try:
            case = case_history(self.engine, str(request.path_params["case_id"]),
                                as_of=self.today)
        except CaseError:
            return None
        mine = self.providers(request)
        return case if mine is None or case["provider"] in mine else None


def _number(text: str | None, most: int = 10**6) -> int | None:
    """A small whole number from a query value, else None: "²" passes str.isdigit but is no
    number int() reads, and a thousand-digit page is no page."""
    if not text or not text.isascii() or not text.isdecimal() or len(text) > 7:
        return None
    value = int(text)
    return value if value <= most else None


#: Form actions on a case, and the permission each needs (appeals.store.users.CAN).
ACTIONS = {"approve": "approve", "mark": "mark", "outcome": "mark", "call": "mark",
           "facts": "mark", "escalate": "mark"}
#: No case is ever in this category: it is not offered as a filter.
NOT_DENIALS = {"not_a_denial"}
OPEN = {Status.to_work.value, Status.waiting_on_clinician.value, Status.ready_to_send.value,
        Status.upheld.value}


def _bad_numbers(q, *names: str) -> str:
    """Why a number in the query is no number ("" when each given one is): a 400, not a page
    that quietly shows something else."""
    for name in names:
        value = q.get(name)
        if value not in (None, "") and _number(value) is None:
            return f"{name}: {value[:20]!r} is not a whole number (0 to 1,000,000)."
    return ""


def _words_key(text: str | None) -> str:
    """A category as people write it ("Parity NQTL", "parity-nqtl") as the store keeps it."""
    return "_".join((text or "").replace("-", " ").replace("/", " ").split()).casefold()


def _readiness(row: dict, approved: bool) -> str:
    """Where a case stands before it can go: ready, or what it waits for and on whom."""
    status = row["status"]
    if status == Status.waiting_on_clinician.value:
        words = "draft: waiting on the clinician's answers"
    elif status == Status.to_work.value:
        words = "draft: the biller's part is missing"
    elif status == Status.ready_to_send.value:
        words = "ready"
    else:
        return status.replace("_", " ")
    if not row["needs_approval"] or approved:
        return words
    return "ready once compliance approves" if words == "ready" else \
        f"{words}; awaiting compliance approval"


def _address(request: Request) -> str:
    return request.client.host if request.client else ""


def _csrf(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return token


def _csrf_ok(request: Request, sent: object) -> bool:
    token = request.session.get("csrf")
    return bool(token) and isinstance(sent, str) and secrets.compare_digest(token, sent)


def _packet_summary(case: dict) -> dict:
    """packet.json of the case's packet (its classification evidence, deadlines, citations),
    read from where the store says the run wrote it, when its hash still matches."""
    path, expected = case.get("packet"), case["packet_hashes"].get("packet.json")
    if not path or not expected:
        return {}
    try:
        data = (Path(path) / "packet.json").read_bytes()
    except OSError:
        return {}
    if hashlib.sha256(data).hexdigest() != expected:
        return {}
    return json.loads(data)


def _guarded(desk: Desk, handler, api: bool = False):
    """The handler for a signed-in user; others get 401 (API) or the login page."""
    async def endpoint(request: Request) -> Response:
        if desk.user(request) is None:
            if api:
                return JSONResponse({"error": "sign in first"}, status_code=401)
            return RedirectResponse("/login", status_code=303)
        return await handler(request)
    return endpoint


def create_app(engine: Engine, secret: str | None = None, as_of: date | None = None,
               facts: Path | None = None, settings: dict | None = None) -> Starlette:
    """The desk over `engine` (an open case store). `secret` signs the session cookie; without
    one a random key is made, so sessions end when the server stops. `facts` is the runs'
    facts file, where the clinician's answers go; `settings` the runs' other files (org,
    payers, templates, rules, registry: the keyword arguments of packet.Settings.load)."""
    desk = Desk(engine, as_of, facts, settings)
    routes = [
        Route("/login", desk.login_form, methods=["GET"]),
        Route("/login", desk.login, methods=["POST"]),
        Route("/logout", desk.logout, methods=["POST"]),
        Route("/", _guarded(desk, desk.worklist)),
        Route("/report", _guarded(desk, desk.report)),
        Route("/access-log", _guarded(desk, desk.access_log)),
        Route("/cases/{case_id:int}", _guarded(desk, desk.case)),
        Route("/cases/{case_id:int}/files/{name}", _guarded(desk, desk.file)),
        Route("/cases/{case_id:int}/checklist", _guarded(desk, desk.checklist),
              methods=["GET", "POST"]),
        Route("/cases/{case_id:int}/{action:str}", _guarded(desk, desk.act), methods=["POST"]),
        Route("/bulk/sent", _guarded(desk, desk.bulk), methods=["POST"]),
        Route("/week", _guarded(desk, desk.week)),
        Route("/week/run", _guarded(desk, desk.week_run), methods=["POST"]),
        Route("/week/checklists", _guarded(desk, desk.week_checklists), methods=["POST"]),
        Route("/api/cases", _guarded(desk, desk.api_cases, api=True)),
        Route("/api/cases/{case_id:int}", _guarded(desk, desk.api_case, api=True)),
    ]
    middleware = [Middleware(SecurityHeaders), Middleware(BodyLimit),
                  Middleware(SessionMiddleware, secret_key=secret or secrets.token_hex(32),
                             session_cookie="appeals_session", max_age=LIFETIME_HOURS * 3600,
                             same_site="strict", https_only=False)]
    app = Starlette(routes=routes, middleware=middleware)
    app.state.desk = desk
    return app


#: `appeals serve --workers N`: each uvicorn worker builds the desk from these (a worker is a
#: fresh process: nothing but the environment reaches it).
DESK_ENV = "APPEALS_DESK"


def app_from_env() -> Starlette:
    """The desk as `appeals serve --workers N` configured it: the store from $APPEALS_DB, the
    cookie key from $APPEALS_SECRET, the rest from $APPEALS_DESK (JSON). Sessions, the sign-in
    throttle and the access log live in the store, so they hold across the workers."""
    import os

    from appeals.store import open_store

    config = json.loads(os.environ.get(DESK_ENV) or "{}")
    as_of = date.fromisoformat(config["as_of"]) if config.get("as_of") else None
    facts = Path(config["facts"]) if config.get("facts") else None
    settings = {k: Path(v) if v else None for k, v in (config.get("settings") or {}).items()}
    return create_app(open_store(), os.environ.get("APPEALS_SECRET"), as_of=as_of, facts=facts,
                      settings=settings)
