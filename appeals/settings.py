"""What a run is configured with: the settings files every packet depends on, and the run's options.

`Settings` is loaded once per run (and once per packet worker); `RunConfig` is what `appeals run`
was asked to do and is picklable, so workers load the same settings. Both live here, below the
packet builder, the pipeline and the audit fingerprints that all read them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from appeals.classify import Rules, RulesError, load_rules
from appeals.compose.checklists import ChecklistError, load_items
from appeals.compose.settings import (
    Org,
    Payer,
    SettingsError,
    load_biller_fields,
    load_facts,
    load_org,
    load_payers,
    payer_for,
    with_plan_facts,
)
from appeals.law import (
    LawResult,
    PlanFacts,
    Registry,
    RegistryError,
    law_for,
    load_registry,
)
from appeals.models import DenialRecord

#: What Settings.load raises for a malformed user file.
SETTINGS_ERRORS = (RulesError, RegistryError, SettingsError, ChecklistError)


@dataclass
class Settings:
    """Everything a packet depends on besides its lines; load once per run."""

    rules: Rules = field(default_factory=load_rules)
    registry: Registry = field(default_factory=load_registry)
    org: Org = field(default_factory=Org)
    payers: dict[str, Payer] = field(default_factory=dict)
    facts: dict[str, dict[str, str]] = field(default_factory=dict)
    templates: Path | None = None
    checklists: Path | None = None
    as_of: date = field(default_factory=date.today)
    #: Law results by plan facts: a remittance's lines share a handful (read, never changed).
    _laws: dict[PlanFacts, LawResult] = field(default_factory=dict, repr=False, compare=False)

    def law(self, facts: PlanFacts) -> LawResult:
        """`law_for` these facts under this registry and day, made once per distinct facts."""
        found = self._laws.get(facts)
        if found is None:
            if len(self._laws) >= 1024:
                self._laws.clear()
            found = self._laws[facts] = law_for(facts, self.registry, as_of=self.as_of)
        return found

    @classmethod
    def load(cls, *, rules: Path | None = None, registry: Path | None = None,
             org: Path | None = None, payers: Path | None = None, facts: Path | None = None,
             templates: Path | None = None, as_of: date | None = None) -> Settings:
        """Settings from the user's files (None: built-in). Raises one of SETTINGS_ERRORS,
        whose message names the file and the entry."""
        if templates is not None and not templates.is_dir():
            raise SettingsError(f"--templates: {templates} is not a folder")
        checklists = templates / "checklists" if templates and (
            templates / "checklists").is_dir() else None
        items = load_items(checklists)  # fail now, not on the first packet
        return cls(rules=load_rules(rules), registry=load_registry(registry), org=load_org(org),
                   payers=load_payers(payers), facts=load_facts(facts, {i.id for i in items}
                                                    | set(load_biller_fields().fields)),
                   templates=templates,
                   checklists=checklists, as_of=as_of or date.today())

    def payer_for(self, record: DenialRecord) -> Payer | None:
        return payer_for(record, self.payers)

    def enrich(self, record: DenialRecord) -> DenialRecord:
        return with_plan_facts(record, self.payer_for(record))

    def facts_for(self, record: DenialRecord) -> dict[str, str]:
        return {**self.facts.get(record.claim_id, {}),
                **self.facts.get(f"{record.claim_id}-{record.line_number}", {})}


@dataclass
class RunConfig:
    """What `appeals run` was asked to do; picklable, so workers load the same settings."""

    inputs: list[Path]
    out: Path
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    facts: Path | None = None
    org: Path | None = None
    templates: Path | None = None
    rules: Path | None = None
    columns: Path | None = None
    payers: Path | None = None
    registry: Path | None = None
    priority: Path | None = None
    as_of: date = field(default_factory=date.today)
    force: bool = False
    redact: bool = False
    #: Case store URL (appeals.store): every line, appeal and packet is recorded there; None: not.
    db: str | None = None
    #: Plan type of the denial letters among the inputs (their own words never decide it).
    letter_plan_type: str | None = None

    def settings(self) -> Settings:
        return Settings.load(rules=self.rules, registry=self.registry, org=self.org,
                             payers=self.payers, facts=self.facts, templates=self.templates,
                             as_of=self.as_of)
