"""Fuzz the readers for a while: damaged 835s and CSVs, each checked against an oracle.

    python benchmarks/fuzz_readers.py --minutes 5 [--seed 1]

Each file is a bundled or generated input with a few random mutations (byte flips, a cut at a
random place, segments or lines dropped, repeated or moved, a stray quote or delimiter, a tag
garbled). What counts as a failure:

- an escape: `read()` raised anything but the project's own InputError;
- a silent loss: a claim or row the oracle sees in the damaged file ends neither as a record nor
  named in a reject;
- a wrong patient: a record whose patient is not the one its claim came with (835) or whose
  member id belongs to another row (CSV).

Not a test: the figures go in the README. The first failing file of each kind is saved under
--keep (default /tmp/fuzz_failures) to be turned into a test.
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import re
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

from appeals.intake import InputError, read
from appeals.models import DenialRecord, Reject
from appeals.synthetic.remits import write_835

CONTROL = re.compile(r"[\x00-\x1f\x7f]")  # the readers drop control characters from text
SAMPLES = Path(__file__).resolve().parent.parent / "appeals" / "data" / "samples"


def sources(seed: int) -> list[tuple[str, str]]:
    """(kind, text) of the inputs to damage: the public 835 samples, generated 835s, CSVs."""
    out = [("835", p.read_text(encoding="latin-1")) for p in sorted(SAMPLES.iterdir())
           if p.suffix in (".835", ".txt")]
    for n in range(3):
        buf = io.StringIO()
        write_835(buf, claims=8 + 4 * n, lines_per_claim=1 + n, seed=seed + n, denial_share=0.6)
        out.append(("835", buf.getvalue()))
    for rows in (5, 20):
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["claim_id", "member_id", "patient_name", "adjustment_codes",
                    "denial_reason", "billed_amount", "service_date"])
        for n in range(1, rows + 1):
            w.writerow([f"R{n:04d}", f"M{n:04d}", f"Pat {n:04d}", "CO-50",
                        f"Reason {n}, see notes", "150.00", "2026-05-04"])
        out.append(("csv", buf.getvalue()))
    return out


def mutate(kind: str, text: str, rng: random.Random) -> str:
    sep = "~" if kind == "835" else "\n"
    for _ in range(rng.randint(1, 4)):
        units = text.split(sep)
        op = rng.choice(["flip", "cut", "drop", "repeat", "move", "stray", "garble"])
        i = rng.randrange(len(units))
        if op == "flip" and text:
            at = rng.randrange(len(text))
            # No digit or letter that could turn one member id into another: no reader can
            # see that, and it is not what the oracle checks.
            text = text[:at] + rng.choice('"*~:|,\n\x00\u00e9') + text[at + 1:]
            continue
        if op == "cut":
            return text[:rng.randrange(len(text) + 1)]
        if op == "drop":
            del units[i]
        elif op == "repeat":
            units.insert(i, units[i])
        elif op == "move":
            units.insert(rng.randrange(len(units)), units.pop(i))
        elif op == "stray":
            unit = units[i]
            at = rng.randrange(len(unit) + 1)
            units[i] = unit[:at] + rng.choice(['"', ",", "*", "~"]) + unit[at:]
        else:
            unit = units[i].lstrip()
            units[i] = unit[1:] if len(unit) > 3 else unit
        text = sep.join(units)
    return text


def ident(value: str) -> str:
    """An id compared without control characters or spaces (the readers drop the former)."""
    return "".join(CONTROL.sub("", value).split())


def patients_835(text: str) -> dict[str, set[str]]:
    """Oracle: claim id -> the words of the patient names (NM1*QC) the claim's segments give."""
    out: dict[str, set[str]] = {}
    head = text.lstrip()[:106]
    element = head[3] if head.startswith("ISA") and len(head) > 3 else "*"
    claim = None
    for seg in re.split(r"~", text):
        e = seg.strip().split(element)
        if e[0] == "CLP":
            claim = ident(e[1]) if len(e) > 1 else ""
            out.setdefault(claim, set())
        elif e[0] == "NM1" and len(e) > 3 and e[1] == "QC" and claim:
            out[claim].update(" ".join(e[3:6]).split())
        elif e[0] in ("LX", "SE", "PLB", "ST", "GE", "GS", "IEA", "ISA"):
            claim = None  # what follows belongs to no claim until the next CLP
    return out


