"""Stored text: the one rule for every string a client sends that MonitorX stores.

Identifiers, names, tag and label values, messages, records' string features,
reference rows, channel configs — every string, on every backend, may hold any
Unicode character except:

- a *lone surrogate* (U+D800–U+DFFF). JSON can carry one as an escape
  (``"\\ud800"``), but it is half of a UTF-16 pair, not a character: no UTF-8
  store can hold it;
- a *control character* (Unicode category Cc: U+0000–U+001F, U+007F–U+009F) other
  than tab, line feed and carriage return. PostgreSQL's text cannot hold NUL at
  all; the others print as nothing in the dashboard, reach terminals and log files
  as escape sequences, and are never part of a real label. Tab, line feed and
  carriage return are ordinary in messages and free text, and every backend
  stores them as they are.

A string that breaks the rule is refused with a 422 naming its field when the body
is decoded, so that nothing of it is stored anywhere. `FORBIDDEN_RANGES` is the
rule as data; the regular expressions below (and the Arrow check of uploaded
tables) are built from it.
"""

from __future__ import annotations

__all__ = [
    "FORBIDDEN_RANGES",
    "check_json_text",
    "check_text",
    "find_bad_text",
    "forbidden_class",
    "may_hold_bad_text",
    "printable",
    "text_problem",
]

import re

from monitorx.core.errors import FieldError, ValidationError

FORBIDDEN_RANGES: tuple[tuple[int, int], ...] = (
    (0x00, 0x08),  # C0 controls before tab
    (0x0B, 0x0C),  # vertical tab, form feed (tab 09, line feed 0A allowed)
    (0x0E, 0x1F),  # the rest of C0 (carriage return 0D allowed)
    (0x7F, 0x9F),  # DEL and the C1 controls
    (0xD800, 0xDFFF),  # surrogates: only ever lone in a decoded str
)
"""The code points no stored string may hold, as inclusive ranges."""


def forbidden_class(escape: str = "\\x{{{:x}}}", surrogates: bool = True) -> str:
    """`FORBIDDEN_RANGES` as a regular-expression character class. ``escape`` formats
    one code point (the default is RE2's ``\\x{7f}``, as Arrow's kernels read it);
    ``surrogates=False`` leaves out the range that valid UTF-8 never holds."""
    ranges = [r for r in FORBIDDEN_RANGES if surrogates or r[0] < 0xD800]
    return "[" + "".join(f"{escape.format(lo)}-{escape.format(hi)}" for lo, hi in ranges) + "]"


_FORBIDDEN = re.compile(forbidden_class("\\U{:08x}"))
# What a JSON body must contain for a decoded string to break the rule: an escape
# of a control character (``\u0000``, and the short ``\b`` and ``\f``) or of a
# surrogate; DEL or a C1 control as raw UTF-8; or a surrogate as raw bytes (not
# UTF-8, yet the standard library's json.loads reads bytes with "surrogatepass").
# Raw C0 bytes need no check: every JSON parser refuses them inside a string.
_SUSPECT_ESCAPE = re.compile(rb"\\(?:[bf]|u(?:00[01]|007[fF]|00[89]|[dD][89a-fA-F]))")
_RAW_C1 = re.compile(rb"\xc2[\x80-\x9f]")
_RAW_SURROGATE = re.compile(rb"\xed[\xa0-\xbf]")


def text_problem(value: str) -> str | None:
    """Why ``value`` may not be stored, or None when it may."""
    found = _FORBIDDEN.search(value)
    if found is None:
        return None
    code = ord(found.group())
    if 0xD800 <= code <= 0xDFFF:
        return (
            f"holds U+{code:04X}, a lone surrogate: half of a UTF-16 pair, not a "
            "character, and no store can hold it"
        )
    return (
        f"holds the control character U+{code:04X} (at offset {found.start()}); text "
        "may hold tab, line feed and carriage return but no other control character"
    )


def check_text(value: str, field: str) -> str:
    """Return ``value`` if it may be stored, else raise `ValidationError` naming ``field``."""
    problem = text_problem(value)
    if problem is not None:
        raise ValidationError(problem, field)
    return value


def printable(value: str) -> str:
    """``value`` with each forbidden character written as an escape, for messages."""
    return _FORBIDDEN.sub(lambda m: f"\\u{ord(m.group()):04x}", value)


def find_bad_text(value: object, path: str = "") -> FieldError | None:
    """The first string in a decoded JSON value (keys included) that breaks the
    rule, as a field path (``[3].features.city``, ``config.headers.X``) and a reason.
    Walked with a stack, not recursion: a body's depth is not this function's limit."""
    stack: list[tuple[object, str]] = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            problem = text_problem(item)
            if problem is not None:
                return FieldError(where or "body", problem)
        elif isinstance(item, dict):
            children = []
            for key, child in item.items():
                name = f"{where}.{printable(str(key))}" if where else printable(str(key))
                if isinstance(key, str) and (problem := text_problem(key)) is not None:
                    return FieldError(name, f"the key {problem}")
                children.append((child, name))
            stack.extend(reversed(children))
        elif isinstance(item, list):
            stack.extend((item[i], f"{where}[{i}]") for i in reversed(range(len(item))))
    return None


def may_hold_bad_text(body: bytes) -> bool:
    """False when no string decoded from the JSON ``body`` can break the rule.

    Four ``memchr`` searches decide it for most bodies; a body that holds a
    backslash, C1 or surrogate bytes is searched for the sequences that matter.
    True may be a false alarm (an escaped backslash before ``u0000``, a valid
    surrogate pair): the caller then checks the decoded strings, which decide."""
    # Single bytes first: ``in`` finds one with memchr, a longer needle byte by byte.
    if b"\x7f" in body:
        return True
    if b"\\" in body and _SUSPECT_ESCAPE.search(body) is not None:
        return True
    if b"\xed" in body and _RAW_SURROGATE.search(body) is not None:
        return True
    return b"\xc2" in body and _RAW_C1.search(body) is not None


def check_json_text(body: bytes, decoded: object) -> None:
    """Refuse (422, naming the field) a decoded JSON body that holds a string which
    breaks the rule; cheap when the body cannot hold one."""
    if may_hold_bad_text(body):
        found = find_bad_text(decoded)
        if found is not None:
            raise ValidationError([found])
