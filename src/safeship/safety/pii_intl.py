"""PII beyond US shapes: IBANs (mod-97), national-ID and passport shapes, obfuscated
e-mail addresses, phone numbers of many regions, and a person's name together with a
street address or a date of birth.

Every detector returns ``(kind, start, end)`` spans; ``safeship.safety.pii.find_pii``
merges them with its own. Shapes that are common in ordinary text (a 9-digit number, a
"Firstname Lastname" pair) only count with a cue next to them (``passport``, ``born``,
a street suffix), so benign answers that mention numbers or names stay clean.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

Span = tuple[str, int, int]

# Regions whose national formats the phone matcher tries (international "+" numbers are
# found whatever the region): North America, Europe, Asia, Africa, Latin America, Oceania.
# Outside the US only numbers written with "+" or a leading trunk "0" count: a bare run
# of digits (an order number) is valid in some numbering plan or other.
PHONE_REGIONS: tuple[str, ...] = (
    "US",
    "GB",
    "DE",
    "FR",
    "IN",
    "AU",
    "BR",
    "IT",
    "NL",
    "JP",
    "ZA",
    "NG",
    "IE",
)

_NATIONAL_HINT = re.compile(r"(?<![\w+])\(?0\d")  # a trunk "0": try the other regions
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b")
_NINO = re.compile(r"\b(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b")
_DNI = re.compile(r"\b\d{8}-?[A-HJ-NP-TV-Z]\b")
_DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"
_ID_CUE = re.compile(
    r"(?i)\b(?:passport|passeport|reisepass|pasaporte|national id|national identity|id card"
    r"|identity card|identity number|id number|identification number|personalausweis"
    r"|aadhaar|driver'?s licen[cs]e|licen[cs]e number|tax id|tax number|social insurance"
    r"|national insurance|ni number|personnummer|bsn|nif|nie)\b"
)
_ID_TOKEN = re.compile(
    r"\b(?=[A-Z0-9 -]*\d[A-Z0-9 -]*\d[A-Z0-9 -]*\d)[A-Z0-9][A-Z0-9 -]{4,14}[A-Z0-9]\b"
)
_OBFUSCATED_AT = r"(?:\s*[\[\(\{<]\s*at\s*[\]\)\}>]\s*|\s+at\s+)"
_OBFUSCATED_DOT = r"(?:\s*[\[\(\{<]\s*dot\s*[\]\)\}>]\s*|\s+dot\s+)"
_TLD = r"(?:com|org|net|edu|gov|io|co|uk|de|fr|es|it|nl|info|biz|me|us|ca|au|in|jp|eu|ch)"
_OBFUSCATED_EMAIL = re.compile(
    r"(?i)\b[a-z0-9_%+-]+(?:(?:\.|"
    + _OBFUSCATED_DOT
    + r")[a-z0-9_%+-]+)*"
    + _OBFUSCATED_AT
    + r"[a-z0-9-]+(?:(?:\.|"
    + _OBFUSCATED_DOT
    + r")[a-z0-9-]+)*(?:\.|"
    + _OBFUSCATED_DOT
    + r")"
    + _TLD
    + r"\b"
)
_OBFUSCATION_MARK = re.compile(r"(?i)[\[\(\{<]\s*(?:at|dot)\s*[\]\)\}>]|\sdot\s")
_STREET_SUFFIX = (
    r"(?:Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Drive|Dr|Boulevard|Blvd|Way|Court|Ct|Place|Pl"
    r"|Close|Crescent|Terrace|Gardens|Square|Parade|Row|Mews|Hill|Walk)"
)
_ADDRESS = re.compile(
    r"\b\d{1,5}[A-Za-z]?,? (?:[A-Z][a-z]+ ){1,3}" + _STREET_SUFFIX + r"\b\.?"
    r"|\b[A-Z][a-zäöü]+(?:straße|strasse|gasse|weg|platz|allee) \d{1,4}[a-z]?\b"
    r"|\b\d{1,4},? (?:rue|avenue|boulevard|calle|via|avenida|plaza) (?:[a-zA-Z']+ ){0,3}[A-Z][a-z]+\b"
    r"|\b[A-Z]{1,2}\d[A-Z\d]? \d[A-Z]{2}\b"  # UK postcode
)
_MONTHS = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
)
_DATE = (
    r"(?:\d{1,2}(?:st|nd|rd|th)? "
    + _MONTHS
    + r",? \d{4}|"
    + _MONTHS
    + r" \d{1,2}(?:st|nd|rd|th)?,? \d{4}"
    r"|\d{4}-\d{2}-\d{2}|\d{1,2}[./-]\d{1,2}[./-]\d{2,4})"
)
_DOB = re.compile(
    r"(?i)\b(?:born(?: on| in)?|date of birth|d\.?o\.?b\.?|birthday(?: is)?|birth date)"
    r"[:\s,]+(?:is |was |on )?" + _DATE,
)
_NAME_STOP_WORDS = (
    "The A An This That These Those It He She They We You I Our Your Their His Her My "
    "Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February March "
    "April May June July August September October November December Street Road "
    "Avenue Lane Drive Dear Hello Hi Sure Here Yes No Please Thanks Thank Note Step "
    "First Then Finally North South East West New Old Saint St Mount Lake River Park "
    "Hotel Museum University College School Hospital Station Bank Company Inc Ltd Mr "
    "Mrs Ms Dr Prof"
)
_NAME_STOP = frozenset(_NAME_STOP_WORDS.split())
_NAME = re.compile(
    r"\b([A-Z][a-z]{1,15}(?:-[A-Z][a-z]+)?) (?:[A-Z]\. )?((?:Mc|Mac|O')?[A-Z][a-z]{1,20})\b"
)
_NAME_WINDOW = 160


def iban_valid(text: str) -> bool:
    """True when ``text`` (spaces ignored) passes the IBAN mod-97 check."""
    compact = text.replace(" ", "").upper()
    if not 15 <= len(compact) <= 34 or not compact[:2].isalpha() or not compact[2:4].isdigit():
        return False
    rearranged = compact[4:] + compact[:4]
    digits = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(digits) % 97 == 1


def dni_valid(text: str) -> bool:
    """True when a Spanish DNI (8 digits and a letter) has the right check letter."""
    digits, letter = text[:8], text[-1].upper()
    return digits.isdigit() and _DNI_LETTERS[int(digits) % 23] == letter


def _ids(text: str) -> Iterator[Span]:
    for match in _IBAN.finditer(text):
        if iban_valid(match.group(0)):
            yield "iban", match.start(), match.end()
    for match in _NINO.finditer(text):
        yield "national_id", match.start(), match.end()
    for match in _DNI.finditer(text):
        if dni_valid(match.group(0).replace("-", "")):
            yield "national_id", match.start(), match.end()
    for cue in _ID_CUE.finditer(text):
        window = text[cue.end() : cue.end() + 40]
        token = _ID_TOKEN.search(window)
        if token is not None:
            start = cue.end() + token.start()
            kind = "passport" if cue.group(0).lower().startswith("pas") else "national_id"
            yield kind, start, cue.end() + token.end()


def _names(text: str, start: int, end: int) -> bool:
    """Whether a person-name shape appears near ``text[start:end]``."""
    low, high = max(0, start - _NAME_WINDOW), min(len(text), end + _NAME_WINDOW)
    for match in _NAME.finditer(text, low, high):
        first, last = match.group(1), match.group(2)
        if (
            first not in _NAME_STOP
            and last not in _NAME_STOP
            and not (match.start() <= start < match.end())
        ):
            return True
    return False


_DOB_HINT = re.compile(r"(?i)born|birth|d\.?o\.?b")
_ADDRESS_HINT = re.compile(
    r"\d{1,5}[A-Za-z]?,? [A-Z]|[a-zäöü](?:stra(?:ß|ss)e|gasse|weg|platz|allee) \d|\d,? (?:rue|avenue|boulevard|calle|via|avenida|plaza) |[A-Z]\d[A-Z\d]? \d[A-Z]{2}"
)


def _personal(text: str) -> Iterator[Span]:
    if _DOB_HINT.search(text):
        for match in _DOB.finditer(text):
            yield "date_of_birth", match.start(), match.end()
    if not _ADDRESS_HINT.search(text):
        return
    for match in _ADDRESS.finditer(text):
        if _names(text, match.start(), match.end()):
            yield "name_address", match.start(), match.end()


def _emails(text: str) -> Iterator[Span]:
    for match in _OBFUSCATED_EMAIL.finditer(text):
        if _OBFUSCATION_MARK.search(match.group(0)):
            yield "obfuscated_email", match.start(), match.end()


def find_intl_pii(text: str, digit_count: int) -> list[Span]:
    """Spans of the kinds above in ``text``; ``digit_count`` lets digit-free text skip work."""
    spans: list[Span] = []
    lowered_hint = " at " in text or "[at]" in text.lower() or "(at)" in text.lower()
    if lowered_hint:
        spans.extend(_emails(text))
    if digit_count >= 4:
        spans.extend(_ids(text))
    if digit_count >= 1:
        spans.extend(_personal(text))
    return spans


def find_region_phones(text: str, taken: list[tuple[int, int]]) -> list[Span]:
    """Phone numbers in the national formats of ``PHONE_REGIONS`` (or international)."""
    from safeship.safety.pii import _phonenumbers

    phonenumbers = _phonenumbers()
    spans: list[Span] = []
    claimed = list(taken)
    national = _NATIONAL_HINT.search(text) is not None
    for region in PHONE_REGIONS if national else PHONE_REGIONS[:1]:
        matcher = phonenumbers.PhoneNumberMatcher(
            text, region, leniency=phonenumbers.Leniency.VALID
        )
        for number in matcher:
            raw = number.raw_string.lstrip("( ")
            if region != "US" and not raw.startswith(("+", "0")):
                continue
            if not any(number.start < e and s < number.end for s, e in claimed):
                spans.append(("phone", number.start, number.end))
                claimed.append((number.start, number.end))
    return spans