def check(kind: str, text: str, path: Path) -> str | None:
    """'' when the readers kept the invariant; else the kind of failure."""
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        items = list(read(path))
    except InputError:
        return None
    except Exception:  # noqa: BLE001 (that is what is being counted)
        return "escape:" + traceback.format_exc(limit=1).strip().splitlines()[-1][:120]
    records = [i for i in items if isinstance(i, DenialRecord)]
    rejects = [i for i in items if isinstance(i, Reject)]
    named = " ".join(r.message + " " + r.raw + " " + r.location for r in rejects)
    if kind == "835":
        truth = patients_835(text)
        for r in records:  # the same letters as the claim's own NM1*QC names, in any order
            given = Counter(ident(r.patient_name or ""))
            claim = ident(r.claim_id)
            if claim in truth and truth[claim] and given != Counter(
                    ident("".join(truth[claim]))):
                return "wrong patient"
        read_ids = {ident(r.claim_id) for r in records}
        named = ident(named.encode("latin-1", "replace").decode("unicode_escape", "replace"))
        for claim in truth:
            if claim and claim not in read_ids and claim not in named:
                if len(text) - text.rfind(claim) < 200:
                    continue  # cut just after its CLP: the truncation reject names the file's end
                return "silent loss"
        return None
    for r in records:
        numbers = set(re.findall(r"\d{4}", f"{r.claim_id} {r.member_id or ''} "
                                            f"{r.patient_name or ''}"))
        if len(numbers) > 1:
            return "wrong patient"
    data = [line for line in text.split("\n")[1:] if line.strip().strip('",;|\t')]
    accounted = 0
    for item in records + rejects:  # "row 5" is one line, "rows 6-7" two
        span = re.fullmatch(r"rows (\d+)-(\d+)", item.location or "")
        accounted += int(span[2]) - int(span[1]) + 1 if span else 1
    if accounted < len(data):
        return "silent loss"
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, default=Path(tempfile.gettempdir()) / "fuzz_failures")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    inputs = sources(args.seed)
    tried: Counter[str] = Counter()
    failures: Counter[str] = Counter()
    kept: set[tuple[str, str]] = set()  # (problem, kind) whose first file is saved
    deadline = time.monotonic() + args.minutes * 60
    with tempfile.TemporaryDirectory() as tmp:
        while time.monotonic() < deadline:
            kind, text = rng.choice(inputs)
            damaged = mutate(kind, text, rng)
            tried[kind] += 1
            problem = check(kind, damaged, Path(tmp) / f"f.{'835' if kind == '835' else 'csv'}")
            if problem:
                failures[problem] += 1
                if (problem, kind) not in kept:
                    kept.add((problem, kind))
                    args.keep.mkdir(parents=True, exist_ok=True)
                    name = re.sub(r"\W+", "_", problem)[:40]
                    (args.keep / f"{name}.{kind}").write_text(damaged, encoding="utf-8",
                                                            errors="surrogatepass")
    total = sum(tried.values())
    print(f"{total} damaged files in {args.minutes:g} min ({tried['835']} 835, {tried['csv']} "
          f"CSV); escapes: {sum(v for k, v in failures.items() if k.startswith('escape'))}, "
          f"silent losses: {failures['silent loss']}, wrong patient: {failures['wrong patient']}")
    for problem, count in failures.most_common():
        print(f"  {count:6d}  {problem}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
