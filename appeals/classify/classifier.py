"""Deciding a line's category from its signals (codes, payer text, record facts).

The decision is data-driven (see the header of appeals/data/rules.yaml for the procedure) and
keeps its trace, so `appeals classify --explain` can show a reviewer exactly why.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from appeals.classify.authorization import authorization_of
from appeals.classify.rules import NON_DENIAL, FactRule, Rules
from appeals.classify.shorthand import Expansion
from appeals.models import Action, Bucket, Category, Classification, DenialRecord, Owner, Secondary

REVERSAL_STATUS = "22"
#: Decisions remembered per rule set (about 2 kB each); a remittance has far fewer distinct ones.
DECISIONS_KEPT = 10_000
#: The most a decision resting only on fallback word lists may claim.
FALLBACK_CONFIDENCE = 0.45
#: What each distinct word of a word list adds after the first (at most three more count), so
#: the category whose words a sentence uses most wins rather than the first listed.
FALLBACK_WORD_BONUS = 0.1


@dataclass
class Signal:
    category: str  # a Category value, or contractual / patient_responsibility / informational
    weight: float
    evidence: str
    kind: str  # carc, rarc, text, fallback (a broad word list), fact
    action: str | None = None
    owner: str | None = None
    rule: str | None = None  # the rules.yaml id of a text, fallback or fact rule


@dataclass
class Trace:
    signals: list[Signal] = field(default_factory=list)
    scores: dict[str, float] = field(default_factory=dict)
    decision: str = ""


def _code_signals(record: DenialRecord, rules: Rules) -> list[Signal]:
    key = (tuple(record.adjustment_codes), tuple(record.remark_codes))
    cached = rules._code_cache.get(key)
    if cached is None:
        if len(rules._code_cache) > 50_000:
            rules._code_cache.clear()
        cached = rules._code_cache[key] = tuple(_read_codes(record, rules))
    return list(cached)


def _read_codes(record: DenialRecord, rules: Rules) -> list[Signal]:
    out = []
    for code in record.adjustment_codes:
        group, reason = code.split("-", 1)
        if group == "CR":
            out.append(Signal("informational", 1.0, f"CARC {reason} ({group}): correction or "
                              "reversal of an earlier payment (4010 group CR)", "carc"))
            continue
        row = rules.code("CARC", reason)
        if row is None:
            out.append(Signal("other", 0.2, f"CARC {reason} ({group}): not in the code table",
                              "carc"))
            continue
        category = row.category
        if group == "PR" and category == "contractual":
            category = "patient_responsibility"
        out.append(Signal(category, row.weight, f"CARC {reason} ({group}): {row.short_meaning}",
                          "carc", _action(row.action), _owner(row.owner)))
    for code in record.remark_codes:
        row = rules.code("RARC", code)
        if row is None:
            out.append(Signal("other", 0.0, f"RARC {code}: not in the code table", "rarc"))
            continue
        out.append(Signal(row.category, row.weight, f"RARC {code}: {row.short_meaning}", "rarc",
                          _action(row.action), _owner(row.owner)))
    return out


def _action(table_action: str) -> str | None:
    return {"fix_resubmit": "correct_and_resubmit", "appeal": "appeal"}.get(table_action)


def _owner(table_owner: str) -> str | None:
    return table_owner if table_owner in Owner.__members__ else None


def _text_signals(record: DenialRecord, rules: Rules,
                  readings: list[tuple[str, tuple[Expansion, ...]]]) -> list[Signal]:
    text = record.denial_reason
    if not text:
        return []
    key = (text, record.payer_name)
    cached = rules._text_cache.get(key)
    if cached is None:
        if len(rules._text_cache) > 50_000:
            rules._text_cache.clear()
        cached = rules._text_cache[key] = tuple(_match_text(readings, record.payer_name, rules))
    return list(cached)


def _read_as(expansions: tuple[Expansion, ...], spans: list[tuple[int, int]]) -> str:
    """The shorthand inside the matched spans, said in the evidence."""
    used = [str(e) for e in expansions if any(e.start < end and start < e.end
                                             for start, end in spans)]
    return f"; shorthand {', '.join(used)}" if used else ""


def _readings(text: str, rules: Rules) -> list[tuple[str, tuple[Expansion, ...]]]:
    """The payer's words with their shorthand spelled out (what the rules are written for), then
    as written, for a rule aimed at the payer's own text (`as_written`)."""
    expanded, expansions = rules.reading.expand(text)
    return [(expanded, expansions), (text, ())] if expansions else [(text, ())]


