"""The records that flow between stages.

`DenialRecord` is the one shape every reader produces: one adjudicated service line (or one
claim, where a remittance claim has no lines). Field names are the canonical CSV header.
Validation is lenient on layout (several date formats, `;`/`,`/space-separated lists,
`$1,234.50`) and strict on meaning: a value that cannot be read is an error naming the field.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

# The record's field names, limits and name keys live in appeals/fields.py (the store reads them
# without loading this module); they are this module's too.
from appeals.fields import (  # noqa: F401
    CANONICAL_FIELDS,
    RECORD_FIELDS,
    limits,
    limits_file,
    name_key,
    payer_key,
)

CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class PlanType(StrEnum):
    employer_group = "employer_group"
    government_group = "government_group"
    church_group = "church_group"
    individual = "individual"
    medicaid_mco = "medicaid_mco"
    medicaid_ffs = "medicaid_ffs"
    medicaid_abp = "medicaid_abp"
    chip = "chip"
    medicare = "medicare"
    medicare_advantage = "medicare_advantage"
    medicare_part_d = "medicare_part_d"
    tricare = "tricare"
    fehb = "fehb"
    va = "va"
    stldi = "stldi"
    unknown = "unknown"


class PlanFunding(StrEnum):
    fully_insured = "fully_insured"
    self_funded = "self_funded"


class LevelOfCare(StrEnum):
    outpatient = "outpatient"
    iop = "iop"
    php = "php"
    residential = "residential"
    inpatient = "inpatient"
    mat = "mat"


# Spellings practice systems use for the same plan type; the canonical value is on the right.
# A bare "medicaid" is deliberately absent: managed care and fee-for-service have different
# parity law and deadlines, so the row is rejected and the biller says which.
PLAN_TYPE_ALIASES = {
    "": "unknown",
    "commercial_group": "employer_group",
    "group": "employer_group",
    "erisa": "employer_group",
    "governmental": "government_group",
    "church": "church_group",
    "marketplace": "individual",
    "exchange": "individual",
    "medicare_ffs": "medicare",
    "original_medicare": "medicare",
    "medicare_part_c": "medicare_advantage",
    "champus": "tricare",
    "part_d": "medicare_part_d",
    "short_term": "stldi",
    "employer": "employer_group",
    "employer_sponsored": "employer_group",
    "group_health_plan": "employer_group",
    "non_federal_governmental": "government_group",
    "individual_market": "individual",
    "aca_marketplace": "individual",
    "medicaid_managed_care": "medicaid_mco",
    "managed_medicaid": "medicaid_mco",
    "medicaid_fee_for_service": "medicaid_ffs",
    "alternative_benefit_plan": "medicaid_abp",
    "traditional_medicare": "medicare",
    "medicare_part_a": "medicare",
    "medicare_part_b": "medicare",
    "part_c": "medicare_advantage",
    "federal_employee": "fehb",
    "federal_employees_health_benefits": "fehb",
    "veterans_affairs": "va",
    "short_term_limited_duration": "stldi",
}
# Level-funded plans are self-funded under ERISA (the employer carries the risk, with stop-loss).
PLAN_FUNDING_ALIASES = {
    "insured": "fully_insured",
    "self_insured": "self_funded",
    "aso": "self_funded",
    "administrative_services_only": "self_funded",
    "level_funded": "self_funded",
}
LEVEL_OF_CARE_ALIASES = {
    "op": "outpatient",
    "outpatient_therapy": "outpatient",
    "intensive_outpatient": "iop",
    "intensive_outpatient_program": "iop",
    "partial_hospitalization": "php",
    "partial_hospital": "php",
    "partial_hospitalization_program": "php",
    "residential_treatment": "residential",
    "residential_treatment_center": "residential",
    "rtc": "residential",
    "inpatient_psychiatric": "inpatient",
    "acute_inpatient": "inpatient",
    "otp": "mat",
    "opioid_treatment_program": "mat",
    "medication_assisted_treatment": "mat",
    "moud": "mat",
    "obot": "mat",
}

# Fields that identify a person; reports can leave them out (--redact) and logs never print them.
PHI_FIELDS = ("member_id", "patient_name", "patient_dob")

_LIST_SPLIT = re.compile(r"[;,\s]+")
_NOT_KEY = re.compile(r"[^a-z0-9]+")
_DATE_FORMATS = (
    (re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$"), (1, 2, 3)),
    (re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$"), (3, 1, 2)),
    (re.compile(r"^(\d{4})(\d{2})(\d{2})$"), (1, 2, 3)),
)
_CPT = re.compile(r"^(\d{5}|\d{4}[A-Z]|[A-Z]\d{4}|\d{4})$")  # CPT, Cat II/III, HCPCS, revenue
_ICD10 = re.compile(r"^[A-Z]\d[0-9A-Z](\.?[0-9A-Z]{1,4})?$")
_MODIFIER = re.compile(r"^[0-9A-Z]{2}$")
_ADJUSTMENT = re.compile(r"^(CO|PR|OA|PI|CR)-([0-9A-Z]{1,3})$")
_REMARK = re.compile(r"^[A-Z]{1,2}\d{1,4}$")
_POS = re.compile(r"^\d{2}$")
_STATE = re.compile(r"^[A-Z]{2}$")


def clean_text(value: str) -> str:
    """Drop control characters (they break DOCX XML) and surrounding blanks."""
    if value.isprintable():
        return value.strip()
    return CONTROL_CHARS.sub("", value).strip()


def validation_problem(exc: ValidationError, every: bool = False) -> str:
    """"field 'a.b': message" for the first error of `exc` (every error, '; '-joined, with
    `every`): the one way the data and settings files say what is wrong and where."""
    errors = exc.errors() if every else exc.errors()[:1]
    return "; ".join(
        f"field '{'.'.join(str(p) for p in e['loc']) or '(entry)'}': "
        f"{str(e['msg']).removeprefix('Value error, ')}" for e in errors)


def parse_date(value: Any) -> date | None:
    """ISO, MM/DD/YYYY or YYYYMMDD; blank is None."""
    if type(value) is str:  # nearly every call: text from a file
        return _parse_date_text(value)
    if value is None or isinstance(value, date):
        return value
    return _parse_date_text(str(value))


@lru_cache(maxsize=4096)  # remittances repeat the same few dates thousands of times
def _parse_date_text(value: str) -> date | None:
    text = value.strip()
    if not text:
        return None
    for pattern, (y, m, d) in _DATE_FORMATS:
        match = pattern.match(text)
        if match:
            try:
                return date(int(match[y]), int(match[m]), int(match[d]))
            except ValueError as exc:
                raise ValueError(f"not a calendar date: {text!r}") from exc
    raise ValueError(f"not a date (use YYYY-MM-DD, MM/DD/YYYY or YYYYMMDD): {text!r}")


def parse_money(value: Any) -> Decimal | None:
    """Decimal amounts; `$` and thousands separators are allowed, floats are not produced."""
    if type(value) is str:
        return _parse_money_text(value)
    if value is None or isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        value = repr(value)
    return _parse_money_text(str(value))


# An amount as exports write it: optional sign and `$`, digits with thousands commas in threes, an
# optional decimal point. `150,00` (a decimal comma) and `1E+308` (exponent) do not match: which
# amount they mean is not certain, so the row is rejected rather than read as $15,000.
_AMOUNT = re.compile(r"^(-)?\$?(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?$|^(-)?\$?\.\d+$")
#: The largest amount read (a behavioral-health claim line is far below it).
MAX_AMOUNT = Decimal(10000000)


@lru_cache(maxsize=4096)  # charges and payments repeat across a remittance's lines
def _parse_money_text(value: str) -> Decimal | None:
    text = value.strip()
    if not text:
        return None
    if text.startswith("(") and text.endswith(")"):  # accounting negative
        text = "-" + text[1:-1].strip()
    if not _AMOUNT.match(text):
        hint = " (a decimal comma? write 150.00)" if re.fullmatch(r"-?\$?\d+,\d{1,2}", text) \
            else ""
        raise ValueError(f"not an amount: {value!r}{hint}")
    try:
        amount = Decimal(text.replace("$", "").replace(",", ""))
    except InvalidOperation as exc:
        raise ValueError(f"not an amount: {value!r}") from exc
    if abs(amount) > MAX_AMOUNT:
        raise ValueError(f"not a plausible amount: {value!r} (more than {MAX_AMOUNT:,})")
    return amount


def split_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        items = [str(v) for v in value]
    else:
        items = _LIST_SPLIT.split(str(value))
    return [clean_text(i).upper() for i in items if i and i.strip()]


def _codes(pattern: re.Pattern[str], what: str, normalize=None, prepare=None):
    @lru_cache(maxsize=4096)
    def check_text(text: str) -> tuple[str, ...]:
        return tuple(check_items(split_list(prepare(text) if prepare else text)))

    def check(value: Any) -> list[str]:
        if isinstance(value, str):
            return list(check_text(value))
        if isinstance(value, (list, tuple)):
            try:
                return list(check_text(";".join(value)))
            except TypeError:  # not all text: each item is read on its own below
                pass
        return check_items(split_list(value))

    def check_items(items: list[str]) -> list[str]:
        out = []
        for item in items:
            item = normalize(item) if normalize else item
            if not pattern.match(item):
                raise ValueError(f"not a {what}: {item!r}")
            out.append(item)
        return out

    return check


def _normalize_icd(code: str) -> str:
    code = code.replace(".", "")
    return code if len(code) <= 3 else f"{code[:3]}.{code[3:]}"


_GROUP_THEN_SPACE = re.compile(r"\b(CO|PR|OA|PI|CR)\s+(?=[0-9A-Z]{1,3}\b)", re.IGNORECASE)


def _join_spaced_groups(text: str) -> str:
    """"CO 50" is one code, not two items of a space-separated list."""
    return _GROUP_THEN_SPACE.sub(r"\1-", text)


def _normalize_adjustment(code: str) -> str:
    # Accept "CO50", "CO-50", "CO:50" and "CO-050" (the CARC table has no leading zeros).
    code = code.replace(":", "-").replace("_", "-")
    if "-" not in code and code[:2] in {"CO", "PR", "OA", "PI", "CR"}:
        code = f"{code[:2]}-{code[2:]}"
    group, dash, reason = code.partition("-")
    if dash and reason.isdigit():
        code = f"{group}-{int(reason)}"
    return code


def _enum_or_blank(enum: type[StrEnum], aliases: dict[str, str] | None = None,
                   hints: dict[str, str] | None = None):
    def check(value: Any):
        if value is None or isinstance(value, enum):
            return value
        key = _NOT_KEY.sub("_", str(value).lower()).strip("_")  # "Intensive Outpatient" too
        if aliases:
            key = aliases.get(key, key)
        if not key:
            return None
        try:
            return enum(key)
        except ValueError as exc:
            if hints and key in hints:
                raise ValueError(f"{value!r} is ambiguous: {hints[key]}") from exc
            allowed = ", ".join(m.value for m in enum)
            raise ValueError(f"{value!r} is not one of: {allowed}") from exc

    return check


def _pattern_or_blank(pattern: re.Pattern[str], what: str):
    @lru_cache(maxsize=4096)  # a practice bills a few hundred distinct codes
    def check_text(value: str) -> str | None:
        text = clean_text(value).upper()
        if not text:
            return None
        if not pattern.match(text):
            raise ValueError(f"not a {what}: {text!r}")
        return text

    def check(value: Any) -> str | None:
        return None if value is None else check_text(str(value))

    return check


def _text_or_blank(value: Any) -> str | None:
    if type(value) is str and value.isprintable():  # the usual case, without clean_text's call
        return value.strip() or None
    if value is None:
        return None
    text = clean_text(str(value))
    return text or None


def _int_or_blank(value: Any) -> int | None:
    if value is None or isinstance(value, int):
        return value
    text = str(value).strip().replace(",", "")
    if not text:
        return None
    try:
        return int(Decimal(text))
    except InvalidOperation as exc:
        raise ValueError(f"not a whole number: {value!r}") from exc


_plan_type_or_blank = _enum_or_blank(PlanType, PLAN_TYPE_ALIASES, {
    "medicaid": "say medicaid_mco (managed care) or medicaid_ffs (fee-for-service); "
                "their parity law and appeal deadlines differ",
    "commercial": "say employer_group or individual; their parity law and appeal rules differ",
    "government": "say medicare, medicaid_mco, medicaid_ffs, tricare, va, fehb or "
                  "government_group (a state or local government employer's plan)",
})
plan_funding_value = _enum_or_blank(PlanFunding, PLAN_FUNDING_ALIASES)
level_of_care_value = _enum_or_blank(LevelOfCare, LEVEL_OF_CARE_ALIASES)


def plan_type_value(value: Any) -> PlanType:
    return _plan_type_or_blank(value) or PlanType.unknown


Text = Annotated[str | None, BeforeValidator(_text_or_blank)]
Day = Annotated[date | None, BeforeValidator(parse_date)]
Money = Annotated[Decimal | None, BeforeValidator(parse_money)]
Count = Annotated[int | None, BeforeValidator(_int_or_blank)]


@lru_cache(maxsize=4096)  # a practice has a few NPIs, on every line
def npi_check_digit_ok(npi: str) -> bool:
    """Luhn check over the NPI with the 80840 card-issuer prefix (CMS NPI standard)."""
    if not re.fullmatch(r"\d{10}", npi):
        return False
    digits = [int(d) for d in "80840" + npi[:-1]]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 0:
            d *= 2
            d = d - 9 if d > 9 else d
        total += d
    return (10 - total % 10) % 10 == int(npi[-1])


REVIEW_TYPES = ("pre_service", "concurrent", "post_service")
# What the payer's own words say about when the review happened. A concurrent review is of a stay
# or program under way; a pre-service one of care not yet given. Both can be dated before the
# service, and both may be urgent.
_REVIEW_WORDS = (
    ("concurrent", re.compile(
        r"concurrent(ly)? review|continued (inpatient |residential |partial hospitali[sz]ation |"
        r"program )?stay|continu(ed|ing) (treatment|care|services) (is|are|was|were) not|"
        r"length of stay|extension of (the )?stay|additional (inpatient |residential )?days"
        r"|recertification", re.IGNORECASE)),
    ("pre_service", re.compile(
        r"pre-?service|prior to admission|pre-?admission|request(ed)? (for )?admission|"
        r"planned admission|before (the )?service (is|was) (given|provided|rendered)", re.IGNORECASE)),
)


def review_words(reason: str | None) -> str | None:
    """What the payer's words say of the review (concurrent, pre_service), if anything."""
    return next((kind for kind, words in _REVIEW_WORDS if reason and words.search(reason)), None)


