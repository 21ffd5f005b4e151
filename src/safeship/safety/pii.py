"""PII detection: regular expressions, the Luhn check and the ``phonenumbers`` matcher,
plus the international and contextual kinds of ``safeship.safety.pii_intl`` (IBAN,
national ID and passport shapes, obfuscated e-mails, phones of many regions, a name with
an address, a date of birth).

Cheap pre-filters (an ``@`` for emails, enough digits for phones and cards, a known
prefix for API keys) keep the common case — text with no PII at all — fast.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

PII_KINDS: tuple[str, ...] = (
    "email",
    "obfuscated_email",
    "phone",
    "card",
    "iban",
    "ssn",
    "national_id",
    "passport",
    "name_address",
    "date_of_birth",
    "ipv4",
    "api_key",
)

_EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
_SSN = re.compile(r"\b(?!000|666|9\d\d)\d{3}[- ](?!00)\d{2}[- ](?!0000)\d{4}\b")
_CARD = re.compile(r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])")
_IPV4 = re.compile(
    r"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
    r"(?![\d.]*\d)"
)
_API_KEY = re.compile(
    r"\b(?:sk-(?:proj-|live-|test-)?[A-Za-z0-9_-]{16,}"
    r"|AKIA[0-9A-Z]{16}"
    r"|gh[pousr]_[A-Za-z0-9]{20,}"
    r"|github_pat_[A-Za-z0-9_]{20,}"
    r"|xox[abprs]-[A-Za-z0-9-]{10,})"
)
# Formatted North-American-style numbers the ``phonenumbers`` matcher rejects as not
# assigned (fictional 555-01xx numbers, exchanges starting with 0/1): still phone-shaped.
_PHONE_SHAPE = re.compile(
    r"(?<![\w-])(?:\+?1[ .-]?)?(?:\(\d{3}\)\s?|\d{3}[ .-])\d{3}[ .-]\d{4}(?![\w-])"
)
_API_KEY_HINT = re.compile(r"sk-|AKIA|gh[pousr]_|github_pat_|xox[abprs]-")
_DIGIT = re.compile(r"\d")


@dataclass(frozen=True)
class PiiMatch:
    """One piece of PII found in a text: its kind, the matched string and where."""

    kind: str
    text: str
    start: int
    end: int


def luhn_valid(number: str) -> bool:
    """True when the digits of ``number`` (separators ignored) pass the Luhn checksum."""
    digits = [int(ch) for ch in number if ch.isdigit()]
    if len(digits) < 2:
        return False
    total = 0
    for index, digit in enumerate(reversed(digits)):
        if index % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


@lru_cache(maxsize=1)
def _phonenumbers() -> Any:
    import phonenumbers

    return phonenumbers


def _overlaps(start: int, end: int, taken: list[tuple[int, int]]) -> bool:
    return any(start < t_end and t_start < end for t_start, t_end in taken)


def find_pii(text: str) -> list[PiiMatch]:
    """All PII in ``text``, in order of position; each span is reported under one kind."""
    from safeship.safety.pii_intl import find_intl_pii, find_region_phones

    found: list[PiiMatch] = []
    taken: list[tuple[int, int]] = []

    def add(kind: str, match: re.Match[str]) -> None:
        if not _overlaps(match.start(), match.end(), taken):
            found.append(PiiMatch(kind, match.group(0), match.start(), match.end()))
            taken.append((match.start(), match.end()))

    if "@" in text:
        for match in _EMAIL.finditer(text):
            add("email", match)
    if _API_KEY_HINT.search(text):
        for match in _API_KEY.finditer(text):
            add("api_key", match)
    digit_count = len(_DIGIT.findall(text))
    for kind, start, end in find_intl_pii(text, digit_count):
        if not _overlaps(start, end, taken):
            found.append(PiiMatch(kind, text[start:end], start, end))
            taken.append((start, end))
    if digit_count >= 4 and "." in text:
        for match in _IPV4.finditer(text):
            add("ipv4", match)
    if digit_count >= 9:
        for match in _SSN.finditer(text):
            add("ssn", match)
    if digit_count >= 13:
        for match in _CARD.finditer(text):
            digits = re.sub(r"\D", "", match.group(0))
            if 13 <= len(digits) <= 19 and luhn_valid(digits):
                add("card", match)
    if digit_count >= 7 and taken:
        digit_count -= sum(len(_DIGIT.findall(text[start:end])) for start, end in taken)
    if digit_count >= 7:
        for kind, start, end in find_region_phones(text, taken):
            found.append(PiiMatch(kind, text[start:end], start, end))
            taken.append((start, end))
        for match in _PHONE_SHAPE.finditer(text):
            add("phone", match)
    found.sort(key=lambda item: item.start)
    return found


def pii_kinds(matches: list[PiiMatch]) -> list[str]:
    """The distinct kinds among ``matches``, in the fixed order of ``PII_KINDS``."""
    present = {match.kind for match in matches}
    return [kind for kind in PII_KINDS if kind in present]
