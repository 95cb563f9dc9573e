"""What a returned answer can be checked for: a standardized measure's score in its range and an
instrument's level among its levels (appeals/data/measures.yaml, via compose.measures), and dates
that are not in the future. Each problem names the item
and says what is wrong; a file with any problem is imported not at all (nothing half-imported).
"""

from __future__ import annotations

import re
from datetime import date

from appeals.answers.read import Returned
from appeals.compose.checklists import load_items
from appeals.compose.measures import Level, Measure, _key, _level_pattern, _pattern, load_measures

_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b|\b(\d{1,2})/(\d{1,2})/(\d{4})\b")


def problems(returned: Returned, as_of: date,
             data: tuple[tuple[Measure, ...], tuple[Level, ...]] | None = None,
             forward: frozenset[str] | None = None) -> list[str]:
    """Every problem in the returned answers, one line each, naming the item. `forward`: the
    items whose answers may name future days (default: the checklists' `future_dates` items)."""
    measures, levels = data or load_measures()
    if forward is None:
        forward = frozenset(i.id for i in load_items() if i.future_dates)
    pattern, spelled = _pattern(measures)
    level_pattern, level_names = _level_pattern(levels)
    found: list[str] = []
    denied = _post_service_denial(returned)
    for item, answer in sorted(returned.answers.items()):
        for match in level_pattern.finditer(answer.text):
            level = level_names.get(_key(match.group(1)))
            value = match.group(2).upper() if match.group(2)[0].isdigit() else \
                match.group(2).lower()
            words = value.isalpha()
            if level is None or words != all(v.isalpha() for v in level.values):
                continue  # "ASAM dimensions" is no level; "C-SSRS risk 3" no category
            if value not in level.values:
                found.append(f"{item}: {match.group(1)} {match.group(2)} is not one of its "
                             f"levels ({', '.join(level.values)})")
        for match in pattern.finditer(answer.text):
            measure = spelled.get(_key(match.group(1)))
            score = float(match.group(2))
            if measure is not None and not measure.min <= score <= measure.max:
                found.append(f"{item}: {match.group(1)} {match.group(2)} is outside its range "
                             f"{measure.min:g}-{measure.max:g}")
        for match in _DATE.finditer(answer.text):
            day = _date(match)
            if day is None:
                found.append(f"{item}: {match.group(0)} is not a date")
            elif day > as_of and item not in forward:
                found.append(f"{item}: {match.group(0)} is in the future (today is "
                             f"{as_of.isoformat()})")
            elif denied is not None and day > denied and item not in forward:
                found.append(f"{item}: {match.group(0)} is after the denial of "
                             f"{denied.isoformat()}: the appeal rests on the record made before "
                             "it (a later note is an addendum: date it and say so)")
    return found


def _post_service_denial(returned: Returned) -> date | None:
    """The denial date when the care was given before it (the record then predates the denial);
    None for a pre-service or concurrent denial, or when the checklist does not say."""
    try:
        service = date.fromisoformat(returned.service_date)
        denied = date.fromisoformat(returned.denial_date)
    except ValueError:
        return None
    return denied if service <= denied else None


def _date(match: re.Match) -> date | None:
    try:
        if match.group(1):
            return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        return date(int(match.group(6)), int(match.group(4)), int(match.group(5)))
    except ValueError:
        return None
