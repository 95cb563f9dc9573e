"""How a line is known across weeks: the case key, the reprocessing match and the fingerprint."""

from __future__ import annotations

import hashlib
from datetime import date

from appeals.models import DenialRecord, name_key, payer_key

__all__ = ["adjudication", "case_key", "payer_key", "provider_key", "service_key", "service_of"]


def provider_key(record: DenialRecord) -> str:
    return record.provider_npi or name_key(record.provider_name)


def case_key(record: DenialRecord) -> str:
    """Payer, claim id, line, service date and procedure code: one denied service line."""
    day = record.service_date.isoformat() if record.service_date else ""
    return "|".join((payer_key(record.payer_name), record.claim_id, str(record.line_number), day,
                     record.cpt_code or ""))


def service_key(record: DenialRecord) -> tuple:
    """The same service under another claim number (reprocessed, corrected): member, date of
    service, procedure code and provider at the same payer."""
    return service_of(payer_key(record.payer_name), record.member_id, record.service_date,
                      record.cpt_code, provider_key(record))


def service_of(payer: str, member: str | None, day: date | None, code: str | None,
               provider: str) -> tuple:
    """The service key from its parts (a record's, or a stored case's columns). Without a
    member id there is no match: a guess would join two patients' cases."""
    if not member or not day or not code:
        return ()
    return (payer, member, day, code, provider)


def adjudication(record: DenialRecord) -> tuple[str, str]:
    """(fingerprint, JSON) of the adjudication as the payer reported it, wherever it was read:
    the same report seen in a second file is not a repeat denial. The JSON is what a case keeps
    of its latest denial."""
    data = record.model_dump_json(exclude={"source", "location", "warnings"})
    return hashlib.sha256(data.encode()).hexdigest(), data
