"""Cost of encrypting personal data at rest, per value, against Fernet (what channel secrets use) in the same run.

    .venv/bin/python benchmarks/pii_crypto.py [--values 20000]

Seals and opens the same phone numbers, emails and addresses with `core.pii_crypto.PiiCipher` (AES-256-GCM for
customers, AES-SIV for orders' delivery details) and with Fernet, and prints microseconds per value and the ratio
to Fernet. An import or export of 1,000,000 customers handles four values each: the figures say what that costs.
Pure: no database, no Django settings.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.fernet import Fernet

from huitouke.core.pii_crypto import PiiCipher


def _per_value(op: Callable[[str], object], values: list[str]) -> float:
    started = time.perf_counter()
    for v in values:
        op(v)
    return (time.perf_counter() - started) / len(values) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--values", type=int, default=20_000)
    args = parser.parse_args()
    n = args.values
    values = [
        v
        for i in range(n)
        for v in (f"13{i % 10}{i:08d}"[:11], f"buyer{i}@example.com", f"浙江省杭州市西湖区文三路{i}号{i % 7}单元")
    ][:n]
    key = Fernet.generate_key()
    cipher = PiiCipher([key], b"digest key")
    fernet = Fernet(key)
    gcm_tokens = [cipher.seal(v) for v in values]
    siv_tokens = [cipher.seal_fixed(v) for v in values]
    fernet_tokens = [fernet.encrypt(v.encode()).decode() for v in values]

    rows = [
        (
            "seal (AES-256-GCM)",
            _per_value(cipher.seal, values),
            _per_value(lambda v: fernet.encrypt(v.encode()), values),
        ),
        ("seal_fixed (AES-SIV)", _per_value(cipher.seal_fixed, values), None),
        ("open GCM token", _per_value(cipher.open, gcm_tokens), _per_value(fernet.decrypt, fernet_tokens)),
        ("open SIV token", _per_value(cipher.open, siv_tokens), None),
        ("phone digest (HMAC-SHA256)", _per_value(cipher.phone_digest, values), None),
    ]
    fernet_seal = rows[0][2] or 1.0
    print(f"values: {n} (phones, emails, addresses); reference: Fernet in the same run")
    print(f"{'operation':<28} | {'µs/value':>8} | {'Fernet µs':>9} | {'ratio':>5} | 1,000,000 customers x 4 values")
    for label, ours, reference in rows:
        ref = reference if reference is not None else fernet_seal
        print(f"{label:<28} | {ours:8.2f} | {ref:9.2f} | {ours / ref:5.2f} | {ours * 4:6.1f} s")


if __name__ == "__main__":
    main()