def _extra_column(extra: dict[str, str], name: str = "review_type") -> tuple[str, str]:
    """An export's extra cell (`review_type`, `network_status`) as written and canonical."""
    raw = str(extra.get(name, "")).strip()
    return raw, raw.lower().replace("-", "_").replace(" ", "_")


# Spellings of the `network_status` column: whether the practice is under contract with the payer.
NETWORK_ALIASES = {"contracted": "contracted", "in_network": "contracted", "par": "contracted",
                   "participating": "contracted", "non_contracted": "non_contracted",
                   "out_of_network": "non_contracted", "non_par": "non_contracted",
                   "non_participating": "non_contracted", "": ""}


def review_type_of(extra: dict[str, str], reason: str | None, service_date: date | None = None,
                   denial_date: date | None = None) -> str | None:
    """pre_service, concurrent or post_service: the export's `review_type` column, else what the
    payer's words say unless the dates show care already given before the denial (a claim for
    past days of a stay is paid or not; the letter must not say care is under way), else None
    (the dates decide)."""
    given = _extra_column(extra)[1]
    if given in REVIEW_TYPES:
        return given
    if service_date and denial_date and service_date < denial_date:
        return None
    return review_words(reason)


PlanTypeField = Annotated[PlanType, BeforeValidator(plan_type_value)]
PlanFundingField = Annotated[PlanFunding | None, BeforeValidator(plan_funding_value)]
StateField = Annotated[str | None, BeforeValidator(_pattern_or_blank(_STATE, "US state code"))]
#: The record fields that say which plan this is; a payer directory may supply them.
PLAN_FIELDS = ("plan_type", "plan_funding", "employer_size", "plan_state")


