"""Where personal data sits in a string: the built-in detectors.

Each detector finds *candidates* with a regular expression and keeps those a
validator accepts, as Presidio's pattern recognizers do — so that the patterns can
stay simple and the false positives that matter for a monitoring platform (model
versions, dates, times, request and trace ids) are refused by a rule, not by luck:

- **email**: ``local@domain.tld`` with a letters-only top-level domain;
- **card**: 13–19 digits, optionally grouped by single spaces or hyphens, starting
  with 2–6 (the major industry identifiers of the card networks: Mastercard's 2-
  and 5-series, Amex, Diners and JCB's 3, Visa's 4, Discover, UnionPay and
  Maestro's 6), and passing the Luhn check. A run of digits that fails Luhn is
  left alone, and so is any number of another length or first digit;
- **phone**: a plausible shape, never a bare run of digits (which is as likely an
  id): E.164 (``+`` country code, 8–15 digits, grouping allowed), the North
  American ``(555) 123-4567`` / ``555-123-4567`` / ``555.123.4567``, or a national
  number with a trunk ``0`` and separators (``020 7946 0958``, ``06-12345678``,
  ``01 23 45 67 89``), 10–11 digits. Dates (``2024-01-15``, ``01/15/2024 10:30``),
  times, versions and IPv4 addresses do not fit these shapes;
- **ip**: IPv4 and IPv6 addresses that the standard library's `ipaddress` parses
  (``10.1.2.3``, ``2001:db8::1``); ``12:30:45`` and ``1.2.300.4`` are not
  addresses. Off by default: a four-part version such as ``1.2.3.4`` is a valid
  IPv4 address.

`find_spans` returns every accepted match with a *normal form* — the text that
identifies the value whatever its spelling (an email in lower case, a card's or a
phone's digits, an address as `ipaddress` prints it) — so that a keyed hash of it
is the same for ``Bob@Example.com`` and ``bob@example.com``.
"""

from __future__ import annotations

__all__ = ["PiiKind", "PiiSpan", "find_spans", "luhn_valid"]

import ipaddress
import re
from collections.abc import Callable, Iterable, Iterator
from enum import StrEnum
from typing import NamedTuple


class PiiKind(StrEnum):
    """The built-in detectors, by the stable names settings and masks use."""

    EMAIL = "email"
    CARD = "card"
    PHONE = "phone"
    IP = "ip"


class PiiSpan(NamedTuple):
    """One piece of personal data in a string: ``text[start:end]``, what detected
    it (a `PiiKind` value or a custom pattern's name) and its normal form. (A named
    tuple: a new value's scan makes several, and a tuple is the cheapest to make.)"""

    start: int
    end: int
    kind: str
    normal: str


# The digits are ASCII on purpose: ``\d`` would also take Arabic-Indic and other
# Unicode digits, which Luhn and the phone shapes do not describe.
_EMAIL = re.compile(
    r"(?<![\w.%+\-])[\w.%+\-]{1,64}@"
    r"(?:[^\W_](?:[\w\-]{0,61}[^\W_])?\.)+[^\W\d_]{2,63}(?![\w\-])"
)
# Not after a letter, digit, '+' (an E.164 phone) or '.' (a decimal fraction);
# not followed by more digits or a decimal part.
_CARD = re.compile(r"(?<![\w+.])[2-6](?:[ \-]?[0-9]){12,18}(?![\w]|[.,][0-9])")
_PHONE_E164 = re.compile(
    r"(?<![\w+])\+[1-9](?:[ .\-]?(?:\([0-9]{1,4}\)|[0-9])){6,14}(?![\w]|[.,][0-9])"
)
_PHONE_NANP = re.compile(
    r"(?<![\w+.\-])(?:1[ .\-])?(?:\([2-9][0-9]{2}\)[ .\-]?|[2-9][0-9]{2}[ .\-])"
    r"[0-9]{3}[ .\-][0-9]{4}(?![\w]|[.\-:/][0-9])"
)
_PHONE_TRUNK = re.compile(
    r"(?<![\w+.\-/])(?:\(0[1-9][0-9]{0,3}\)[ .\-/]?|0[1-9][0-9]{0,3}[ .\-/])"
    r"[0-9]{2,8}(?:[ .\-][0-9]{2,4}){0,3}(?![\w]|[.\-:/][0-9])"
)
_IPV4 = re.compile(r"(?<![\w.])(?:[0-9]{1,3}\.){3}[0-9]{1,3}(?![\w]|\.[0-9])")
_IPV6 = re.compile(
    r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}"
    r"(?:(?:[0-9]{1,3}\.){3}[0-9]{1,3}|[0-9A-Fa-f]{1,4})?(?![\w:])"
)
_NOT_DIGIT = re.compile(r"[^0-9]")
_DIGIT = re.compile(r"[0-9]")

