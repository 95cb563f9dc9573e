"""The decision trace for one line, in words, for `appeals classify --explain`."""

from __future__ import annotations

from appeals.classify.classifier import Trace, classify
from appeals.classify.rules import Rules
from appeals.models import DenialRecord


def explain(record: DenialRecord, rules: Rules) -> str:
    trace = Trace()
    result = classify(record, rules, trace)
    lines = [f"Claim {record.claim_id}, line {record.line_number}"
             + (f" ({record.cpt_code})" if record.cpt_code else ""),
             (f"  codes: {', '.join(record.adjustment_codes) or 'none'}; remarks: "
             f"{', '.join(record.remark_codes) or 'none'}"),
             f"  payer reason: {record.denial_reason or '(none)'}",
             "  signals:"]
    for s in trace.signals or []:
        lines.append(f"    {s.weight:4.2f}  {s.category:<26} {s.evidence}")
    if not trace.signals:
        lines.append("    (none)")
    if trace.scores:
        ranked = sorted(trace.scores.items(), key=lambda kv: -kv[1])
        lines.append("  scores: " + ", ".join(f"{c} {v:.2f}" for c, v in ranked))
    lines.append(f"  decision: {result.category.value} ({trace.decision}); "
                 f"confidence {result.confidence}")
    lines.append(f"  action: {result.action.value}; owner: {result.owner.value}; "
                 f"appealable: {'yes' if result.appealable else 'no'}")
    lines.append(f"  fix now: {result.bucket.fix_now}")
    lines.append(f"  fix the cause: {result.bucket.fix_cause}")
    return "\n".join(lines)