def _match_text(readings: list[tuple[str, tuple[Expansion, ...]]], payer: str | None,
                rules: Rules) -> list[Signal]:
    """Signals of the regular text rules; of the fallback word lists only when none matched."""
    out: list[Signal] = []
    for fallback in (False, True):
        for rule in rules.text:
            if rule.fallback is not fallback or (
                    rule.payer_regex and not rule.payer_regex.search(payer or "")):
                continue
            for text, expansions in readings[:1 + rule.as_written]:
                if fallback:  # a word list: each further distinct word adds a little
                    matches = list(rule.regex.finditer(text))
                    if not matches:
                        continue
                    words = list({m.group(0).lower(): m.group(0) for m in matches}.values())
                    weight = rule.weight + FALLBACK_WORD_BONUS * min(len(words) - 1, 3)
                    quoted = ", ".join(f'"{w}"' for w in words)
                    read = _read_as(expansions, [m.span() for m in matches])
                    out.append(Signal(rule.category.value, round(weight, 2),
                                      f"text: {quoted} ({rule.evidence}) [rule {rule.id}]{read}",
                                      "fallback", rule=rule.id))
                    break
                match = rule.regex.search(text)
                if match:
                    read = _read_as(expansions, [match.span()])
                    out.append(Signal(rule.category.value, rule.weight,
                                      f'text: "{match.group(0)}" ({rule.evidence}) '
                                      f"[rule {rule.id}]{read}", "text", rule=rule.id))
                    break
        if out:
            break
    return out


def _fact_holds(rule: FactRule, record: DenialRecord, carcs: set[str], signalled: set[str],
                auth: frozenset[str], reasons: list[str]) -> bool:
    w = rule.when
    if w.carc_set is not None and w.carc_set.isdisjoint(carcs):
        return False
    if w.category is not None and w.category.value not in signalled:
        return False
    if w.level_of_care is not None and record.level_of_care not in w.level_of_care:
        return False
    if w.cpt_set is not None and record.cpt_code not in w.cpt_set:
        return False
    if w.auth is not None and w.auth not in auth:
        return False
    if not w.carc_not_set.isdisjoint(carcs):
        return False
    if w.text_regex is not None and not any(w.text_regex.search(r) for r in reasons):
        return False
    if w.text_not_regex is not None and any(w.text_not_regex.search(r) for r in reasons):
        return False
    return w.payer_regex is None or bool(w.payer_regex.search(record.payer_name or ""))


def signals_for(record: DenialRecord, rules: Rules) -> list[Signal]:
    readings = _readings(record.denial_reason or "", rules)  # once: text rules and facts
    signals = _code_signals(record, rules) + _text_signals(record, rules, readings)
    signalled = {s.category for s in signals if s.weight > 0}
    auth = authorization_of(record).facts
    carcs = {c.split("-", 1)[1] for c in record.adjustment_codes}
    reasons = [t for t, _ in readings]
    for rule in rules.facts:
        if _fact_holds(rule, record, carcs, signalled, auth, reasons):
            signals.append(Signal(rule.category.value, rule.weight, f"fact: {rule.evidence} "
                                  f"[rule {rule.id}]", "fact",
                                  rule.action.value if rule.action else None,
                                  rule.owner.value if rule.owner else None, rule.id))
    return signals


def decision_key(record: DenialRecord) -> tuple:
    """Every fact of a record the decision reads (not its claim id or line number)."""
    return (tuple(record.adjustment_codes), tuple(record.remark_codes), record.denial_reason,
            record.payer_name, record.level_of_care, record.cpt_code,
            authorization_of(record).facts, (record.paid_amount or 0) > 0,
            record.extra.get("claim_status") == REVERSAL_STATUS)


def classify(record: DenialRecord, rules: Rules, trace: Trace | None = None) -> Classification:
    """Category, evidence, action, owner and buckets for one line.

    Lines of a remittance repeat the same few code sets, reasons and facts, so the decision is
    kept per `decision_key` and only the claim id and line number change (not when tracing).
    """
    if trace is not None:
        return _decide(record, rules, trace)
    key = decision_key(record)
    known = rules._decisions.get(key)
    if known is None:
        if len(rules._decisions) > DECISIONS_KEPT:
            rules._decisions.clear()
        known = rules._decisions[key] = _decide(record, rules, None)
    return known.model_copy(update={"claim_id": record.claim_id,
                                    "line_number": record.line_number})


