"""The edits themselves: each claim line in, its findings out, with what the payer would have
said. Most edits read the line alone; the add-on, daily-units, duplicate and authorization-units
edits read the batch, through small per-patient-day and per-authorization tallies (memory grows
with patient-days, never with a list of lines)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from appeals.compose.settings import Payer, payer_for
from appeals.models import DenialRecord
from appeals.scrub.files import Auths, Roster
from appeals.scrub.rules import PayerScrub, ScrubRules, payer_scrub


@dataclass(frozen=True)
class Finding:
    claim_id: str
    line_number: int
    rule: str
    severity: str
    message: str
    fix: str
    prevents: str
    payer_says: str  # the CARC (and RARC) the payer would have sent
    payer_name: str
    provider: str
    service_date: str
    cpt_code: str
    source: str
    location: str

    def row(self) -> dict[str, str | int]:
        return {k: getattr(self, k) for k in FINDING_COLUMNS}


FINDING_COLUMNS = ("claim_id", "line_number", "severity", "rule", "message", "fix", "prevents",
                   "payer_says", "payer_name", "provider", "service_date", "cpt_code", "source",
                   "location")


def _patient(record: DenialRecord) -> str:
    return record.member_id or f"{(record.patient_name or '').casefold()}|{record.patient_dob}"


class Scrubber:
    """Findings for claim lines, one at a time (`check`), then the batch's (`finish`)."""

    def __init__(self, rules: ScrubRules, payers: dict[str, Payer] | None = None,
                 roster: Roster | None = None, auths: Auths | None = None,
                 as_of: date | None = None) -> None:
        self.rules = rules
        self.payers = payers or {}
        self.roster = roster
        self.auths = auths
        self.as_of = as_of or date.today()
        # Per patient-day (a hash of patient and date, to keep memory small): the codes billed,
        # "|"-joined; units per patient-day-code; the add-on lines waiting for their primary.
        self._codes: dict[int, str] = {}
        self._units: dict[int, float] = {}
        self._add_ons: list[tuple[int, DenialRecord]] = []
        self._seen: set[int] = set()
        self._auth_used: dict[str, Decimal] = {}
        self._payer_cache: dict[str, PayerScrub] = {}
        self._numbers = auths.numbers() if auths else set()

    # --- the payer's settings ----------------------------------------------------------------

    def _payer(self, record: DenialRecord) -> PayerScrub:
        key = record.payer_name or ""
        found = self._payer_cache.get(key)
        if found is None:
            entry = payer_for(record, self.payers)
            found = payer_scrub(entry.scrub if entry else {},
                                f"payer directory: {entry.name}" if entry else "payer")
            self._payer_cache[key] = found
        return found

    # --- one line ----------------------------------------------------------------------------

    def check(self, record: DenialRecord) -> list[Finding]:
        payer = self._payer(record)
        out: list[Finding] = []

        def say(rule: str, message: str) -> None:
            if self._on(record, rule):
                out.append(self._finding(record, rule, message))

        code = (record.cpt_code or "").upper()
        self._telehealth(record, payer, say)
        for needed in payer.required_modifiers.get(code, []):
            if needed not in record.modifiers:
                say("required_modifier_missing", f"{record.payer_name} requires modifier "
                                                 f"{needed} on {code}")
        self._diagnosis(record, say)
        self._authorization(record, payer, code, say)
        self._enrolment(record, say)
        self._filing(record, payer, say)
        self._batch(record, payer, code, say)
        return out

    def _telehealth(self, record: DenialRecord, payer: PayerScrub, say) -> None:
        tele = self.rules.telehealth
        marked = set(record.modifiers) & set(tele.modifiers)
        place = record.place_of_service or ""
        if place in tele.places_of_service:
            accepted = payer.telehealth_modifiers if payer.telehealth_modifiers is not None \
                else tele.required
            if accepted and not set(record.modifiers) & set(accepted):
                say("telehealth_modifier_missing",
                    f"place of service {place} (telehealth) without a telehealth modifier "
                    f"({' or '.join(accepted)})")
        elif marked and place:
            say("telehealth_modifier_without_telehealth_place",
                f"modifier {', '.join(sorted(marked))} (telehealth) with place of service "
                f"{place}")

    def _diagnosis(self, record: DenialRecord, say) -> None:
        sent = [c for c in record.extra.get("diagnosis_codes_sent", "").split(";") if c]
        codes = sent or record.diagnosis_codes
        if not codes:
            say("diagnosis_missing", "no diagnosis code on the line")
            return
        import simple_icd_10_cm as icd  # here: loading its table takes over a second, and
        # the watch and the case commands import this package without checking a diagnosis

        for raw in codes:
            compact = raw.replace(".", "").upper()
            if not icd.is_valid_item(compact):
                say("diagnosis_invalid", f"{raw}: not an ICD-10-CM code")
            elif not icd.is_leaf(compact):
                say("diagnosis_not_billable", f"{raw}: a category of ICD-10-CM, not a billable "
                                              "code")

    def _authorization(self, record: DenialRecord, payer: PayerScrub, code: str, say) -> None:
        if record.auth_number and self._numbers and record.auth_number not in self._numbers:
            say("authorization_number_unknown", f"authorization {record.auth_number} is not in "
                                                "the authorizations file")
        required = payer.authorization_required if payer.authorization_required is not None \
            else self.rules.authorization_required
        if self.auths is None or code not in required or record.service_date is None:
            return
        mine = self.auths.for_line(record.member_id, record.payer_name, code)
        covering = [a for a in mine if a.covers(record.service_date)]
        if not mine:
            say("authorization_missing", f"{record.payer_name} authorizes {code}; no "
                                         "authorization on file for this member and code")
        elif not covering:
            spans = "; ".join(f"{a.auth_number} {a.start.isoformat()} to {a.end.isoformat()}"
                              for a in mine)
            say("authorization_dates", f"{record.service_date.isoformat()} is outside the "
                                       f"authorizations on file ({spans})")
        else:
            auth = covering[0]
            if auth.left is None:
                return
            used = self._auth_used.get(auth.auth_number, Decimal(0)) + (record.units or 1)
            self._auth_used[auth.auth_number] = used
            if used > auth.left:
                say("authorization_units", f"authorization {auth.auth_number}: {auth.left} units "
                                           f"left, this batch bills {used}")

    def _enrolment(self, record: DenialRecord, say) -> None:
        if self.roster is None or record.service_date is None:
            return
        day = record.service_date
        spans = self.roster.spans(record.provider_npi, record.provider_name, record.payer_name)
        who = record.provider_name or record.provider_npi or "the rendering clinician"
        if not any(s.covers(day) for s in spans):
            when = "; ".join(f"{s.effective_from or '...'} to {s.effective_to or '...'}"
                             for s in spans) or "no enrolment on the roster"
            say("provider_not_enrolled", f"{who} with {record.payer_name} on {day.isoformat()}: "
                                         f"{when}")
        expired = [s for s in spans if s.license_expires and s.license_expires < day]
        if spans and len(expired) == len(spans):
            say("license_expired", f"{who}: {expired[0].license_type or 'license'} expired "
                                   f"{expired[0].license_expires.isoformat()}")

    def _filing(self, record: DenialRecord, payer: PayerScrub, say) -> None:
        if record.service_date is None:
            return
        limit = payer.filing_limit_days or self.rules.filing_limit_days
        last = record.service_date + timedelta(days=limit)
        left = (last - self.as_of).days
        if left < 0:
            say("timely_filing", f"{limit}-day filing limit passed on {last.isoformat()}")
        elif left <= self.rules.filing_warning_days:
            say("timely_filing_soon", f"{left} days left to file (the {limit}-day limit ends "
                                      f"{last.isoformat()})")

    def _batch(self, record: DenialRecord, payer: PayerScrub, code: str, say) -> None:
        fingerprint = hash((_patient(record), record.service_date, code,
                            tuple(sorted(record.modifiers)), record.units, record.provider_npi))
        if fingerprint in self._seen:  # the copy is the finding: its units are not counted
            say("duplicate_line", f"{code} on {record.service_date} for this patient is already "
                                  "in the batch")
            return
        self._seen.add(fingerprint)
        day = hash((_patient(record), record.service_date))
        self._codes[day] = f"{self._codes.get(day, '')}|{code}"
        if code in self.rules.add_ons:
            self._add_ons.append((day, record))
        maximum = payer.daily_max_units.get(code, self.rules.daily_max_units.get(code))
        if maximum is not None:
            key = hash((day, code))
            before = self._units.get(key, 0.0)
            self._units[key] = total = before + float(record.units or 1)
            if before <= maximum < total:
                say("units_over_daily_max", f"{total:g} units of {code} on "
                                            f"{record.service_date} for this patient; the daily "
                                            f"maximum is {maximum:g}")

    def finish(self) -> Iterator[Finding]:
        """The batch's findings that needed every line: add-ons whose primary never came."""
        for day, record in self._add_ons:
            primaries = self.rules.add_ons[(record.cpt_code or "").upper()]
            billed = set(self._codes[day].split("|"))
            if billed.isdisjoint(primaries) and self._on(record, "add_on_without_primary"):
                yield self._finding(record, "add_on_without_primary",
                                    f"add-on {record.cpt_code} without a primary service "
                                    f"({', '.join(primaries[:4])}...) the same day")
        self._codes.clear()
        self._units.clear()
        self._add_ons.clear()

    def _on(self, record: DenialRecord, rule_id: str) -> bool:
        """The rule runs: on in the rules and not turned off for this line's payer."""
        return self.rules.rule(rule_id).enabled and rule_id not in self._payer(record).off

    def _finding(self, record: DenialRecord, rule_id: str, message: str) -> Finding:
        rule = self.rules.rule(rule_id)
        return Finding(
            claim_id=record.claim_id, line_number=record.line_number, rule=rule_id,
            severity=rule.severity, message=message, fix=rule.fix, prevents=rule.prevents.value,
            payer_says=f"{rule.carc}{' / ' + rule.rarc if rule.rarc else ''}",
            payer_name=record.payer_name or "",
            provider=" ".join(filter(None, (record.provider_name, record.provider_npi))),
            service_date=record.service_date.isoformat() if record.service_date else "",
            cpt_code=record.cpt_code or "", source=record.source or "",
            location=record.location or "")
