from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
X12 = DATA / "x12"
SAMPLES = Path(__file__).parent.parent / "appeals" / "data" / "samples"


@pytest.fixture
def dev_csv() -> Path:
    return DATA / "denials.csv"