def _decide(record: DenialRecord, rules: Rules, trace: Trace | None) -> Classification:
    signals = signals_for(record, rules)
    if trace is not None:
        trace.signals = signals
    carcs = [s for s in signals if s.kind == "carc"]
    if carcs and all(s.category in NON_DENIAL for s in carcs):
        # Remarks on a line whose adjustments are all contractual or patient responsibility are
        # notes about the payment, not a denial of it.
        signals = [s if s.kind != "rarc" or s.category in NON_DENIAL else
                   Signal("informational", 0.0, s.evidence + " (remark on a paid line)", "rarc")
                   for s in signals]
        if trace is not None:
            trace.signals = signals
    denial = [s for s in signals if s.category not in NON_DENIAL and s.category != "not_a_denial"]
    reversal = record.extra.get("claim_status") == REVERSAL_STATUS
    paid_clean = not denial and (record.paid_amount or 0) > 0
    if paid_clean and not signals:
        signals = [Signal("informational", 0.0, "paid with no adjustment or remark code", "fact")]
    if reversal or (not denial and signals):
        evidence = [s.evidence for s in signals] or []
        if reversal:
            evidence.insert(0, "claim status 22: reversal of an earlier payment")
        if trace is not None:
            trace.decision = "only contractual, patient-responsibility or informational signals"
        return _result(record, rules, Category.not_a_denial, [], 0.95, evidence, None, None,
                       signals)
    scores: dict[str, float] = {}
    for s in denial:
        scores[s.category] = scores.get(s.category, 0.0) + s.weight
    if not scores or max(scores.values()) <= 0:
        evidence = [s.evidence for s in signals] or [("no adjustment code, remark code or reason "
                                                     "text that the rules recognise")]
        if trace is not None:
            trace.decision = "no recognised denial signal"
        return _result(record, rules, Category.other, [], 0.2, evidence, None, None, signals)
    rank = rules.rank
    best = max(scores.values())
    tied = [c for c, v in scores.items() if v >= best - rules.tie_margin]
    primary = min(tied, key=lambda c: rank.get(c, len(rank)))
    total = sum(v for v in scores.values() if v > 0)
    confidence = round(min(0.99, 0.5 * scores[primary] / total + 0.5 * min(best, 1.0)), 2)
    chosen = [s for s in denial if s.category == primary]
    if all(s.kind == "fallback" for s in chosen):  # a word-list guess: say it is one
        confidence = min(confidence, FALLBACK_CONFIDENCE)
    secondary = [Secondary.model_construct(category=Category(c), evidence=[s.evidence for s in denial
                                                           if s.category == c])
                 for c in sorted(scores, key=lambda c: (-scores[c], rank.get(c, 99)))
                 if c != primary and scores[c] > 0]
    action = next((s.action for s in chosen if s.kind == "fact" and s.action), None)
    owner = next((s.owner for s in chosen if s.kind == "fact" and s.owner), None) or next(
        (s.owner for s in chosen if s.kind in ("carc", "rarc") and s.owner), None)
    if trace is not None:
        trace.scores = scores
        trace.decision = (f"highest score {best:.2f}" + (
            f"; tie between {', '.join(sorted(tied))} broken by precedence" if len(tied) > 1
            else ""))
    used = chosen + [s for s in signals if s.category in NON_DENIAL]
    return _result(record, rules, Category(primary), secondary, confidence,
                   [s.evidence for s in used], action, owner, used)


def _result(record: DenialRecord, rules: Rules, category: Category, secondary: list[Secondary],
            confidence: float, evidence: list[str], action: str | None,
            owner: str | None, used: list[Signal]) -> Classification:
    """`used`: the signals whose evidence it gives (their rule ids go with it)."""
    rule = rules.categories[category]
    # Every value here comes from validated rules and tables: construct without re-validating.
    return Classification.model_construct(
        claim_id=record.claim_id, line_number=record.line_number, category=category,
        secondary=secondary, confidence=confidence, evidence=evidence,
        action=Action(action) if action else rule.action,
        owner=Owner(owner) if owner else rule.owner,
        appealable=rule.appealable,
        bucket=Bucket.model_construct(fix_now=rule.fix_now, fix_cause=rule.fix_cause),
        rules=list(dict.fromkeys(s.rule for s in used if s.rule)),
    )

