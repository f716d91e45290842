"""The pure masking rules, checked over generated input with hypothesis."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from huitouke.core.pii import (
    Masker,
    is_contact_like,
    mask_address,
    mask_email,
    mask_identifier,
    mask_phone,
    name_from_handle,
)

digits = st.text(alphabet="0123456789", min_size=1, max_size=20)
phones = st.one_of(digits, st.text(alphabet="0123456789+-*() ", min_size=1, max_size=24), st.text(max_size=30))
local_parts = st.text(alphabet=st.characters(blacklist_characters="@", blacklist_categories=["Cs"]), max_size=30)
domains = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=30)
regions = st.sampled_from(["", "浙江省杭州市", "北京市北京市", "广东省深圳市", "ON Toronto"])
streets = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=60)


def exposed(masked: str) -> int:
    return sum(c != "*" for c in masked)


def test_examples_from_the_spec():
    assert mask_phone("13812345678") == "138****5678"
    assert mask_email("zhang@example.com") == "z***@example.com"
    assert mask_address("浙江省杭州市西湖区文三路1号", keep="浙江省杭州市") == "浙江省杭州市****"


@pytest.mark.parametrize("mask", [mask_phone, mask_email, mask_address])
def test_empty_stays_empty(mask):
    assert mask("") == ""


@given(digits)
@example("13812345678")
@example("12345678")
def test_phone_shows_at_most_the_first_three_and_last_four_digits(phone):
    masked = mask_phone(phone)

    if len(phone) >= 8:
        assert masked == phone[:3] + "****" + phone[-4:]
        hidden = phone[3:-4]
        assert masked[3:-4] == "****"
        assert hidden not in masked[3:-4]
    elif len(phone) >= 5:
        assert masked == phone[:1] + "*" * (len(phone) - 3) + phone[-2:]
    else:
        assert masked == "*" * len(phone)
    assert phone not in masked
    assert exposed(masked) <= min(7, len(phone) - 1)


@given(phones)
@example("138****5678")
@example(" 13812345678 ")
def test_phone_masking_is_idempotent(phone):
    once = mask_phone(phone)

    assert mask_phone(once) == once


@given(local_parts.filter(lambda s: len(s) >= 2), domains)
def test_email_hides_all_but_the_first_character_of_the_local_part(local, domain):
    masked = mask_email(f"{local}@{domain}")

    assert masked == f"{local[0]}***@{domain}"
    assert f"{local}@" not in masked


@given(local_parts.filter(bool), domains, st.booleans())
@example("z", "example.com", True)
def test_email_masking_is_idempotent(local, domain, with_at):
    once = mask_email(f"{local}@{domain}" if with_at else local)

    assert mask_email(once) == once


@given(local_parts.filter(lambda s: len(s) >= 2))
def test_text_without_at_is_masked_like_a_local_part(local):
    assert mask_email(local) == local[0] + "***"


@given(regions, streets)
def test_address_keeps_only_the_region(region, street):
    masked = mask_address(region + street, keep=region)

    if region:
        assert masked == region + "****"
    else:
        assert exposed(masked) <= max(len(street) // 2, 1)
    if len(street) >= 2 and "*" not in street:
        assert street not in masked


@given(regions, streets)
@example("浙江省杭州市", "****")
def test_address_masking_with_a_region_is_idempotent(region, street):
    once = mask_address(region + street, keep=region)

    if region:
        assert mask_address(once, keep=region) == once


@given(st.text(min_size=2, max_size=80))
def test_address_without_a_region_shows_at_most_six_characters_and_half(value):
    masked = mask_address(value)

    assert masked.endswith("****")
    shown = masked[: -len("****")]
    assert value.startswith(shown)
    assert len(shown) <= min(6, len(value) // 2)
    # masking an already masked value shows nothing the first mask did not
    assert masked.startswith(mask_address(masked)[:-4])


@given(phones, local_parts, streets)
def test_masker_with_the_permission_returns_values_unchanged(phone, email, address):
    masker = Masker(unmasked=True)

    assert (masker.phone(phone), masker.email(email), masker.address(address)) == (phone, email, address)


@given(phones, local_parts, regions, streets)
def test_masker_without_the_permission_applies_the_rules(phone, email, region, street):
    masker = Masker(unmasked=False)

    assert masker.phone(phone) == mask_phone(phone)
    assert masker.email(email) == mask_email(email)
    assert masker.address(region + street, keep=region) == mask_address(region + street, keep=region)


# --- identifiers: buyer handles, "platform:handle" addresses, display names (issue 14, item 1) ----------------

handle_text = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=40)
plain_handles = handle_text.filter(lambda s: "@" not in s and not re.search(r"[0-9]{7}", s))
simple_locals = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789._-+", min_size=2, max_size=20)
simple_domains = st.from_regex(r"[a-z]{1,10}\.(com|cn|net)", fullmatch=True)
long_numbers = st.from_regex(r"\+?[0-9]{7,15}", fullmatch=True)


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("hwilson@yahoo.com", "h***@yahoo.com"),
        ("shopify:hwilson@gmail.com", "shopify:h***@gmail.com"),
        ("13601230792", "136****0792"),
        ("pdd:13601230792", "pdd:136****0792"),
        ("张三|13812345678", "张三|138****5678"),
        ("张三|138****5678", "张三|138****5678"),
        ("abc@", "a***@"),
        ("小鱼爱喝茶", "小鱼爱喝茶"),
        ("tb_88241", "tb_88241"),
        ("id:1042", "id:1042"),
        ("", ""),
    ],
)
def test_identifier_examples(value, masked):
    assert mask_identifier(value) == masked
    assert Masker(unmasked=False).identifier(value) == masked
    assert Masker(unmasked=True).identifier(value) == value


@given(plain_handles)
def test_an_identifier_without_contact_data_is_shown_as_it_is(value):
    assert not is_contact_like(value)
    assert mask_identifier(value) == value


@given(handle_text, simple_locals, simple_domains, handle_text)
def test_an_email_inside_an_identifier_shows_only_its_first_character_and_domain(before, local, domain, after):
    value = f"{before} {local}@{domain} {after}"
    masked = mask_identifier(value)

    assert f"{local}@" not in masked
    assert f" {local[0]}***@{domain} " in masked


@given(handle_text, long_numbers, handle_text)
@example("", "13601230792", "")
def test_no_phone_survives_in_an_identifier(before, number, after):
    masked = mask_identifier(f"{before} {number} {after}")

    assert re.search(r"[0-9]{7}", masked) is None
    assert number not in masked


@given(handle_text)
@example("a@b@c")
@example("@x 1234567@")
def test_identifier_masking_is_idempotent_and_hides_every_phone(value):
    once = mask_identifier(value)

    assert mask_identifier(once) == once
    assert re.search(r"[0-9]{7}", once) is None


@pytest.mark.parametrize(
    ("channel", "value", "masked"),
    [
        ("sms", "13601230792", "136****0792"),
        ("email", "hwilson@yahoo.com", "h***@yahoo.com"),
        ("manual", "shopify:hwilson@yahoo.com", "shopify:h***@yahoo.com"),
        ("manual", "taobao:小鱼爱喝茶", "taobao:小鱼爱喝茶"),
        ("manual", "13601230792", "136****0792"),
        ("webhook", "https://hooks.example.com/alert", "https://hooks.example.com/alert"),
        ("sms", "", ""),
    ],
)
def test_message_addresses(channel, value, masked):
    assert Masker(unmasked=False).to_address(channel, value) == masked
    assert Masker(unmasked=True).to_address(channel, value) == value


@pytest.mark.parametrize(
    ("handle", "real_name", "name"),
    [
        ("小鱼爱喝茶", "张凡", "小鱼爱喝茶"),  # a 淘宝会员名 is the name
        ("hwilson@yahoo.com", "Harry Wilson", "Harry Wilson"),
        ("hwilson@yahoo.com", "", "h***@yahoo.com"),
        ("13601230792", "", "136****0792"),
        ("13601230792", "13601230792", "136****0792"),  # a real name that is a phone is no better
    ],
)
def test_a_name_made_from_a_handle_never_holds_contact_data(handle, real_name, name):
    assert name_from_handle(handle, real_name) == name