class PlanDetails(BaseModel):
    """Plan facts known outside the record (a payer directory entry), same spellings as a row."""

    model_config = ConfigDict(extra="forbid")
    plan_type: PlanTypeField = PlanType.unknown
    plan_funding: PlanFundingField = None
    employer_size: Count = None
    plan_state: StateField = None
    #: Who administers the plan (an employer plan's sponsor, with its address): the documentation
    #: request is copied to it. Not a plan fact of the law stage.
    plan_administrator: str | None = None


#: Dates a denial's service, decision and authorization can fall on; outside it a date is a typo
#: (1899, 2099) and the row is rejected with the window stated.
DATE_WINDOW = (date(1990, 1, 1), date(2050, 12, 31))
DOB_EARLIEST = date(1900, 1, 1)


class DenialRecord(BaseModel):
    """One adjudicated service line with the facts an appeal needs."""

    model_config = ConfigDict(extra="forbid", frozen=False, validate_assignment=False)

    claim_id: Annotated[str, BeforeValidator(lambda v: clean_text(str(v)) if v is not None else "")]
    line_number: Annotated[int, BeforeValidator(lambda v: _int_or_blank(v) or 1)] = 1
    payer_name: Text = None
    plan_type: PlanTypeField = PlanType.unknown
    plan_funding: PlanFundingField = None
    employer_size: Count = None
    plan_state: StateField = None
    member_id: Text = None
    patient_name: Text = None
    patient_dob: Day = None
    provider_name: Text = None
    provider_npi: Text = None
    service_date: Day = None
    cpt_code: Annotated[str | None, BeforeValidator(
        _pattern_or_blank(_CPT, "CPT/HCPCS/revenue code"))] = None
    modifiers: Annotated[list[str], BeforeValidator(_codes(_MODIFIER, "modifier"))] = Field(
        default_factory=list)
    units: Money = None
    place_of_service: Annotated[str | None, BeforeValidator(
        _pattern_or_blank(_POS, "two-digit place of service"))] = None
    diagnosis_codes: Annotated[list[str], BeforeValidator(
        _codes(_ICD10, "ICD-10-CM code", _normalize_icd))] = Field(default_factory=list)
    level_of_care: Annotated[LevelOfCare | None, BeforeValidator(level_of_care_value)] = None
    billed_amount: Money = None
    paid_amount: Money = None
    denial_date: Day = None
    adjustment_codes: Annotated[list[str], BeforeValidator(
        _codes(_ADJUSTMENT, "group-code/CARC pair like CO-50", _normalize_adjustment,
               _join_spaced_groups))] = Field(
        default_factory=list)
    remark_codes: Annotated[list[str], BeforeValidator(_codes(_REMARK, "RARC"))] = Field(
        default_factory=list)
    denial_reason: Text = None
    auth_number: Text = None
    auth_start: Day = None
    auth_end: Day = None
    auth_units: Money = None
    # Not canonical columns: where the record came from and what the reader noticed.
    extra: dict[str, str] = Field(default_factory=dict)
    source: str | None = None
    location: str | None = None
    warnings: list[str] = Field(default_factory=list)
    #: The export's values for plan fields that are none of the field's values, left for the
    #: payer directory to supply (`Batch.settle` rejects the line when it does not). Not kept.
    unread: dict[str, str] = Field(default_factory=dict, exclude=True)

    @model_validator(mode="after")
    def _check_facts(self) -> DenialRecord:
        if not self.claim_id:
            raise ValueError("claim_id: required")
        for name in ("claim_id", "member_id", "auth_number", "provider_npi"):
            value = getattr(self, name)
            if value and ("\n" in value or "\r" in value):
                raise ValueError(f"{name}: a line break inside an identifier (a quoted value "
                                 "split over two lines, or a lost segment terminator?)")
        most = limits()
        for name, value in [*((n, getattr(self, n)) for n in most if n not in ("extra", "raw")),
                            *((f"extra {k!r}", v) for k, v in self.extra.items())]:
            cap = most["extra"] if name.startswith("extra") else most[name]
            if isinstance(value, str) and len(value) > cap:
                raise ValueError(f"{name}: {len(value):,} characters, more than the {cap:,} the "
                                 "toolkit accepts (appeals/data/limits.yaml)")
        if self.auth_start and self.auth_end and self.auth_start > self.auth_end:
            raise ValueError("auth_end: before auth_start")
        for name in ("billed_amount", "units", "auth_units"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name}: negative ({value}); a reversal or correction is not a "
                                 "denial to appeal")
        for name in ("service_date", "denial_date", "auth_start", "auth_end"):
            value = getattr(self, name)
            if value is not None and not DATE_WINDOW[0] <= value <= DATE_WINDOW[1]:
                raise ValueError(f"{name}: {value.isoformat()} is outside "
                                 f"{DATE_WINDOW[0].isoformat()} to {DATE_WINDOW[1].isoformat()}")
        dob = self.patient_dob
        if dob is not None:
            if dob < DOB_EARLIEST:
                raise ValueError(f"patient_dob: {dob.isoformat()} is before "
                                 f"{DOB_EARLIEST.isoformat()}")
            if self.service_date and dob > self.service_date:
                raise ValueError(f"patient_dob: {dob.isoformat()} is after the date of service")
        if (self.paid_amount is not None and self.billed_amount is not None
                and self.paid_amount > self.billed_amount):
            self.warnings.append(f"paid_amount {self.paid_amount} is more than billed_amount "
                                 f"{self.billed_amount} (interest, or a data error?): nothing is "
                                 "at stake on this line")
        review, canonical = _extra_column(self.extra)
        if review and canonical not in REVIEW_TYPES:
            raise ValueError(f"review_type: {review!r} is not one of {', '.join(REVIEW_TYPES)}")
        network, canonical = _extra_column(self.extra, "network_status")
        if canonical not in NETWORK_ALIASES:
            raise ValueError(f"network_status: {network!r} is not one of contracted, "
                             "non_contracted (or in_network, out_of_network, par, non_par)")
        if (self.service_date and self.denial_date and self.service_date > self.denial_date
                and review_type_of(self.extra, self.denial_reason) in (None, "post_service")):
            raise ValueError("denial_date: before service_date (a pre-service or concurrent "
                             "denial is read when the review_type column or the reason says so)")
        if self.provider_npi and not npi_check_digit_ok(self.provider_npi):
            self.warnings.append(f"provider_npi: {self.provider_npi!r} fails the NPI check digit")
        return self

    @property
    def network_status(self) -> str | None:
        """contracted | non_contracted | None, from the export's `network_status` column."""
        return NETWORK_ALIASES[_extra_column(self.extra, "network_status")[1]] or None

    @property
    def review_type(self) -> str | None:
        return review_type_of(self.extra, self.denial_reason, self.service_date, self.denial_date)

    @property
    def key(self) -> str:
        """Stable name of the record in file names, logs and reports (never PHI)."""
        return f"{self.claim_id}-{self.line_number}"

    @property
    def amount_at_stake(self) -> Decimal:
        return max((self.billed_amount or Decimal(0)) - (self.paid_amount or Decimal(0)), Decimal(0))

    def canonical_row(self) -> dict[str, str]:
        """The record as a canonical CSV row (lists `;`-joined, blanks as empty strings)."""
        data = self.model_dump(mode="json", include=set(CANONICAL_FIELDS))
        row = {}
        for name in CANONICAL_FIELDS:
            value = data[name]
            if isinstance(value, list):
                value = ";".join(value)
            row[name] = "" if value is None else str(value)
        return row



