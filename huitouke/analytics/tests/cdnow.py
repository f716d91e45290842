"""The CDNOW sample (Fader, Hardie & Lee 2005) as shipped inside the `lifetimes` wheel, a dev-only dependency.

The file is read from the installed package without importing lifetimes (no pandas/autograd at test time).
"""

from __future__ import annotations

import csv
import importlib.util
import os
from datetime import date
from pathlib import Path

import numpy as np
import pytest

CALIBRATION_END = date(1997, 9, 30)


def sample_path() -> Path:
    spec = importlib.util.find_spec("lifetimes")
    if spec is None or not spec.submodule_search_locations:
        if os.environ.get("CI"):
            pytest.fail("lifetimes (dev extra) is not installed: run scripts/venv.sh")
        pytest.skip("lifetimes (dev extra) is not installed: run scripts/venv.sh")
    return Path(next(iter(spec.submodule_search_locations))) / "datasets" / "CDNOW_sample.txt"


def transactions() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(customer id, day ordinal, dollars) of the 6,919 purchases of the 2,357 sampled customers."""
    customers, days, amounts = [], [], []
    for line in sample_path().read_text().splitlines():
        parts = line.split()
        if not parts:
            continue
        stamp = parts[2]
        customers.append(int(parts[0]))
        days.append(date(int(stamp[:4]), int(stamp[4:6]), int(stamp[6:])).toordinal())
        amounts.append(float(parts[4]))
    return np.array(customers), np.array(days), np.array(amounts)


def write_csv(path: Path) -> Path:
    """The sample as a CSV with a header (customer, date as YYYYMMDD, amount), for the command."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["customer", "date", "amount"])
        for line in sample_path().read_text().splitlines():
            parts = line.split()
            if parts:
                writer.writerow([parts[0], parts[2], parts[4]])
    return path
