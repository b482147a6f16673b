"""A policy masks what it names, the way it names: redacted, or a keyed hash that
is stable for one value and one key and tells nothing without the key."""

from __future__ import annotations

import hashlib
import hmac
import pickle
import re

import pytest

from monitorx.core import ValidationError
from monitorx.core.pii import CustomPattern, MaskMode, PiiKind, PiiMasker, PiiPolicy

KEY = b"k" * 32
HASHED = re.compile(r"<(\w+):[0-9a-f]{16}>")


def _masker(mode: MaskMode = MaskMode.HASH, key: bytes = KEY, **kwargs: object) -> PiiMasker:
    detectors = kwargs.pop("detectors", frozenset(PiiKind))
    return PiiMasker(PiiPolicy(detectors, mode=mode, key=key, **kwargs))  # type: ignore[arg-type]


def test_redact_replaces_each_piece_by_its_kind_and_keeps_the_rest() -> None:
    masker = _masker(MaskMode.REDACT, b"")
    text = "mail bob@example.com or call +1 555 123 4567, card 5555 5555 5555 4444 from 10.0.0.1"
    assert masker.mask(text) == "mail <email> or call <phone>, card <card> from <ip>"


def test_hash_is_the_same_for_the_same_value_and_differs_between_values() -> None:
    masker = _masker()
    first = masker.mask("bob@example.com")
    assert HASHED.fullmatch(first) and first.startswith("<email:")
    assert _masker().mask("Bob@Example.com") == first  # a new masker, the same key
    assert masker.mask("alice@example.com") != first
    assert masker.mask("to bob@example.com") == f"to {first}"


def test_the_hash_is_hmac_sha256_of_the_kind_and_the_normal_form() -> None:
    # Documented (docs/security.md): an operator with the key can compute a mask.
    digest = hmac.new(KEY, b"email\x00bob@example.com", hashlib.sha256).hexdigest()
    assert _masker().mask("Bob@Example.com") == f"<email:{digest[:16]}>"


def test_another_key_gives_other_hashes() -> None:
    assert _masker(key=b"a" * 32).mask("bob@example.com") != _masker().mask("bob@example.com")


def test_a_value_without_personal_data_is_kept_as_sent() -> None:
    masker = _masker()
    for text in ("prod", "v1.2.3", "2024-01-15 10:30:00", "4111111111111112", ""):
        assert masker.mask(text) == text


def test_masking_twice_changes_nothing() -> None:
    masker = _masker()
    # Hex digits of a hash that read as a Luhn-valid card must not be masked again.
    once = masker.mask("bob@example.com 4111111111111111 <card:4111111111111111>")
    assert masker.mask(once) == once
    assert once.endswith("<card:4111111111111111>")


def test_a_custom_pattern_masks_under_its_name() -> None:
    masker = _masker(MaskMode.REDACT, b"", custom=(CustomPattern("employee_id", r"EMP-[0-9]{6}"),))
    assert masker.mask("by EMP-123456 at bob@x.io") == "by <employee_id> at <email>"
    hashed = _masker(custom=(CustomPattern("employee_id", r"EMP-[0-9]{6}"),))
    assert HASHED.fullmatch(hashed.mask("EMP-123456"))


@pytest.mark.parametrize(
    ("name", "regex"),
    [("employee_id", "EMP-[0-9"), ("Bad Name", "x"), ("email", "x"), ("anything", "a*")],
)
def test_a_custom_pattern_that_cannot_work_is_refused(name: str, regex: str) -> None:
    with pytest.raises(ValidationError):
        CustomPattern(name, regex)


def test_labels_are_masked_except_under_exempt_names() -> None:
    masker = _masker(exempt_keys=frozenset({"build"}))
    labels = {"user": "bob@example.com", "build": "4111111111111111", "env": "prod"}
    masked = masker.mask_labels(labels)
    assert masked is not None and masked["user"].startswith("<email:")
    assert masked["build"] == "4111111111111111" and masked["env"] == "prod"
    assert labels["user"] == "bob@example.com"  # the caller's dict is left alone
    assert masker.mask_labels({"env": "prod"}) is None


def test_the_policy_is_data_that_hides_its_key() -> None:
    policy = PiiPolicy(frozenset({PiiKind.EMAIL}), key=KEY)
    assert pickle.loads(pickle.dumps(policy)) == policy
    assert hash(policy) == hash(PiiPolicy(frozenset({PiiKind.EMAIL}), key=KEY))
    assert "kkkk" not in repr(policy)
    assert not PiiPolicy.off().enabled and policy.enabled


def test_mode_hash_needs_a_key() -> None:
    with pytest.raises(ValidationError):
        PiiPolicy(frozenset({PiiKind.EMAIL}), mode=MaskMode.HASH, key=b"short")
    PiiPolicy(frozenset({PiiKind.EMAIL}), mode=MaskMode.REDACT)  # needs none
