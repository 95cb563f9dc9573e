"""Prevention: claims checked before they go out (`appeals scrub`), authorizations and
credentials watched (`appeals watch`), and scrub rules proposed from the case store's denials
(`appeals scrub suggest`). A capability above the pipeline's stages: it reads their intake
models and the payer directory, and nothing below imports it.

    from appeals.scrub import scrub
    result = scrub([Path("claims.837")], Path("out"), roster=Path("roster.csv"))

Its names load when first used: `appeals watch` does not load the scrubber and its report.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from appeals.scrub.batch import ScrubResult, scrub
    from appeals.scrub.rules import ScrubRulesError

_MODULE = {"scrub": "batch", "ScrubResult": "batch", "ScrubRulesError": "rules"}

__all__ = ["ScrubResult", "ScrubRulesError", "scrub"]


def __getattr__(name: str) -> Any:
    if name not in _MODULE:
        raise AttributeError(f"module 'appeals.scrub' has no attribute {name!r}")
    return getattr(import_module(f"appeals.scrub.{_MODULE[name]}"), name)
