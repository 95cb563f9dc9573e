"""Precedent: what independent reviewers decided in cases like one of ours, counted from the
published decisions a user imports (California's DMHC IMR file, New York's DFS external appeal
export, any other state's file through a column map) and cited to that file.

    from appeals.precedent import import_file, tally
    import_file(engine, Path("imr.csv"), "ca-dmhc")
    tally(engine, as_of).precedent(record)   # a Precedent, or None below the minimum

It sits above the case store (its decisions are a table there) and is never imported by the
stages; the pipeline hands each appeal its `Precedent`, which the letter and the priority read.
"""

from appeals.precedent.imports import Imported, import_file, source_for
from appeals.precedent.rules import PrecedentError, load_rules
from appeals.precedent.tally import (
    Tally,
    review_type_for,
    reviewed_prior,
    show,
    tally,
    with_precedent,
)

__all__ = ["Imported", "PrecedentError", "Tally", "import_file", "load_rules", "review_type_for",
           "reviewed_prior", "show", "source_for", "tally", "with_precedent"]
