"""Prior-authorization decisions as FHIR: a ClaimResponse (Da Vinci PAS, the API CMS-0057-F has
payers open from 2026-2027), alone or in a Bundle, JSON or NDJSON; one record per denied item.

Each ClaimResponse is validated with fhir.resources (the R4B models: R4's ClaimResponse is the
same resource, and the library is the well-kept FHIR model set for pydantic 2); a response that
fails is one reject naming its elements, and the other responses of the file go on. What an item's
decision is comes from its PAS reviewAction (appeals/data/fhir_pas.yaml says which codes deny);
the patient, payer, requester and the request itself are resolved from the Bundle's entries or
the response's contained resources by reference, never guessed.
"""

from __future__ import annotations

import json
from collections import ChainMap
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from appeals.intake.caps import caps, check_size
from appeals.intake.errors import InputError, reject_from_validation
from appeals.intake.source import detect_encoding
from appeals.models import DenialRecord, Reject
from appeals.overlay import data_model


class _Action(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    meaning: str
    denied: Literal["yes", "partly", "no"]


class _Pas(BaseModel):
    """appeals/data/fhir_pas.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    schema_version: int
    review_action: str
    review_action_code: str
    actions: dict[str, _Action]
    urgent_priorities: list[str]
    npi_system: str
    member_id_types: list[str]


@lru_cache(maxsize=1)
def pas() -> _Pas:
    return data_model(_Pas, "fhir_pas.yaml", ValueError)


def read_fhir(path: Path) -> Iterator[DenialRecord | Reject]:
    """Records and rejects of a FHIR JSON (or NDJSON) file of ClaimResponses."""
    check_size(path)
    source = str(path)
    text = path.read_text(encoding=detect_encoding(path))
    documents = list(_documents(text))
    found = 0
    for number, document in documents:
        where = f"line {number}" if len(documents) > 1 else ""
        kind = document.get("resourceType") if isinstance(document, dict) else None
        if isinstance(document, str):  # an NDJSON line that could not be read
            yield Reject(source=source, location=where, field="record", message=document)
        elif kind == "Bundle":
            found += 1
            yield from _bundle(document, source, where)
        elif kind == "ClaimResponse":
            found += 1
            yield from _response(document, _contained(document), source, where or "ClaimResponse")
        elif len(documents) > 1:  # NDJSON of other resources besides
            yield Reject(source=source, location=where, field="resourceType",
                         message=f"a FHIR {kind or 'document without a resourceType'}, not a "
                                 "ClaimResponse or a Bundle", raw=json.dumps(document)[:300])
    if not found and len(documents) == 1:
        kind = documents[0][1].get("resourceType") if isinstance(documents[0][1], dict) \
            else None
        raise InputError(f"a FHIR {kind or 'document without a resourceType'}, not a "
                         "ClaimResponse or a Bundle of them (prior-authorization decisions)")


def _documents(text: str) -> Iterator[tuple[int, Any]]:
    """The file's JSON documents with their line numbers: one, or one a line (NDJSON), where a
    line that cannot be read is its reason (a str)."""
    try:
        yield 1, _checked(json.loads(text))
        return
    except json.JSONDecodeError as whole:
        lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
        if len(lines) < 2:
            raise InputError(f"not valid JSON: {whole.msg} at line {whole.lineno} column "
                             f"{whole.colno}") from None
    except RecursionError:
        raise InputError(_too_deep()) from None
    for number, line in lines:  # NDJSON: a bad line is that line's reject
        try:
            yield number, _checked(json.loads(line))
        except json.JSONDecodeError as exc:
            yield number, f"not valid JSON: {exc.msg}"
        except RecursionError:
            yield number, _too_deep()
        except InputError as exc:
            yield number, str(exc)


def _too_deep() -> str:
    return (f"nested deeper than the {caps().json_depth} levels a FHIR document may be "
            "(appeals/data/limits.yaml, documents.json_depth)")


def _checked(document: Any) -> Any:
    """The document, if it is no deeper than the cap (walked without recursion)."""
    most, stack = caps().json_depth, [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > most:
            raise InputError(_too_deep())
        children = value.values() if isinstance(value, dict) else value if isinstance(
            value, list) else ()
        stack.extend((child, depth + 1) for child in children
                     if isinstance(child, dict | list))
    return document


def _bundle(bundle: dict, source: str, where: str) -> Iterator[DenialRecord | Reject]:
    entries = bundle.get("entry")
    if not isinstance(entries, list):
        yield Reject(source=source, location=where or "Bundle", field="entry",
                     message="a Bundle without entries", raw=json.dumps(bundle)[:300])
        return
    index: dict[str, dict] = {}
    for entry in entries:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(resource, dict):
            for key in _keys(resource, entry.get("fullUrl")):
                index[key] = resource
    responses = 0
    for i, entry in enumerate(entries, start=1):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(resource, dict) and resource.get("resourceType") == "ClaimResponse":
            responses += 1
            location = f"{where + ' ' if where else ''}Bundle entry {i}"
            # its own contained resources first, then the Bundle's: read, never copied
            yield from _response(resource, ChainMap(_contained(resource), index), source,
                                 location)
    if not responses:
        yield Reject(source=source, location=where or "Bundle", field="entry",
                     message="a Bundle with no ClaimResponse", raw=json.dumps(bundle)[:300])


def _keys(resource: dict, full_url: object = None) -> list[str]:
    kind, rid = resource.get("resourceType"), resource.get("id")
    keys = [f"{kind}/{rid}"] if kind and rid else []
    return [*keys, full_url] if isinstance(full_url, str) else keys


def _contained(resource: dict) -> dict[str, dict]:
    contained = resource.get("contained")
    if not isinstance(contained, list):
        return {}
    return {f"#{item['id']}": item for item in contained
            if isinstance(item, dict) and isinstance(item.get("id"), str)}


def _response(raw: dict, index: Mapping[str, dict], source: str, location: str
              ) -> Iterator[DenialRecord | Reject]:
    """One ClaimResponse: validated, then a record per denied item."""
    from fhir.resources.R4B.claimresponse import ClaimResponse  # 0.2 s: imported when used

    shown = json.dumps(raw)[:500]
    try:
        response = ClaimResponse.model_validate(raw)
    except ValidationError as exc:
        reject = reject_from_validation(exc, source, location, shown)
        yield reject.model_copy(update={
            "message": f"not a valid FHIR ClaimResponse: {reject.message}"})
        return
    if response.outcome == "error" or response.error:
        codes = ", ".join(_code(e.code) or "?" for e in response.error or []) or "none given"
        yield Reject(source=source, location=location, field="error", level="warning",
                     message=f"the payer could not process the request (errors: {codes}): "
                             "correct it and send it again; not a denial", raw=shown)
        return
    facts = _facts(response, index)
    decisions = [(item.itemSequence, _decision(item.extension, item.adjudication))
                 for item in response.item or []]
    if not decisions:  # a decision on the whole request
        decisions = [(1, _decision(None, response.adjudication))]
    for sequence, (action, number, reason) in decisions:
        meaning = pas().actions.get(action or "")
        if action is not None and meaning is None:
            yield Reject(source=source, location=f"{location} item {sequence}",
                         field="reviewAction", raw=shown,
                         message=f"review action {action!r} is none of "
                                 f"{', '.join(pas().actions)} (appeals/data/fhir_pas.yaml)")
            continue
        if meaning is None and reason is None or meaning is not None and meaning.denied == "no":
            continue  # certified, pended, or no decision: nothing to appeal
        said = [f"{meaning.meaning} ({action})" if meaning else "Adjudicated with a reason",
                reason, response.disposition]
        data = {**facts, "line_number": sequence,
                "denial_reason": ". ".join(s.strip().rstrip(".") for s in said if s) + ".",
                "auth_number": number or response.preAuthRef or facts.get("auth_number"),
                **_requested(index.get(_ref(response.request)), sequence)}
        data["extra"] = {**facts["extra"], **data.pop("extra", {})}
        if meaning is not None and meaning.denied == "partly":
            data["extra"]["decision"] = "certified in part"
        try:
            yield DenialRecord.model_validate(
                {**data, "source": source, "location": f"{location} item {sequence}"})
        except ValidationError as exc:
            yield reject_from_validation(exc, source, f"{location} item {sequence}", shown)


def _decision(extensions: list | None, adjudications: list | None
              ) -> tuple[str | None, str | None, str | None]:
    """(action code, review number, reason) of an item: its PAS reviewAction, on the item or
    on an adjudication; else the reason of an adjudication (core R4)."""
    found = [e for e in extensions or [] if e.url == pas().review_action]
    for adjudication in adjudications or []:
        found += [e for e in adjudication.extension or [] if e.url == pas().review_action]
    if found:
        action = number = reason = None
        for part in found[0].extension or []:
            if part.url in ("code", pas().review_action_code):
                action = _code(part.valueCodeableConcept)
            elif part.url == "number":
                number = part.valueString
            elif part.url == "reasonCode":
                reason = _said(part.valueCodeableConcept)
        return action, number, reason
    reasons = [_said(a.reason) for a in adjudications or [] if a.reason is not None]
    return None, None, next((r for r in reasons if r), None)


def _code(concept: Any) -> str | None:
    codings = getattr(concept, "coding", None) or []
    return next((c.code for c in codings if c.code), None)


def _said(concept: Any) -> str | None:
    """A coded reason in words: its text, else its display, else the code by its system."""
    if concept is None:
        return None
    if concept.text:
        return concept.text
    for coding in concept.coding or []:
        if coding.display:
            return f"{coding.display} ({coding.code})" if coding.code else coding.display
    code = _code(concept)
    return f"reason code {code}" if code else None


def _ref(reference: Any) -> str | None:
    return getattr(reference, "reference", None)


def _facts(response: Any, index: Mapping[str, dict]) -> dict:
    """What every record of this response shares: who, which payer, which request, when."""
    patient = index.get(_ref(response.patient)) or {}
    insurer = index.get(_ref(response.insurer)) or {}
    requestor = index.get(_ref(response.requestor)) or {}
    coverage = next((index.get(_ref(i.coverage)) for i in response.insurance or []
                     if index.get(_ref(i.coverage))), {})
    request = index.get(_ref(response.request)) or {}
    created = response.created
    extra = {"review_type": "pre_service"}
    if response.identifier:
        extra["payer_claim_id"] = response.identifier[0].value or ""
    priority = _code_of(request.get("priority"))
    if priority in pas().urgent_priorities:
        extra["urgent"] = "yes"
    claim_id = (_identifier(request) or _identifier_of(response.request)
                or (response.identifier[0].value if response.identifier else None)
                or response.id)
    return {
        "claim_id": claim_id,
        "payer_name": insurer.get("name") or getattr(response.insurer, "display", None),
        "patient_name": _name(patient) or getattr(response.patient, "display", None),
        "patient_dob": patient.get("birthDate"),
        "member_id": coverage.get("subscriberId") or _member_id(patient),
        "provider_name": _name(requestor) or getattr(response.requestor, "display", None),
        "provider_npi": _npi(requestor),
        "denial_date": created.date() if isinstance(created, datetime) else created
        if isinstance(created, date) else None,
        "extra": {k: v for k, v in extra.items() if v},
    }


def _requested(claim: dict | None, sequence: int) -> dict:
    """The requested item of the PAS Claim (when the Bundle carries it): service, its date,
    the diagnoses and the level of urgency."""
    if not claim:
        return {}
    items = claim.get("item") if isinstance(claim.get("item"), list) else []
    item = next((i for i in items if isinstance(i, dict) and i.get("sequence") == sequence), {})
    period = item.get("servicedPeriod") if isinstance(item.get("servicedPeriod"), dict) else {}
    diagnoses = [_code_of(d.get("diagnosisCodeableConcept")) for d in claim.get("diagnosis") or []
                 if isinstance(d, dict)]
    out = {"cpt_code": _code_of(item.get("productOrService")),
           "service_date": item.get("servicedDate") or period.get("start"),
           "units": (item.get("quantity") or {}).get("value")
           if isinstance(item.get("quantity"), dict) else None,
           "diagnosis_codes": ";".join(d for d in diagnoses if d)}
    return {k: v for k, v in out.items() if v}


def _code_of(concept: object) -> str | None:
    if not isinstance(concept, dict):
        return None
    codings = concept.get("coding") if isinstance(concept.get("coding"), list) else []
    return next((c["code"] for c in codings if isinstance(c, dict)
                 and isinstance(c.get("code"), str)), None)


def _identifier(resource: dict) -> str | None:
    ids = resource.get("identifier") if isinstance(resource.get("identifier"), list) else []
    return next((i["value"] for i in ids if isinstance(i, dict)
                 and isinstance(i.get("value"), str)), None)


def _identifier_of(reference: Any) -> str | None:
    identifier = getattr(reference, "identifier", None)
    return getattr(identifier, "value", None)


def _name(resource: dict) -> str | None:
    if isinstance(resource.get("name"), str):  # an Organization
        return resource["name"]
    names = resource.get("name") if isinstance(resource.get("name"), list) else []
    for name in names:
        if not isinstance(name, dict):
            continue
        if isinstance(name.get("text"), str):
            return name["text"]
        given = [g for g in name.get("given") or [] if isinstance(g, str)]
        family = name.get("family") if isinstance(name.get("family"), str) else ""
        if given or family:
            return " ".join([*given, family]).strip()
    return None


def _member_id(patient: dict) -> str | None:
    for identifier in patient.get("identifier") or []:
        if isinstance(identifier, dict) and _code_of(identifier.get("type")) in \
                pas().member_id_types and isinstance(identifier.get("value"), str):
            return identifier["value"]
    return None


def _npi(resource: dict) -> str | None:
    for identifier in resource.get("identifier") or []:
        if isinstance(identifier, dict) and identifier.get("system") == pas().npi_system:
            return identifier.get("value")
    return None
