"""Sealing, opening, rotating and digesting personal data (pure, no database)."""

from __future__ import annotations

import pickle

import pytest
from cryptography.fernet import Fernet
from hypothesis import given
from hypothesis import strategies as st

from huitouke.core.pii_crypto import PiiCipher, PiiKeyError, is_sealed, phone_last4, phone_normal

OLD, NEW = Fernet.generate_key(), Fernet.generate_key()
_BASE64 = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=*:")


@given(st.text(max_size=300))
def test_a_sealed_value_opens_to_itself_and_never_shows_it(value):
    cipher = PiiCipher([OLD], b"h")
    stored = cipher.seal(value)
    assert cipher.open(stored) == value
    if value:
        assert is_sealed(stored)
        if set(value) - _BASE64:  # a value made of base64 letters may occur in a token by chance
            assert value not in stored
    else:
        assert stored == ""


def test_sealing_twice_gives_different_tokens_and_a_sealed_value_is_not_sealed_again():
    cipher = PiiCipher([OLD], b"h")
    first, second = cipher.seal("13812345678"), cipher.seal("13812345678")
    assert first != second
    assert cipher.seal(first) == first


@pytest.mark.parametrize("value", ["pii1:00000000:AAAA", "piis:deadbeef:xyz", "*pii1:", "pii1:"])
def test_text_that_looks_like_a_token_is_sealed_like_any_other(value):
    cipher = PiiCipher([OLD], b"h")
    stored = cipher.seal(value)
    assert stored != value
    assert cipher.open(stored) == value
    assert cipher.open(cipher.seal_fixed(value)) == value


def test_a_masked_value_is_marked_so_sql_can_tell_it():
    cipher = PiiCipher([OLD], b"h")
    stored = cipher.seal("138****5678")
    assert stored.startswith("*pii1:")
    assert cipher.open(stored) == "138****5678"
    assert not cipher.seal("13812345678").startswith("*")


def test_clear_text_stored_before_encryption_is_read_as_it_is():
    cipher = PiiCipher([OLD], b"h")
    assert cipher.open("13812345678") == "13812345678"
    assert cipher.open("") == ""
    assert not cipher.is_current("13812345678")
    assert cipher.is_current("")


def test_rotation_new_key_first_reads_old_tokens_and_reseal_moves_them():
    old = PiiCipher([OLD], b"h")
    rotated = PiiCipher([NEW, OLD], b"h")
    stored = old.seal("浙江省杭州市西湖区文三路1号")

    assert rotated.open(stored) == "浙江省杭州市西湖区文三路1号"
    assert not rotated.is_current(stored)
    moved = rotated.reseal(stored)
    assert rotated.is_current(moved)
    assert rotated.reseal(moved) == moved  # nothing to do the second time
    assert PiiCipher([NEW], b"h").open(moved) == "浙江省杭州市西湖区文三路1号"  # the old key can go
    with pytest.raises(PiiKeyError, match="HUITOUKE_PII_KEYS"):
        PiiCipher([NEW], b"h").open(stored)  # ... but only after the reseal


def test_fixed_tokens_are_equal_for_equal_values_and_rotate_too():
    old, rotated = PiiCipher([OLD], b"h"), PiiCipher([NEW, OLD], b"h")
    a, b = old.seal_fixed("浙江省杭州市文三路1号"), old.seal_fixed("浙江省杭州市文三路1号")
    assert a == b
    assert a.startswith("piis:")
    assert a != old.seal_fixed("浙江省杭州市文三路2号")
    assert old.seal_fixed("138****0000").startswith("*piis:")
    moved = rotated.reseal(a)
    assert moved.startswith("piis:")
    assert moved == rotated.seal_fixed("浙江省杭州市文三路1号")
    assert PiiCipher([NEW], b"h").open(moved) == "浙江省杭州市文三路1号"
    assert rotated.reseal_fixed("13812345678") == rotated.seal_fixed("13812345678")  # clear text from before


def test_a_damaged_token_is_an_error_not_garbage():
    cipher = PiiCipher([OLD], b"h")
    stored = cipher.seal("13812345678")
    with pytest.raises(PiiKeyError, match="cannot be decrypted"):
        cipher.open(stored[:-4] + ("AAAA" if not stored.endswith("AAAA") else "BBBB"))


def test_a_key_must_be_32_bytes_of_base64():
    with pytest.raises(ValueError, match="32 bytes"):
        PiiCipher(["not a key"], b"h")


def test_masked_mark_survives_rotation():
    stored = PiiCipher([OLD], b"h").seal("139****0000")
    moved = PiiCipher([NEW, OLD], b"h").reseal(stored)
    assert moved.startswith("*pii1:")
    assert PiiCipher([NEW], b"h").open(moved) == "139****0000"


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("13812345678", "+86 138-1234-5678"),
        ("13812345678", "(138) 1234 5678"),
        ("Zhang@Example.com", " zhang@example.com "),
    ],
)
def test_digests_compare_normalised_values(a, b):
    cipher = PiiCipher([OLD], b"h")
    kind = "email" if "@" in a else "phone"
    assert cipher.digest_of(kind, a) == cipher.digest_of(kind, b)
    assert len(cipher.digest_of(kind, a)) == 32


def test_digests_depend_on_the_hash_key_and_the_kind():
    one, other = PiiCipher([OLD], b"one"), PiiCipher([OLD], b"two")
    assert one.phone_digest("13812345678") != other.phone_digest("13812345678")
    assert one.digest("phone", "5678") != one.digest("last4", "5678")
    assert one.last4_digest("13812345678") == one.last4_digest("5678")
    assert one.digest_of("name", "Tom Li") == one.digest_of("name", "tom li ")
    assert one.phone_digest("") == one.last4_digest("12") == one.email_digest("") == ""
    with pytest.raises(ValueError, match="unknown digest kind"):
        one.digest_of("address", "x")


@pytest.mark.parametrize(
    ("raw", "normal", "last4"),
    [
        ("+86 138-1234-5678", "13812345678", "5678"),
        ("138****5678", "138****5678", "5678"),
        ("1380000****", "1380000****", ""),
        ("123", "123", ""),
        ("", "", ""),
    ],
)
def test_phone_normal_and_last4(raw, normal, last4):
    assert phone_normal(raw) == normal
    assert phone_last4(raw) == last4


def test_a_cipher_pickles_as_its_keys():
    cipher = PiiCipher([NEW, OLD], b"h")
    copy = pickle.loads(pickle.dumps(cipher))
    assert copy.open(cipher.seal("a@b.com")) == "a@b.com"
    assert copy.email_digest("a@b.com") == cipher.email_digest("a@b.com")


def test_a_cipher_needs_a_key():
    with pytest.raises(ValueError, match="at least one"):
        PiiCipher([], b"h")
