"""Scrub rules proposed from the case store's repeated denials, for a person to accept into
payers.yaml or a scrub rules file. Nothing is ever applied by itself."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

#: The denial categories a scrub edit can prevent, and what to set to prevent them.
_PROPOSALS = {
    "authorization": ("authorization_required",
                      ("add {code} to this payer's scrub.authorization_required (and keep "
                      "auths.csv current)")),
    "coding": ("required_modifiers",
               ("find the modifier or place of service this payer wants on {code} (the reasons "
               "below) and set scrub.required_modifiers for it")),
    "credentialing": ("provider_not_enrolled",
                      ("check the roster for the clinicians billing {code} with this payer "
                      "(roster.csv effective dates)")),
    "timely_filing": ("filing_limit_days",
                      "set this payer's scrub.filing_limit_days to its contract's limit"),
    "duplicate": ("duplicate_line",
                  ("already checked within a batch; these repeat across batches: check the "
                  "resubmission process")),
}


@dataclass(frozen=True)
class Suggestion:
    payer: str
    code: str
    category: str
    denials: int
    setting: str
    what: str
    reasons: tuple[str, ...]

    def row(self) -> dict:
        return {"payer": self.payer, "cpt_code": self.code, "category": self.category,
                "denials_it_would_have_caught": self.denials, "setting": self.setting,
                "what_to_do": self.what, "payer_reasons": list(self.reasons)}


def suggest(engine: Engine, minimum: int = 3) -> list[Suggestion]:
    """Payer x code x category groups of at least `minimum` denied lines whose category a scrub
    edit prevents, most denials first."""
    from appeals.store.schema import lines

    query = (select(lines.c.payer_name, lines.c.cpt_code, lines.c.category,
                    func.count().label("n"))
             .where(lines.c.denied.is_(True), lines.c.category.in_(list(_PROPOSALS)))
             .group_by(lines.c.payer_name, lines.c.cpt_code, lines.c.category)
             .having(func.count() >= minimum))
    out = []
    with engine.connect() as conn:
        for row in conn.execute(query):
            reasons = tuple(r for (r,) in conn.execute(
                select(lines.c.reason).distinct().where(
                    lines.c.denied.is_(True), lines.c.payer_name == row.payer_name,
                    lines.c.cpt_code == row.cpt_code, lines.c.category == row.category)
                .order_by(lines.c.reason).limit(3)))
            setting, what = _PROPOSALS[row.category]
            out.append(Suggestion(row.payer_name, row.cpt_code, row.category, row.n, setting,
                                  what.format(code=row.cpt_code), reasons))
    return sorted(out, key=lambda s: (-s.denials, s.payer, s.code, s.category))
