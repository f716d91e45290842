"""Short signed link tokens: the same signature as django.core.signing, and nothing else reads as valid."""

from __future__ import annotations

from django.core import signing
from hypothesis import given
from hypothesis import strategies as st

from huitouke.core.links import ShortSigner, b36, short_token, short_token_value


@given(st.integers(min_value=0, max_value=2**63))
def test_b36_round_trips(n):
    assert int(b36(n), 36) == n


@given(st.integers(min_value=0, max_value=2**63), st.sampled_from(["a", "huitouke.customers.preferences"]))
def test_a_token_carries_its_value_under_its_salt_only(n, salt):
    value = b36(n)
    token = short_token(salt, value)
    assert token == f"{value}.{signing.Signer(salt=salt, algorithm='sha256').signature(value)[:12]}"
    assert short_token_value(salt, token) == value
    assert short_token_value(salt + "x", token) is None


def test_cut_forged_or_odd_tokens_read_as_none():
    signer = ShortSigner("s")
    token = signer.sign("1z")
    for bad in ("", "1z", token[:-1], token + "a", "1y" + token[2:], token.upper(), f"{'9' * 15}.{token[3:]}"):
        assert signer.value(bad) is None
