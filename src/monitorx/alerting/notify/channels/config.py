"""Reading a channel's ``config`` object into typed values, naming every bad field.

Each channel's config dataclass parses itself with a `ConfigReader`: one call per
field, then ``finish()``, which refuses unknown keys (a typo such as ``routingkey``
must not silently disable a channel) and raises one `ValidationError` listing every
offending field as ``config.<name>``.
"""

from __future__ import annotations

__all__ = ["HTTP_SCHEMES", "ConfigReader"]

import re
from collections.abc import Mapping
from email.utils import getaddresses
from urllib.parse import urlsplit

from monitorx.alerting.notify.channels.redaction import REDACTED, Secret
from monitorx.core import FieldError, ValidationError

HTTP_SCHEMES = ("http", "https")
_MAX_URL_LENGTH = 2048
_MAX_STRING_LENGTH = 1024
# RFC 9110 token characters for header names.
_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+$")


class ConfigReader:
    """Pulls typed fields out of one raw config mapping, collecting errors."""

    def __init__(self, raw: object, prefix: str = "config") -> None:
        self._prefix = prefix
        self._errors: list[FieldError] = []
        self._read: set[str] = set()
        self._raw: Mapping[str, object] = {}
        # Not an object at all: that one error says it; no field errors pile on.
        self._broken = True
        if isinstance(raw, Mapping) and all(isinstance(k, str) for k in raw):
            self._raw, self._broken = raw, False
        else:
            self._errors.append(FieldError(prefix, "must be an object"))

    def path(self, name: str) -> str:
        return f"{self._prefix}.{name}"

    def error(self, name: str, message: str) -> None:
        """Record a problem with field ``name`` (for checks that span fields)."""
        if not self._broken:
            self._errors.append(FieldError(self.path(name), message))

    def has(self, name: str) -> bool:
        """Whether the config sets ``name`` (to anything but null)."""
        return self._raw.get(name) is not None

    def _get(self, name: str) -> object:
        self._read.add(name)
        return self._raw.get(name)

    def finish(self) -> None:
        """Refuse unknown fields; raise every recorded problem at once."""
        for name in sorted(set(self._raw) - self._read):
            self.error(name, "unknown field")
        if self._errors:
            raise ValidationError(list(self._errors))

    # -- plain values ---------------------------------------------------------

    def optional_string(self, name: str, max_length: int = _MAX_STRING_LENGTH) -> str | None:
        value = self._get(name)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            self.error(name, "must be a non-empty string")
            return None
        if len(value) > max_length:
            self.error(name, f"must be at most {max_length} characters")
            return None
        if "\r" in value or "\n" in value:
            self.error(name, "must not contain line breaks")
            return None
        return value

    def string(self, name: str, default: str = "", *, required: bool = False) -> str:
        value = self.optional_string(name)
        if value is None and required and self._raw.get(name) is None:
            self.error(name, "is required")
        return default if value is None else value

    def boolean(self, name: str, default: bool) -> bool:
        value = self._get(name)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.error(name, "must be true or false")
            return default
        return value

    def integer(self, name: str, default: int | None, low: int, high: int) -> int | None:
        value = self._get(name)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.error(name, f"must be an integer from {low} to {high}")
            return default
        return value

    def choice(self, name: str, choices: tuple[str, ...], default: str) -> str:
        value = self._get(name)
        if value is None:
            return default
        if not isinstance(value, str) or value.upper() not in choices:
            self.error(name, f"must be one of {', '.join(choices)}")
            return default
        return value.upper()

    # -- URLs and secrets -----------------------------------------------------

    def url(self, name: str, default: str = "", *, required: bool = False) -> str:
        value = self._get(name)
        if value is None:
            if required:
                self.error(name, "is required")
            return default
        if not isinstance(value, str) or not _is_http_url(value):
            self.error(name, "must be an http:// or https:// URL with a host")
            return default
        if REDACTED in value:
            self.error(name, f"holds the redaction marker {REDACTED}; send the real value")
            return default
        return value

    def secret(self, name: str, *, required: bool = False) -> Secret | None:
        value = self._get(name)
        if value is None:
            if required:
                self.error(name, "is required")
            return None
        if not isinstance(value, str) or not value:
            self.error(name, "must be a non-empty string")
            return None
        if REDACTED in value:
            self.error(name, f"holds the redaction marker {REDACTED}; send the real value")
            return None
        return Secret(value)

    def secret_url(self, name: str, *, required: bool = False) -> Secret | None:
        value = self.url(name, required=required)
        return Secret(value) if value else None

    # -- collections ----------------------------------------------------------

    def headers(self, name: str, reserved: frozenset[str]) -> dict[str, str]:
        value = self._get(name)
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.error(name, "must be an object of header names to string values")
            return {}
        headers: dict[str, str] = {}
        for key, item in value.items():
            where = f"{name}.{key}"
            if not isinstance(key, str) or not _HEADER_NAME.match(key):
                self.error(where, "is not a valid header name")
            elif key.lower() in reserved:
                self.error(where, "is set by MonitorX and cannot be configured")
            elif not isinstance(item, str) or "\r" in item or "\n" in item:
                self.error(where, "must be a string without line breaks")
            elif REDACTED in item:
                self.error(where, f"holds the redaction marker {REDACTED}; send the real value")
            else:
                headers[key] = item
        return headers

    def addresses(self, name: str, *, required: bool = False) -> tuple[str, ...]:
        """Email addresses: a list of strings, or one comma-separated string."""
        value = self._get(name)
        if value is None:
            if required:
                self.error(name, "is required")
            return ()
        if isinstance(value, str):
            items = [value]
        elif isinstance(value, list) and all(isinstance(i, str) for i in value):
            items = [str(i) for i in value]
        else:
            self.error(name, "must be an address or a list of addresses")
            return ()
        found: list[str] = []
        for display, address in getaddresses(items):
            if not _ADDRESS.match(address):
                self.error(name, f"{address or display!r} is not an email address")
                return ()
            found.append(address)
        if required and not found:
            self.error(name, "needs at least one address")
        return tuple(found)

    def address(self, name: str, *, required: bool = False) -> str:
        """One address, kept as written (``"MonitorX <alerts@example.com>"`` is fine)."""
        value = self.optional_string(name)
        if value is None:
            if required and self._raw.get(name) is None:
                self.error(name, "is required")
            return ""
        pairs = getaddresses([value])
        if len(pairs) != 1 or not _ADDRESS.match(pairs[0][1]):
            self.error(name, f"{value!r} is not an email address")
            return ""
        return value


def _is_http_url(value: str) -> bool:
    if len(value) > _MAX_URL_LENGTH or any(c.isspace() for c in value):
        return False
    try:
        parts = urlsplit(value)
        _ = parts.port  # raises on a malformed port
    except ValueError:
        return False
    return parts.scheme in HTTP_SCHEMES and bool(parts.hostname)
