"""The denial record's field names and the longest value each may hold (appeals/data/limits.yaml),
and names as keys: what the case store needs without loading the record models (pydantic), so
a store command starts fast. appeals.models re-exports them and checks the names against the
model when it loads."""

from __future__ import annotations

from functools import lru_cache

CANONICAL_FIELDS: tuple[str, ...] = (
    "claim_id", "line_number", "payer_name", "plan_type", "plan_funding", "employer_size",
    "plan_state", "member_id", "patient_name", "patient_dob", "provider_name", "provider_npi",
    "service_date", "cpt_code", "modifiers", "units", "place_of_service", "diagnosis_codes",
    "level_of_care", "billed_amount", "paid_amount", "denial_date", "adjustment_codes",
    "remark_codes", "denial_reason", "auth_number", "auth_start", "auth_end", "auth_units",
)
#: Every field of a DenialRecord: the canonical ones and what the readers add.
RECORD_FIELDS: tuple[str, ...] = (*CANONICAL_FIELDS, "extra", "source", "location", "warnings",
                                  "unread")


def name_key(text: str | None) -> str:
    """A name as a key, spacing and case aside: "BLUE RIDGE HEALTH" in the 835 and "Blue Ridge
    Health" in the export are one payer, "SAMPLE,  AVERY" and "Sample, Avery" one patient."""
    return " ".join((text or "").split()).casefold()


@lru_cache(maxsize=4096)  # a batch names the same few payers on every line
def payer_key(name: str | None) -> str:
    return name_key(name)


@lru_cache(maxsize=1)
def limits_file() -> dict:
    """appeals/data/limits.yaml as written: its field lengths (limits()) and its document caps
    (appeals.intake.caps) are each validated where they are used."""
    from importlib import resources

    from appeals.yamltext import parse_yaml

    return parse_yaml(resources.files("appeals.data").joinpath("limits.yaml")
                      .read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def limits() -> dict[str, int]:
    """appeals/data/limits.yaml: the longest value accepted per field (and `raw`, the most of a
    rejected row a reject file quotes). One table for intake, the store's column sizes and the
    reject files."""
    import yaml

    name = "appeals/data/limits.yaml"
    try:
        doc = limits_file()
        table = {**doc["fields"], "raw": doc["raw"]}
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise ValueError(f"{name}: not a limits table ({exc})") from None
    for field, most in table.items():
        if field not in (*RECORD_FIELDS, "raw") or not (
                isinstance(most, int) and 1 <= most <= 1_000_000):
            raise ValueError(f"{name}: {field}: a known field with a whole number of "
                             "characters from 1 to 1,000,000")
    return table
