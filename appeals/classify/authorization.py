"""What a record's own fields say about its authorization: the one reading the classifier's fact
rules and the letters' authorization argument both use (they disagreed on a service before the
first authorized day, units over with no number, and a number with no dates)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from appeals.models import DenialRecord

Status = Literal["none", "undated", "not_started", "expired", "covers"]


@dataclass(frozen=True)
class Authorization:
    """`status`: none (no authorization number), undated (a number, but no authorized dates or no
    date of service to set them against), not_started (the service came before the first
    authorized day), expired (after the last) or covers; `units_over`: more units billed than
    authorized (whether or not the number is on the claim)."""

    status: Status
    units_over: bool

    @property
    def facts(self) -> frozenset[str]:
        """The words rules.yaml's fact rules use (`when: {auth: ...}`)."""
        named = {"covers": "on_file_covering_service", "expired": "expired_before_service"}
        return frozenset(([named[self.status]] if self.status in named else [])
                         + (["units_exceeded"] if self.units_over else []))


def authorization_of(record: DenialRecord) -> Authorization:
    units_over = (record.auth_units is not None and record.units is not None
                  and record.units > record.auth_units)
    day = record.service_date
    if not record.auth_number:
        status: Status = "none"
    elif day is None or (record.auth_start is None and record.auth_end is None):
        status = "undated"
    elif record.auth_start and day < record.auth_start:
        status = "not_started"
    elif record.auth_end and day > record.auth_end:
        status = "expired"
    else:
        status = "covers"
    return Authorization(status, units_over)