if tuple(DenialRecord.model_fields) != RECORD_FIELDS:  # the store sizes its columns from them
    raise RuntimeError("appeals/fields.py RECORD_FIELDS is not DenialRecord's fields, in order")

class Reject(BaseModel):
    """A record that could not be read, kept with the reason so nothing is silently lost."""

    source: str
    location: str
    field: str
    message: str
    raw: str = ""
    # error: this record was not read; warning: read, but something in the file is off;
    # fatal: the file itself is damaged (truncated), so the batch is incomplete.
    level: Literal["error", "warning", "fatal"] = "error"
    #: The rejected value of a field whose values are a fixed list, for the run's count of an
    #: export's unknown words (not written out: `raw` quotes the row).
    value: str | None = Field(default=None, exclude=True)

    @field_validator("raw", "message")
    @classmethod
    def _quoted_short(cls, value: str, info) -> str:
        """A reject quotes at most a short part of what it rejects (a megabyte claim id never
        reaches the rejects file, the log or the triage report whole)."""
        cap = limits()["raw"] if info.field_name == "raw" else 1000
        if len(value) <= cap:
            return value
        return f"{value[:cap]}... ({len(value) - cap:,} more characters)"

    def __str__(self) -> str:
        prefix = "" if self.level == "error" else f"{self.level}: "
        return f"{self.source}: {self.location}: {prefix}{self.field}: {self.message}"


