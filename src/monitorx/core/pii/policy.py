"""What to mask and how: the masking policy, and the masker that applies it.

A `PiiPolicy` is plain, immutable data — which detectors are on, the custom
patterns, the mode, the hash key and the names never scanned — so that it pickles
to the ingest worker processes and compares equal across them. A `PiiMasker`
compiles one policy and masks strings with it, remembering what it masked: values
repeat (a tag's few values over millions of metrics), so each distinct value is
scanned once.

A masked value keeps its type — a string stays a string — and only the personal
data in it is replaced:

- mode ``redact``: by the detector's name, ``<email>``;
- mode ``hash``: by the name and a keyed hash of the value's normal form,
  ``<email:5f1c0e2a9b7d4c31>`` (HMAC-SHA256, the first `HASH_HEX_CHARS` hex
  digits). The same value always masks to the same text, so a masked column keeps
  its categories — drift tests, group-bys and series stay what they were — while
  without the key nobody can tell which value a mask stands for, even by hashing
  every phone number of a country.

Masking is idempotent: a mask already in a string is never masked again.
"""

from __future__ import annotations

__all__ = [
    "HASH_HEX_CHARS",
    "MASK_CACHE_ENTRIES",
    "CustomPattern",
    "MaskMode",
    "PiiMasker",
    "PiiPolicy",
]

import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from monitorx.core.errors import ValidationError
from monitorx.core.pii.detectors import PiiKind, find_spans

HASH_HEX_CHARS = 16
"""64 bits of the HMAC: two of a million distinct values share a mask with a
probability below 3·10⁻⁸, so masked categories stay apart."""
MASK_CACHE_ENTRIES = 65_536
"""Distinct values a masker remembers; past that it forgets them all and starts
again (values that repeat are back after one scan each)."""

_CUSTOM_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
# A string none of the built-in detectors can match: every one of them needs a
# digit, or the '@' of an email.
_MAY_MATCH_BUILTIN = re.compile(r"[0-9@]")
# A mask already in a string (a value read back from the API and sent again) is
# left as it is, so that masking twice changes nothing: its hex digits could
# otherwise read as a card number.
_MASK = re.compile(rf"<[a-z][a-z0-9_]{{0,31}}(?::[0-9a-f]{{{HASH_HEX_CHARS}}})?>")


class MaskMode(StrEnum):
    """How a piece of personal data is replaced."""

    REDACT = "redact"
    HASH = "hash"


@dataclass(frozen=True, slots=True)
class CustomPattern:
    """A pattern of the operator's own (an employee id, a customer number): every
    match is masked as ``<name>`` or ``<name:hash>``."""

    name: str
    regex: str

    def __post_init__(self) -> None:
        if not _CUSTOM_NAME.match(self.name) or self.name in set(PiiKind):
            raise ValidationError(
                "a custom pattern's name is 1–32 of a–z 0–9 _, starting with a letter, "
                "and not a built-in detector's",
                "pii_custom_patterns",
            )
        try:
            compiled = re.compile(self.regex)
        except re.error as exc:
            raise ValidationError(
                f"{self.name}: not a regular expression: {exc}", "pii_custom_patterns"
            ) from None
        if compiled.match(""):
            raise ValidationError(
                f"{self.name}: the pattern matches the empty string", "pii_custom_patterns"
            )


@dataclass(frozen=True, slots=True)
class PiiPolicy:
    """Which personal data is masked before anything is stored, and how.

    ``exempt_keys`` are tag, label and feature names whose values are stored as
    sent (a ``build_id`` that looks like a card number). ``key`` is the HMAC key of
    mode ``hash``; it never appears in the policy's repr."""

    detectors: frozenset[PiiKind] = frozenset()
    custom: tuple[CustomPattern, ...] = ()
    mode: MaskMode = MaskMode.HASH
    key: bytes = field(default=b"", repr=False)
    exempt_keys: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.mode is MaskMode.HASH and self.enabled and len(self.key) < 16:
            raise ValidationError("mode hash needs a key of at least 16 bytes", "pii_hash_key")

    @property
    def enabled(self) -> bool:
        """Whether anything is masked at all (when not, ingestion skips masking)."""
        return bool(self.detectors or self.custom)

    @classmethod
    def off(cls) -> PiiPolicy:
        """Nothing is masked."""
        return cls()


class PiiMasker:
    """Masks strings as one policy says; each distinct string is scanned once."""

    def __init__(self, policy: PiiPolicy) -> None:
        self.policy = policy
        self._kinds = tuple(k for k in PiiKind if k in policy.detectors)
        self._custom = tuple((p.name, re.compile(p.regex)) for p in policy.custom)
        self._hash = policy.mode is MaskMode.HASH
        self._cache: dict[str, str] = {}

    @property
    def enabled(self) -> bool:
        return self.policy.enabled

    def exempt(self, name: str) -> bool:
        """Whether values under the tag, label or feature ``name`` are kept as sent."""
        return name in self.policy.exempt_keys

    def mask(self, text: str) -> str:
        """``text`` with the personal data in it replaced (equal to ``text`` when
        there is none)."""
        masked = self._cache.get(text)
        if masked is None:
            masked = self._scan(text)
            if len(self._cache) >= MASK_CACHE_ENTRIES:
                self._cache.clear()
            self._cache[text] = masked
        return masked

    def mask_labels(self, labels: Mapping[str, str]) -> dict[str, str] | None:
        """The labels (or tags) with their values masked, except under exempt
        names; None when none changed (the caller keeps its own object)."""
        changed: dict[str, str] | None = None
        exempt = self.policy.exempt_keys
        for name, value in labels.items():
            if name in exempt:
                continue
            masked = self.mask(value)
            if masked is not value and masked != value:
                if changed is None:
                    changed = dict(labels)
                changed[name] = masked
        return changed

    def token(self, kind: str, normal: str) -> str:
        """What one piece of personal data becomes: ``<kind>`` or ``<kind:hash>``."""
        if not self._hash:
            return f"<{kind}>"
        message = kind.encode() + b"\x00" + normal.encode("utf-8", "surrogatepass")
        digest = hmac.digest(self.policy.key, message, "sha256")
        return f"<{kind}:{digest.hex()[:HASH_HEX_CHARS]}>"

    def _scan(self, text: str) -> str:
        kinds = self._kinds if _MAY_MATCH_BUILTIN.search(text) else ()
        if not kinds and not self._custom:
            return text
        spans = find_spans(text, kinds, self._custom)
        if spans and "<" in text:
            masks = [m.span() for m in _MASK.finditer(text)]
            spans = [s for s in spans if not any(s.start < e and b < s.end for b, e in masks)]
        if not spans:
            return text
        pieces: list[str] = []
        at = 0
        for span in spans:
            pieces.append(text[at : span.start])
            pieces.append(self.token(span.kind, span.normal))
            at = span.end
        pieces.append(text[at:])
        return "".join(pieces)
