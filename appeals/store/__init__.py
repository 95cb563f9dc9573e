"""The case store: every denial across weeks, what was done about it and how it ended.

It sits above the pipeline's stages (intake, classify, law, compose, render), which never import
it; `appeals run --db` and the case commands use it.
"""

from appeals.store.cases import (
    CaseError,
    approve,
    case_history,
    list_cases,
    log_call,
    mark,
    record_outcome,
)
from appeals.store.engine import DEFAULT_URL, ENV_VAR, StoreError, open_store, shown, store_url
from appeals.store.lifecycle import CloseReason, Status
from appeals.store.record import Recorder

__all__ = [
    "DEFAULT_URL",
    "ENV_VAR",
    "CaseError",
    "CloseReason",
    "Recorder",
    "Status",
    "StoreError",
    "approve",
    "case_history",
    "list_cases",
    "log_call",
    "mark",
    "open_store",
    "record_outcome",
    "shown",
    "store_url",
]
