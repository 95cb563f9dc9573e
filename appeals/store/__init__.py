"""The case store: every denial across weeks, what was done about it and how it ended.

It sits above the pipeline's stages (intake, classify, law, compose, render), which never import
it; `appeals run --db` and the case commands use it. Its names are loaded when first used, so
`import appeals.store.schema` (or a store command) does not load the recorder and the stages.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from appeals.store.cases import (
        CaseError,
        approve,
        case_history,
        list_cases,
        log_call,
        mark,
        record_outcome,
    )
    from appeals.store.engine import (
        DEFAULT_URL,
        ENV_VAR,
        StoreError,
        open_store,
        shown,
        store_url,
    )
    from appeals.store.lifecycle import CloseReason, Status
    from appeals.store.record import Recorder

_WHERE = {
    "cases": ("CaseError", "approve", "case_history", "list_cases", "log_call", "mark",
              "record_outcome"),
    "engine": ("DEFAULT_URL", "ENV_VAR", "StoreError", "open_store", "shown", "store_url"),
    "lifecycle": ("CloseReason", "Status"),
    "record": ("Recorder",),
}
_MODULE = {name: module for module, names in _WHERE.items() for name in names}

__all__ = ["DEFAULT_URL", "ENV_VAR", "CaseError", "CloseReason", "Recorder", "Status",
           "StoreError", "approve", "case_history", "list_cases", "log_call", "mark",
           "open_store", "record_outcome", "shown", "store_url"]


def __getattr__(name: str) -> Any:
    if name not in _MODULE:
        raise AttributeError(f"module 'appeals.store' has no attribute {name!r}")
    return getattr(import_module(f"appeals.store.{_MODULE[name]}"), name)
