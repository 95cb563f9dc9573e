"""The imported decisions counted by what a case is matched on: treatment, diagnosis group (or
its family when the group alone has too few), review type and years. Counted from the
publishers' words with today's precedent.yaml, once a run: a week's cases look it up."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from appeals.appeal import Appeal
from appeals.compose.document import from_markdown
from appeals.compose.letters import PRECEDENT_SHARE, cites_precedent, precedent_words
from appeals.compose.limits import limit_at_issue
from appeals.law import law_for, load_registry
from appeals.models import Category, Classification, DenialRecord, Precedent
from appeals.precedent.rules import Rules, load_rules
from appeals.store.schema import precedent_imports, precedents


@dataclass
class Cell:
    decided: int = 0
    overturned: int = 0
    partly: int = 0
    first_year: int = 9999
    last_year: int = 0

    def add(self, outcome: str, year: int, n: int) -> None:
        self.decided += n
        self.overturned += n * (outcome in ("overturned", "partly"))
        self.partly += n * (outcome == "partly")
        self.first_year, self.last_year = min(self.first_year, year), max(self.last_year, year)

    def merge(self, other: Cell) -> None:
        self.decided += other.decided
        self.overturned += other.overturned
        self.partly += other.partly
        self.first_year = min(self.first_year, other.first_year)
        self.last_year = max(self.last_year, other.last_year)


@dataclass
class Tally:
    """Decided reviews by (source, treatment, diagnosis group or family, review type)."""

    rules: Rules
    as_of: date
    engine: Engine | None = None  # for the quotes of findings (precedent.yaml `quotes`)
    cells: dict[tuple[str, str, str, str], Cell] = field(default_factory=dict)
    sources: dict[str, tuple[str, str, date]] = field(default_factory=dict)  # title, reviews, on

    def precedent(self, record: DenialRecord, review_type: str = "medical_necessity",
                  minimum: int | None = None) -> Precedent | None:
        """The reviews matching this case, when at least `minimum` (precedent.yaml's) were
        decided: by its diagnosis group, else its family; from the source of the plan's state,
        else the one with the most."""
        most = self.rules.minimum if minimum is None else minimum
        treatment = self.rules.case_treatment(record)
        group, family = self.rules.case_group(record)
        if treatment is None or family is None:
            return None
        for kind, label in ((group, self.rules.diagnoses[group].label if group else None),
                            (family, self.rules.families[family].label)):
            if kind is None:
                continue
            found = [(cell, source) for (source, t, k, r), cell in self.cells.items()
                     if t == treatment and k == kind and r == review_type
                     and cell.decided >= most]
            if found:
                cell, source = max(found, key=lambda x: (
                    self._state_of(x[1]) == record.plan_state, x[0].decided, x[1]))
                title, reviews, on = self.sources[source]
                return Precedent(title=title, reviews=reviews,
                                 treatment=self.rules.treatments[treatment].label,
                                 diagnosis=label, review_type=review_type,
                                 first_year=cell.first_year, last_year=cell.last_year,
                                 decided=cell.decided, overturned=cell.overturned,
                                 partly=cell.partly, imported_on=on,
                                 quotes=self._quotes(source, treatment, kind, review_type))
        return None

    def _quotes(self, source: str, treatment: str, key: str, review_type: str
                ) -> tuple[tuple[str, str], ...]:
        """Findings of overturning reviewers (newest first), cut to `quote_chars`."""
        if not self.rules.quotes or self.engine is None:
            return ()
        out = []
        most = self.rules.quote_chars
        for ref in _examples(self.engine, source, self.rules, treatment, key, review_type,
                             self.as_of, self.rules.quotes, overturned=True):
            if ref.findings:
                text = ref.findings[:most]
                end = text.rfind(". ")
                text = text[:end + 1] if len(ref.findings) > most and end > most // 2 else text
                out.append((ref.reference_id, text + ("" if text == ref.findings else " [...]")))
        return tuple(out)

    def _state_of(self, source: str) -> str | None:
        known = self.rules.sources.get(source)
        return known.state if known else None

    def by_treatment(self) -> dict[str, dict[str, Cell]]:
        """source title -> treatment label -> every decided review of it (both review types)."""
        out: dict[str, dict[str, Cell]] = defaultdict(dict)
        for (source, treatment, kind, _), cell in self.cells.items():
            if kind not in self.rules.families:  # each review once: at its family
                continue
            label = self.rules.treatments[treatment].label
            out[self.sources[source][0]].setdefault(label, Cell()).merge(cell)
        return {k: dict(sorted(v.items())) for k, v in sorted(out.items())}


def tally(engine: Engine, as_of: date, rules: Rules | None = None) -> Tally:
    """Count the store's decisions of the last `years` report years to `as_of`."""
    rules = rules or load_rules()
    found = Tally(rules=rules, as_of=as_of, engine=engine)
    with engine.connect() as conn:
        for source, title, on in conn.execute(
                select(precedent_imports.c.source, precedent_imports.c.title,
                       func.max(precedent_imports.c.imported_on))
                .group_by(precedent_imports.c.source, precedent_imports.c.title)):
            name = rules.sources.get(source)
            reviews = name.reviews if name else title
            if source not in found.sources or on > found.sources[source][2]:
                found.sources[source] = (title, reviews, on)
        p = precedents.c
        rows = conn.execute(
            select(p.source, p.diagnosis, p.treatment, p.review_type, p.outcome, p.year,
                   func.count()).where(p.year > as_of.year - rules.years)
            .group_by(p.source, p.diagnosis, p.treatment, p.review_type, p.outcome, p.year))
        for source, diagnosis, treatment, review_type, outcome, year, n in rows:
            kind = rules.treatment_of(treatment)
            group = rules.group_of(diagnosis)
            family = rules.family_of(diagnosis, group)
            if kind is None or family is None:
                continue
            for key in {group, family} - {None}:
                found.cells.setdefault((source, kind, key, review_type), Cell()).add(
                    outcome, year, n)
    return found


def review_type_for(record: DenialRecord, classification: Classification) -> str:
    """experimental when the denial calls the treatment experimental or investigational (its
    treatment limitation, limit_types.yaml), else medical_necessity."""
    limit = limit_at_issue(record, classification)
    return "experimental" if limit is not None and limit.id == "experimental" else \
        "medical_necessity"


def show(engine: Engine, ref: str, as_of: date, sample: int = 5) -> dict:
    """`appeals precedent show CASE`: what the case is matched on, the counts of each source at
    its diagnosis group and family (whatever their size), and a few reference ids of each."""
    from appeals.classify import classify
    from appeals.classify import load_rules as load_classifier
    from appeals.store.cases import case_record

    case_id, record, category = case_record(engine, ref)
    rules = load_rules()
    found = tally(engine, as_of, rules)
    kind = review_type_for(record, classify(record, load_classifier()))
    treatment = rules.case_treatment(record)
    group, family = rules.case_group(record)
    out: dict = {"case": case_id, "category": category, "review_type": kind,
                 "treatment": treatment, "diagnosis_group": group, "family": family,
                 "minimum": rules.minimum, "matches": []}
    for (source, t, key, r), cell in sorted(found.cells.items()):
        if t != treatment or r != kind or key not in (group, family):
            continue
        out["matches"].append({
            "source": found.sources[source][0], "matched_on": key, "decided": cell.decided,
            "overturned": cell.overturned, "in_part": cell.partly,
            "years": f"{cell.first_year}-{cell.last_year}",
            "share": round(cell.overturned / cell.decided, 3) if cell.decided else None,
            "examples": [f"{r.reference_id} ({r.outcome}, {r.year})" for r in _examples(
                engine, source, rules, treatment, key, kind, as_of, sample)]})
    letter = found.precedent(record, kind)
    if letter is None:
        out["letter"] = f"no sentence: fewer than {rules.minimum} matching decisions"
    elif not cites_precedent(letter, law_for(record, as_of=as_of), load_registry(),
                             Category(category), record.review_type):
        out["letter"] = (f"not printed ({letter.overturned} of {letter.decided} overturned): a "
                         "letter cites decided reviews only in a medical-necessity appeal whose "
                         "next step is external review, and only at a share of at least "
                         f"{PRECEDENT_SHARE:.0%}")
    else:
        out["letter"] = from_markdown(precedent_words(letter), "precedent", "precedent").text()
    return out


def _examples(engine: Engine, source: str, rules: Rules, treatment: str, key: str, kind: str,
              as_of: date, most: int, overturned: bool = False) -> list:
    """Matching decisions (reference id, outcome, year, findings), overturned first, newest
    first; only overturned ones with `overturned`."""
    p = precedents.c
    out: list = []
    where = (p.source == source) & (p.review_type == kind) & (p.year > as_of.year - rules.years)
    if overturned:
        where &= p.outcome != "upheld"
    with engine.connect() as conn:
        rows = conn.execute(
            select(p.reference_id, p.diagnosis, p.treatment, p.outcome, p.year, p.findings)
            .where(where).order_by((p.outcome == "upheld"), p.year.desc(), p.reference_id))
        for row in rows:
            group = rules.group_of(row.diagnosis)
            if rules.treatment_of(row.treatment) == treatment and key in (
                    group, rules.family_of(row.diagnosis, group)):
                out.append(row)
                if len(out) == most:
                    break
    return out


def with_precedent(appeal: Appeal, found: Tally | None) -> Appeal:
    """The appeal with the decided reviews its letter may cite (a medical-necessity appeal
    whose reviews reach the minimum); as it was otherwise."""
    first = appeal.first
    if found is None or not found.cells or \
            first.classification.category is not Category.medical_necessity:
        return appeal
    matched = found.precedent(first.record, review_type_for(first.record, first.classification))
    return replace(appeal, precedent=matched) if matched is not None else appeal


def reviewed_prior(appeal: Appeal, found: Tally | None) -> tuple[float, str] | None:
    """(overturn share, what it is) of the reviews like this appeal, for its priority at
    external review; from `prior_minimum` decisions (fewer than a letter needs)."""
    first = appeal.first
    if found is None or not found.cells:
        return None
    matched = found.precedent(first.record, review_type_for(first.record, first.classification),
                              minimum=found.rules.prior_minimum)
    if matched is None:
        return None
    return matched.share, (f"{matched.overturned} of {matched.decided} {matched.reviews} "
                           f"overturned ({matched.treatment}, {matched.diagnosis})")


def triage_rows(engine: Engine, found: Tally) -> list[dict]:
    """The triage report's table: per treatment, each source's decided reviews and overturn
    share beside the practice's own decided medical-necessity cases of that treatment."""
    from appeals.store.lifecycle import DECIDED, WON
    from appeals.store.schema import cases

    ours: dict[str, list[int]] = {}
    won = {s.value for s in WON}
    with engine.connect() as conn:
        for raw, status in conn.execute(
                select(cases.c.record, cases.c.status).where(
                    (cases.c.category == Category.medical_necessity.value)
                    & cases.c.status.in_([s.value for s in DECIDED]))):
            kind = found.rules.case_treatment(DenialRecord.model_validate_json(raw))
            if kind is not None:
                label = found.rules.treatments[kind].label
                counts = ours.setdefault(label, [0, 0])
                counts[0] += status in won
                counts[1] += 1
    rows = []
    for title, treatments in found.by_treatment().items():
        for label, cell in treatments.items():
            ours_won, ours_decided = ours.get(label, (0, 0))
            rows.append({"treatment": label, "source": title, "decided": cell.decided,
                         "overturned": cell.overturned, "share": cell.overturned / cell.decided,
                         "years": f"{cell.first_year}-{cell.last_year}",
                         "ours_decided": ours_decided, "ours_won": ours_won})
    return sorted(rows, key=lambda r: (r["treatment"], -r["decided"]))