class Category(StrEnum):
    medical_necessity = "medical_necessity"
    authorization = "authorization"
    parity_nqtl = "parity_nqtl"
    coding = "coding"
    eligibility = "eligibility"
    credentialing = "credentialing"
    timely_filing = "timely_filing"
    coordination_of_benefits = "coordination_of_benefits"
    duplicate = "duplicate"
    missing_information = "missing_information"
    other = "other"
    not_a_denial = "not_a_denial"


#: Categories as a clinician or a biller reads them (the enum values are for files and rules).
CATEGORY_WORDS = {
    Category.medical_necessity: "medical necessity", Category.authorization: "authorization",
    Category.parity_nqtl: "treatment limitation", Category.coding: "coding",
    Category.eligibility: "eligibility", Category.credentialing: "provider credentialing",
    Category.timely_filing: "timely filing",
    Category.coordination_of_benefits: "coordination of benefits",
    Category.duplicate: "duplicate claim", Category.missing_information: "missing information",
    Category.other: "other reason", Category.not_a_denial: "not a denial",
}


class Action(StrEnum):
    appeal = "appeal"
    correct_and_resubmit = "correct_and_resubmit"
    verify_and_resubmit = "verify_and_resubmit"
    no_action = "no_action"


class Owner(StrEnum):
    front_desk = "front_desk"
    clinician = "clinician"
    billing = "billing"
    utilization_review = "utilization_review"
    credentialing = "credentialing"
    compliance = "compliance"


