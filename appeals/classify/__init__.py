"""Classification: every line gets a category, its evidence, the action and the owner.

    from appeals.classify import classify, load_rules
    rules = load_rules()                 # or load_rules(Path("my_rules.yaml"))
    result = classify(record, rules)
"""

from appeals.classify.classifier import Signal, Trace, classify, signals_for
from appeals.classify.explain import explain
from appeals.classify.rules import Rules, RulesError, load_rules

__all__ = [
    "Rules",
    "RulesError",
    "Signal",
    "Trace",
    "classify",
    "explain",
    "load_rules",
    "signals_for",
]
