"""The case store's tables (SQLAlchemy Core: bulk inserts of a week's lines stay fast).

- `runs`: one `appeals run` that recorded into the store (its as-of day, inputs, finished or not).
- `lines`: every input line a run read, denied or paid (the denial rate needs both), identified by
  the input file's sha256 and the line's place in it, so a re-run or a second run at once records
  nothing twice.
- `cases`: one appeal across weeks and levels: the denied lines of one claim (or episode of care)
  that share a category and one letter argues, with its one `status` (that of its current level)
  and the latest facts a biller works from. Its first line names it (claim id, line, service date,
  code); amounts are the sums of its lines.
- `appeal_lines`: the service lines of each appeal (payer, claim id, line, service date, code),
  each with its latest denial's record and what was recovered on it.
- `filings`: each level filed for an appeal (first internal, second, external review...): when and
  how it was sent, the letter's sha256, and the payer's decision on it.
- `events`: the append-only history of a case: who, when, from, to. Nothing here is updated.

Patient names and member ids are stored (a case must be matched and worked); the SQLite file is
created readable by its owner only, and exports honour --redact.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from appeals.fields import limits

#: The longest values intake accepts (appeals/data/limits.yaml): the columns are sized from them,
#: so a value PostgreSQL would refuse never gets past intake (migrations record today's sizes).
LIMITS = limits()

metadata = MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s", "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s", "pk": "pk_%(table_name)s"})

MONEY = Numeric(14, 2, asdecimal=True)


def _service_line() -> list[Column]:
    """The columns that say which service line a case or a recorded line is (new Column objects
    each time: a column belongs to one table)."""
    return [Column("payer", String(LIMITS["payer_name"]), nullable=False),  # casefolded
            Column("payer_name", String(LIMITS["payer_name"]), nullable=False),
            Column("claim_id", String(LIMITS["claim_id"]), nullable=False),
            Column("line_number", Integer, nullable=False),
            Column("service_date", Date),
            Column("cpt_code", String(20), nullable=False)]

runs = Table(
    "runs", metadata,
    Column("id", Integer, primary_key=True),
    Column("started_at", String(32), nullable=False),  # UTC, ISO 8601
    Column("finished_at", String(32)),
    Column("as_of", Date, nullable=False),
    Column("toolkit_version", String(32), nullable=False),
    Column("inputs", Text, nullable=False),  # JSON: [{"path", "sha256"}]
    Column("lines", Integer, nullable=False, default=0),
    # finished | failed: why (no values) | abandoned: its process is gone; NULL while it runs
    Column("outcome", String(300)),
    Column("pid", Integer),  # the process that runs it, on `host` (a later run closes it
    Column("host", String(255)),  # as abandoned once that process is gone)
)

cases = Table(
    "cases", metadata,
    Column("id", Integer, primary_key=True),
    Column("case_key", String(400), nullable=False, unique=True),
    *_service_line(),
    Column("member_id", String(LIMITS["member_id"]), nullable=False),
    Column("provider", String(LIMITS["provider_name"]), nullable=False),  # NPI, else the name casefolded
    Column("category", String(40), nullable=False),
    Column("action", String(40), nullable=False),
    Column("owner", String(40), nullable=False),
    Column("reason", Text, nullable=False),
    Column("plan", String(60), nullable=False),
    Column("status", String(30), nullable=False),
    Column("closed_reason", String(30)),
    Column("denial_date", Date),
    Column("deadline", Date),
    Column("deadline_rule", Text),
    Column("next_level", String(80)),
    Column("next_deadline", Date),
    Column("decided_on", Date),
    Column("billed", MONEY, nullable=False),
    Column("paid", MONEY, nullable=False),  # on the denial: a later payment recovers the rest
    Column("at_stake", MONEY, nullable=False),
    Column("recovered", MONEY, nullable=False, default=0),
    Column("repeat_count", Integer, nullable=False, default=0),
    Column("linked_case_id", Integer, ForeignKey("cases.id")),
    Column("first_seen", Date, nullable=False),
    Column("last_seen", Date, nullable=False),
    Column("last_fingerprint", String(64), nullable=False),
    Column("levels_upheld", Integer, nullable=False, default=0),
    Column("packet_path", Text),
    Column("packet_hashes", Text),  # JSON {file: sha256}
    Column("packet_version", String(200)),
    Column("checklist_due", Date),
    Column("packet_ready", Boolean),  # the last packet passed the readiness checks
    Column("parity_letter", Boolean),  # its letter argues parity: approved before it is sent
    Column("score", Float),  # the worklist's priority score on the last run that saw it
    Column("urgent", Boolean),  # the last run's worklist called it urgent (expedited review)
    # The patient's name casefolded, for the desk's search (the record's JSON is no place to
    # look over 100,000 cases).
    Column("patient_key", String(LIMITS["patient_name"])),
    Column("record", Text, nullable=False),  # the latest denial's record (JSON), for the law stage
    # sha256 of what the claim grouping rule compares (Appeal.claim_group): a later line of the
    # claim with the same key joins the appeal while it is not yet sent.
    Column("claim_group", String(64)),
    Index(None, "member_id"),  # a chunk's lines look their members' cases up by it
    Index(None, "status"),
    Index(None, "claim_group"),
)

lines = Table(
    "lines", metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", Integer, ForeignKey("runs.id"), nullable=False),
    Column("source_sha", String(64), nullable=False),
    Column("location", String(200), nullable=False),
    # Of a denial, or of a payment that decided a case; empty for the other lines (it is what tells
    # a repeat denial from the same report seen again, and only cases need that).
    Column("fingerprint", String(64), nullable=False),
    Column("case_id", Integer, ForeignKey("cases.id")),
    Column("recorded_on", Date, nullable=False),  # the run's as-of day: weeks are counted by it
    *_service_line(),
    Column("provider_name", String(LIMITS["provider_name"]), nullable=False),
    Column("denied", Boolean, nullable=False),
    Column("category", String(40), nullable=False),
    Column("reason", Text, nullable=False),
    Column("billed", MONEY, nullable=False),
    Column("paid", MONEY, nullable=False),
    Column("at_stake", MONEY, nullable=False),
    Column("denial_date", Date),
    # The same denial report seen again (a re-export of an open denial): not new this week.
    Column("seen_before", Boolean, nullable=False, default=False),
    UniqueConstraint("source_sha", "location"),
    Index(None, "recorded_on"),
    Index(None, "case_id"),
)

appeal_lines = Table(
    "appeal_lines", metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False),
    Column("line_key", String(400), nullable=False, unique=True),  # keys.case_key: one line
    *_service_line(),
    Column("member_id", String(LIMITS["member_id"]), nullable=False),
    Column("provider", String(LIMITS["provider_name"]), nullable=False),
    Column("billed", MONEY, nullable=False),
    Column("paid", MONEY, nullable=False),
    Column("at_stake", MONEY, nullable=False),
    Column("recovered", MONEY, nullable=False, default=0),
    Column("last_fingerprint", String(64), nullable=False),
    Column("record", Text, nullable=False),  # the line's latest denial (JSON)
    Index(None, "case_id"),
    Index(None, "member_id"),
)

filings = Table(
    "filings", metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False),
    Column("level", Integer, nullable=False),  # 1: the first level filed, 2: the next...
    Column("name", String(80), nullable=False),  # the registry's level (internal_appeal...)
    Column("filed_on", Date, nullable=False),
    Column("method", String(20)),
    Column("letter_sha256", String(64)),  # the appeal letter as sent (its PDF)
    Column("decision", String(30)),  # upheld | overturned | partially_overturned
    Column("decided_on", Date),
    Column("amount", MONEY),
    # By when the payer must decide it (appeals.law.decision_due; none without a verified clock)
    Column("decision_due", Date),
    Column("decision_rule", Text),  # the clock in words: period, receipt, citation
    Column("decision_clock", String(60)),  # the registry clock's id (what follows a missed one)
    UniqueConstraint("case_id", "level"),
)

events = Table(
    "events", metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False),
    Column("at", String(32), nullable=False),  # UTC wall clock, ISO 8601
    Column("on_date", Date, nullable=False),  # the day it happened (a decision's date, a run's)
    Column("who", String(100), nullable=False),
    Column("kind", String(30), nullable=False),
    Column("from_status", String(30)),
    Column("to_status", String(30)),
    Column("amount", MONEY),
    Column("method", String(20)),
    Column("note", Text),
    Column("run_id", Integer, ForeignKey("runs.id")),
    # An approval's packet: the digest of its documents (lifecycle.packet_digest), so an
    # approval is for the exact letter and lapses when the packet is built again.
    Column("packet_sha256", String(64)),
    Index(None, "case_id"),
)


users = Table(
    "users", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("role", String(20), nullable=False),  # biller | clinician | compliance | admin
    Column("password_hash", Text, nullable=False),  # argon2id
    Column("created_at", String(32), nullable=False),
    Column("disabled_at", String(32)),  # set: the user may not sign in; their sessions ended
    Column("failed_sign_ins", Integer, nullable=False, default=0),  # in a row
    Column("locked_at", String(32)),  # set after too many failures in a row; an admin clears it
    # A clinician's rendering providers (NPIs, or names as the cases keep them), one per line:
    # the desk shows them only those providers' cases, and only those they may answer and sign.
    Column("providers", Text),
)

#: Tokens for scripts: only the sha256 is kept (the token is shown once), with a scope, an
#: expiry and a revocation; a user's disabling or new password revokes theirs.
api_tokens = Table(
    "api_tokens", metadata,
    Column("id", Integer, primary_key=True),
    Column("user_name", String(100), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("scope", String(10), nullable=False),  # read | write
    Column("created_at", String(32), nullable=False),
    Column("expires_at", String(32), nullable=False),
    Column("revoked_at", String(32)),
    Column("last_used_at", String(32)),
)

#: Desk sessions, kept in the store so that signing out, an idle or absolute limit, or disabling
#: the user ends them for every server worker, whatever the cookie still says.
sessions = Table(
    "sessions", metadata,
    Column("id", Integer, primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),  # sha256 of the cookie's id
    Column("user_name", String(100), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("last_seen", String(32), nullable=False),
    Column("ended_at", String(32)),
    Column("ended_why", String(40)),  # signed_out | idle | lifetime | disabled | password
    Column("address", String(64)),
)

#: Who saw what (HIPAA audit controls, 45 CFR 164.312(b)): every sign-in, case view, file
#: download, API call and export, appended and never changed. No PHI beyond the case id.
access_log = Table(
    "access_log", metadata,
    Column("id", Integer, primary_key=True),
    Column("at", String(32), nullable=False),
    Column("user_name", String(100)),  # the name given, for a refused sign-in
    Column("action", String(30), nullable=False),
    Column("case_id", Integer),
    Column("detail", String(300)),  # the file's name, the API path, why refused
    Column("address", String(64)),
    Column("outcome", String(20), nullable=False),  # ok | refused
    Index("access_log_at", "at"),
    Index("access_log_user", "user_name"),
    Index("access_log_case", "case_id"),
)

#: Each import of a published file of external-review decisions (`appeals precedent import`):
#: which source, which file (its sha256), when, how many rows read and rejected.
precedent_imports = Table(
    "precedent_imports", metadata,
    Column("id", Integer, primary_key=True),
    Column("source", String(40), nullable=False),
    Column("title", String(200), nullable=False),
    Column("file_name", String(300), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("imported_at", String(32), nullable=False),
    Column("imported_on", Date, nullable=False),
    Column("rows", Integer, nullable=False),
    Column("rejected", Integer, nullable=False),
)

#: One decided review of a published file, in the publisher's words (the match rule of
#: precedent.yaml reads them on every run, so editing the rule needs no new import); one row per
#: source and reference id, replaced by a later import of the same source.
precedents = Table(
    "precedents", metadata,
    Column("id", Integer, primary_key=True),
    Column("source", String(40), nullable=False),
    Column("reference_id", String(100), nullable=False),
    Column("year", Integer, nullable=False),
    Column("diagnosis", String(400), nullable=False),
    Column("treatment", String(400), nullable=False),
    Column("review_type", String(20), nullable=False),  # medical_necessity | experimental
    Column("outcome", String(12), nullable=False),  # overturned | partly | upheld
    Column("age_range", String(40)),
    Column("findings", Text),
    Column("import_id", Integer, ForeignKey("precedent_imports.id"), nullable=False),
    UniqueConstraint("source", "reference_id"),
)
