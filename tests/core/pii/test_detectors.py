"""The built-in detectors find personal data in the shapes it takes, and leave
alone the look-alikes a monitoring platform is full of: versions, dates, times,
ids, and numbers that fail the checks."""

from __future__ import annotations

import pytest

from monitorx.core.pii import PiiKind, find_spans, luhn_valid

ALL = frozenset(PiiKind)


def _found(text: str, kinds: frozenset[PiiKind] = ALL) -> list[tuple[str, str]]:
    return [(s.kind, text[s.start : s.end]) for s in find_spans(text, kinds)]


@pytest.mark.parametrize(
    ("text", "email"),
    [
        ("bob@example.com", "bob@example.com"),
        ("first.last+tag@mail.example.co.uk", "first.last+tag@mail.example.co.uk"),
        ("contact: Alice_99@Example.ORG, thanks", "Alice_99@Example.ORG"),
        ("<jose@müller.de>", "jose@müller.de"),
    ],
)
def test_an_email_is_found_alone_or_in_text(text: str, email: str) -> None:
    assert _found(text) == [("email", email)]


@pytest.mark.parametrize(
    "text", ["user@localhost", "a@b.c", "@handle", "me@2024", "name at example dot com"]
)
def test_a_string_that_is_no_email_address_is_not_one(text: str) -> None:
    assert _found(text, frozenset({PiiKind.EMAIL})) == []


# The card networks' published test numbers: each passes Luhn.
CARDS = [
    "4111111111111111",  # Visa
    "4012888888881881",  # Visa
    "4222222222222",  # Visa, 13 digits
    "5555555555554444",  # Mastercard
    "2223003122003222",  # Mastercard 2-series
    "378282246310005",  # American Express
    "371449635398431",  # American Express
    "6011111111111117",  # Discover
    "3530111333300000",  # JCB
    "30569309025904",  # Diners Club, 14 digits
    "6200000000000005",  # UnionPay
    "4111 1111 1111 1111",
    "4111-1111-1111-1111",
    "3782 822463 10005",
]


@pytest.mark.parametrize("card", CARDS)
def test_a_card_number_that_passes_luhn_is_found(card: str) -> None:
    assert _found(f"paid with {card} today") == [("card", card)]


@pytest.mark.parametrize(
    "number",
    [
        "4111111111111112",  # each of these is a test card with its last digit changed
        "5555555555554445",
        "378282246310006",
        "6011 1111 1111 1118",
    ],
)
def test_a_card_shaped_number_that_fails_luhn_is_not_masked(number: str) -> None:
    assert not luhn_valid(number.replace(" ", ""))
    assert _found(number) == []


@pytest.mark.parametrize(
    "text",
    [
        "7992739871300008",  # first digit 7: no card network; passes Luhn
        "9411111111111117",  # first digit 9; passes Luhn
        "1234567812345670",  # first digit 1; passes Luhn
        "411111111111",  # 12 digits
        "41111111111111111111",  # 20 digits
        "0.4111111111111111",  # a fraction
        "4111111111111111.5",
        "build-x4111111111111111",  # inside a word
    ],
)
def test_a_number_of_another_shape_is_not_a_card(text: str) -> None:
    digits = "".join(c for c in text if c.isdigit())
    assert _found(text, frozenset({PiiKind.CARD})) == [], (digits, luhn_valid(digits))


def test_the_look_alikes_above_pass_luhn_so_their_shape_is_what_refuses_them() -> None:
    assert all(luhn_valid(n) for n in ("7992739871300008", "9411111111111117", "1234567812345670"))


def test_luhn_check() -> None:
    assert luhn_valid("79927398713")
    assert not luhn_valid("79927398710")
    assert luhn_valid("0")


@pytest.mark.parametrize(
    "phone",
    [
        "+15551234567",
        "+1 555 123 4567",
        "+1-555-123-4567",
        "+44 20 7946 0958",
        "+49 (0)30 1234567",
        "+33 1 23 45 67 89",
        "(555) 123-4567",
        "555-123-4567",
        "555.123.4567",
        "1-555-123-4567",
        "020 7946 0958",
        "06-12345678",
        "01 23 45 67 89",
        "(030) 1234567",
        "089/12345678",
    ],
)
def test_a_phone_number_of_a_plausible_shape_is_found(phone: str) -> None:
    assert _found(f"call {phone} now", frozenset({PiiKind.PHONE})) == [("phone", phone)]


@pytest.mark.parametrize(
    "text",
    [
        "2024-01-15",
        "2024-01-15 10:30:00",
        "2024-01-15T10:30:00Z",
        "01/15/2024 10:30",
        "15.01.2024 12:00",
        "1.2.3",
        "v2.10.4",
        "12345678",
        "5551234567",  # a bare run of digits is as likely an id
        "+123",
        "10.0.0.1",
        "3.14159",
        "1700000000.123",
        "550e8400-e29b-41d4-a716-446655440000",
        "us-east-1",
        "00:1a:2b:3c:4d:5e",
    ],
)
def test_dates_times_versions_and_ids_are_not_phone_numbers(text: str) -> None:
    assert _found(text, frozenset({PiiKind.PHONE})) == []


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("10.0.0.1", "10.0.0.1"),
        ("from 192.168.1.254:8080", "192.168.1.254"),
        ("2001:db8::1", "2001:db8::1"),
        ("::1", "::1"),
        ("fe80::1%eth0", "fe80::1"),
        ("[2001:db8:85a3::8a2e:370:7334]:443", "2001:db8:85a3::8a2e:370:7334"),
        ("::ffff:192.0.2.1", "::ffff:192.0.2.1"),
    ],
)
def test_an_ip_address_is_found(text: str, address: str) -> None:
    assert _found(text, frozenset({PiiKind.IP})) == [("ip", address)]


@pytest.mark.parametrize(
    "text", ["1.2.300.4", "999.1.1.1", "12:30:45", "00:1a:2b:3c:4d:5e", "std::vector", "1.2.3"]
)
def test_what_ipaddress_does_not_parse_is_no_address(text: str) -> None:
    assert _found(text, frozenset({PiiKind.IP})) == []


def test_an_email_holding_digits_stays_one_email() -> None:
    text = "4111111111111111@example.com"
    assert _found(text) == [("email", text)]


def test_a_detector_that_is_off_finds_nothing() -> None:
    text = "bob@example.com 4111111111111111 +15551234567 10.0.0.1"
    assert [k for k, _ in _found(text, frozenset({PiiKind.PHONE}))] == ["phone"]
    assert _found(text, frozenset()) == []


def test_normal_forms_make_spellings_of_one_value_alike() -> None:
    def normal(text: str) -> str:
        (span,) = find_spans(text, ALL)
        return span.normal

    assert normal("Bob@Example.COM") == normal("bob@example.com")
    assert normal("4111 1111 1111 1111") == normal("4111-1111-1111-1111") == "4111111111111111"
    assert normal("+1 (555) 123-4567") == normal("555-123-4567") == "+15551234567"
    assert normal("2001:DB8:0::1") == normal("2001:db8::1")
