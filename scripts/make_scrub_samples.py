"""Write the scrub's bundled sample: claims.837 (one claim for each edit, and clean ones),
roster.csv and auths.csv in appeals/data/samples/. Run it again after changing the scenarios;
tests/scrub/test_scrub.py holds the findings they must give (as of 2026-07-01).

    python scripts/make_scrub_samples.py
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from appeals.synthetic.claims import Claim, Line, write_837

SAMPLES = Path(__file__).resolve().parent.parent / "appeals" / "data" / "samples"
BR, TH, RL = "Blue Ridge Health", "Tar Heel Medicaid Plan", "Rushmore Life"
LEE = ("LEE", "SAM", "1245319599")  # enrolled everywhere, license current
PARK = ("PARK", "ROBIN", "1093817465")  # Rushmore Life enrolment starts 2026-07-01
ORTIZ = ("ORTIZ", "DANA", "1376541238")  # license expired 2026-05-31
D = date(2026, 6, 15)

CLAIMS = [
    Claim("S01", BR, "BR0001", D, (Line("90837"),)),  # clean
    Claim("S02", BR, "BR0002", D, (Line("90834"),), place="10"),  # telehealth, no modifier
    Claim("S03", BR, "BR0003", D, (Line("90834", ("95",)),)),  # 95 with an office visit
    Claim("S04", TH, "TH0004", D, (Line("H0015"),), auth="TH-A4"),  # Tar Heel wants HF
    Claim("S05", BR, "BR0005", D, (Line("90833"),)),  # add-on alone
    Claim("S06", BR, "BR0006", D, (Line("99214"), Line("90833"))),  # add-on with its E/M: clean
    Claim("S07", BR, "BR0007", D, (Line("90837", units=2),)),  # two units of a session
    Claim("S08", BR, "BR0008", D, (Line("90834"),), diagnoses=("F33",)),  # a category
    Claim("S09", BR, "BR0009", D, (Line("90834"),), diagnoses=("F337",)),  # no such code
    Claim("S10", BR, "BR0010", D, (Line("90834"),), diagnoses=()),  # no diagnosis
    Claim("S11", TH, "TH0011", D, (Line("S9480", ("HF",)),)),  # IOP, no authorization
    Claim("S12", TH, "TH0012", D, (Line("H0035", ("HF",)),), auth="TH-A12"),  # auth ended
    Claim("S13", TH, "TH0013", D, (Line("H0015", ("HF",), day=date(2026, 6, 15)),
                                   Line("H0015", ("HF",), day=date(2026, 6, 16)),
                                   Line("H0015", ("HF",), day=date(2026, 6, 17))),
          auth="TH-A13"),  # two units left, three billed
    Claim("S14", RL, "RL0014", D, (Line("90837"),), renderer=PARK),  # not yet enrolled
    Claim("S15", RL, "RL0015", D, (Line("90837"),), renderer=ORTIZ),  # license expired
    Claim("S16", RL, "RL0016", date(2026, 3, 1), (Line("90837"),)),  # past 90 days
    Claim("S17", RL, "RL0017", date(2026, 4, 15), (Line("90837"),)),  # 14 days left
    Claim("S18", BR, "BR0001", D, (Line("90837"),)),  # S01 again
    Claim("S19", BR, "BR0019", D, (Line("90834"),), auth="NOPE-1"),  # unknown auth number
]

ROSTER = """provider_npi,provider_name,payer_name,effective_from,effective_to,license_type,license_expires
1245319599,Sam Lee,Blue Ridge Health,2024-01-01,,LCSW,2027-12-31
1245319599,Sam Lee,Tar Heel Medicaid Plan,2024-01-01,,LCSW,2027-12-31
1245319599,Sam Lee,Rushmore Life,2024-01-01,,LCSW,2027-12-31
1093817465,Robin Park,Rushmore Life,2026-07-01,,LPC,2028-06-30
1376541238,Dana Ortiz,Rushmore Life,2023-01-01,,LMFT,2026-05-31
"""

AUTHS = """member_id,payer_name,auth_number,cpt_codes,start,end,units,units_used,next_review
TH0004,Tar Heel Medicaid Plan,TH-A4,H0015,2026-06-01,2026-06-30,20,4,2026-06-22
TH0012,Tar Heel Medicaid Plan,TH-A12,H0035,2026-05-01,2026-06-10,10,10,
TH0013,Tar Heel Medicaid Plan,TH-A13,H0015,2026-06-01,2026-07-15,12,10,2026-07-08
"""


def main() -> None:
    write_837(SAMPLES / "claims.837", CLAIMS)
    (SAMPLES / "roster.csv").write_text(ROSTER, encoding="utf-8")
    (SAMPLES / "auths.csv").write_text(AUTHS, encoding="utf-8")


if __name__ == "__main__":
    main()