CARD_DIGITS = (13, 19)
E164_DIGITS = (8, 15)
"""E.164 allows 15 digits with the country code; fewer than 8 is rarely a number."""
TRUNK_DIGITS = (10, 11)
"""National numbers with a trunk 0: 10 digits (France, Germany's common lengths,
the Netherlands) or 11 (the United Kingdom)."""


def luhn_valid(digits: str) -> bool:
    """Whether a string of ASCII digits passes the Luhn (mod 10) check that every
    payment card number passes."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _emails(text: str) -> Iterator[PiiSpan]:
    for match in _EMAIL.finditer(text):
        yield PiiSpan(match.start(), match.end(), PiiKind.EMAIL, match.group().lower())


def _cards(text: str) -> Iterator[PiiSpan]:
    for match in _CARD.finditer(text):
        digits = _NOT_DIGIT.sub("", match.group())
        low, high = CARD_DIGITS
        if low <= len(digits) <= high and luhn_valid(digits):
            yield PiiSpan(match.start(), match.end(), PiiKind.CARD, digits)


def _phones(text: str) -> Iterator[PiiSpan]:
    for match in _PHONE_E164.finditer(text):
        digits = _NOT_DIGIT.sub("", match.group())
        if E164_DIGITS[0] <= len(digits) <= E164_DIGITS[1]:
            yield PiiSpan(match.start(), match.end(), PiiKind.PHONE, "+" + digits)
    for match in _PHONE_NANP.finditer(text):
        digits = _NOT_DIGIT.sub("", match.group())
        national = digits[1:] if len(digits) == 11 else digits
        yield PiiSpan(match.start(), match.end(), PiiKind.PHONE, "+1" + national)
    for match in _PHONE_TRUNK.finditer(text):
        digits = _NOT_DIGIT.sub("", match.group())
        if TRUNK_DIGITS[0] <= len(digits) <= TRUNK_DIGITS[1]:
            yield PiiSpan(match.start(), match.end(), PiiKind.PHONE, digits)


def _addresses(text: str) -> Iterator[PiiSpan]:
    if "." in text:
        for match in _IPV4.finditer(text):
            try:
                address = ipaddress.IPv4Address(match.group())
            except ValueError:
                continue
            yield PiiSpan(match.start(), match.end(), PiiKind.IP, str(address))
    if ":" in text:
        for match in _IPV6.finditer(text):
            try:
                v6 = ipaddress.IPv6Address(match.group())
            except ValueError:
                continue
            yield PiiSpan(match.start(), match.end(), PiiKind.IP, str(v6))


Finder = Callable[[str], Iterator[PiiSpan]]

FINDERS: dict[PiiKind, Finder] = {
    PiiKind.EMAIL: _emails,
    PiiKind.CARD: _cards,
    PiiKind.PHONE: _phones,
    PiiKind.IP: _addresses,
}
"""Each built-in detector's finder, in the order overlapping matches are preferred
(after length: the longer match wins)."""

# What a string must hold for a detector to have anything to find, given the string
# and how many ASCII digits it holds: checked before the detector's patterns run,
# so that scanning a value costs one pattern or none for most strings.
_MAY_HOLD: dict[PiiKind, Callable[[str, int], bool]] = {
    PiiKind.EMAIL: lambda text, _: "@" in text,
    PiiKind.CARD: lambda _, digits: digits >= CARD_DIGITS[0],
    PiiKind.PHONE: lambda _, digits: digits >= E164_DIGITS[0],
    PiiKind.IP: lambda text, digits: (digits >= 4 and "." in text) or text.count(":") >= 2,
}


def find_spans(
    text: str, kinds: Iterable[PiiKind], custom: Iterable[tuple[str, re.Pattern[str]]] = ()
) -> list[PiiSpan]:
    """The personal data in ``text`` that the detectors ``kinds`` and the ``custom``
    patterns (name, compiled pattern) find, in order and without overlaps: where two
    matches overlap, the longer is kept (an email that holds digits stays one email),
    and at equal length the custom pattern, then the earlier detector of `FINDERS`."""
    found: list[tuple[int, int, int, PiiSpan]] = []
    rank = 0
    for name, pattern in custom:
        for match in pattern.finditer(text):
            if match.end() > match.start():
                span = PiiSpan(match.start(), match.end(), name, match.group())
                found.append((span.start, -(span.end - span.start), rank, span))
        rank += 1
    digits = len(_DIGIT.findall(text))
    for kind, finder in FINDERS.items():
        if kind in kinds and _MAY_HOLD[kind](text, digits):
            for span in finder(text):
                found.append((span.start, -(span.end - span.start), rank, span))
        rank += 1
    if len(found) <= 1:
        return [entry[3] for entry in found]
    found.sort(key=lambda entry: entry[:3])
    kept: list[PiiSpan] = []
    for _, _, _, span in found:
        if kept and span.start < kept[-1].end:
            last = kept[-1]
            if span.end - span.start > last.end - last.start:
                kept[-1] = span  # a longer match that starts inside the last one
            continue
        kept.append(span)
    return kept