class Secondary(BaseModel):
    category: Category
    evidence: list[str]


class Bucket(BaseModel):
    fix_now: str
    fix_cause: str


class Classification(BaseModel):
    """Why a line was denied, what to do about it and who owns the cause."""

    claim_id: str
    line_number: int
    category: Category
    secondary: list[Secondary] = Field(default_factory=list)
    confidence: float
    evidence: list[str]
    action: Action
    owner: Owner
    appealable: bool
    bucket: Bucket
    #: The ids of the rules (rules.yaml) whose signals decided it, in evidence order.
    rules: list[str] = Field(default_factory=list)


class Precedent(BaseModel):
    """What independent reviewers decided in reviews like this case's, counted from a file the
    user imported (appeals/precedent/): the facts of one sentence, cited to that file."""

    model_config = ConfigDict(frozen=True)
    title: str  # the publisher's dataset, as cited
    reviews: str  # what its decisions are ("California Independent Medical Reviews")
    treatment: str  # the label of the treatment matched
    diagnosis: str  # the label of the diagnosis group (or family) matched
    review_type: str  # medical_necessity | experimental
    first_year: int
    last_year: int
    decided: int
    overturned: int  # in whole or in part
    partly: int  # of them, in part
    imported_on: date
    #: (reference id, finding) of overturning reviewers, quoted as an exhibit (off by default)
    quotes: tuple[tuple[str, str], ...] = ()

    @property
    def share(self) -> float:
        return self.overturned / self.decided if self.decided else 0.0

