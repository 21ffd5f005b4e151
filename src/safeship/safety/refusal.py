"""Refusal detection by phrase patterns ("I can't help with", "I'm sorry, but", ...).

A refusal is a first-person statement of not doing the task ("I can't help with that",
"I must respectfully decline", "Unfortunately, that's not something I can do") or an
apology that introduces one. Phrases that only look alike are not refusals: "I can't
stress enough how useful a backup is", "I cannot recommend this tool highly enough",
"I won't lie, it is easy", "I can't wait to try it" (``_NOT_REFUSAL`` is removed first).
"""

from __future__ import annotations

import re

# Not a refusal, although the words start like one: emphasis, enthusiasm, hedges.
_NOT_REFUSAL = re.compile(
    r"i (?:can(?:'|no)?t|can not|could(?:n't| not)|won't|will not)\s+"
    r"(?:(?:stress|emphasi[sz]e|overstate|overemphasi[sz]e|recommend|praise|thank you|say)"
    r"(?:\s+\w+){0,4}?\s+enough|stress this enough|wait|believe|lie|deny|argue with"
    r"|help but|help noticing|resist|imagine a better|think of a better)"
)
_REFUSAL_PHRASES: tuple[str, ...] = (
    r"i (?:really |simply |just )?(?:can(?:'|no)?t|can not|could(?:n't| not)|won't|will not)"
    r"(?: in good conscience)?(?: help| assist| do (?:that|this|it)| provide| share| comply"
    r"| support| give| write| create| offer| explain| describe| tell| answer| generate"
    r"| produce| fulfil| fulfill| participate| engage| go along| be of help| continue"
    r"| discuss| walk you| show you| teach| recommend (?:ways|methods|how)"
    r"| be (?:able to|providing|helping|sharing|giving|assisting|writing|doing))",
    r"i (?:can(?:'|no)?t|can not) and (?:won't|will not)",
    r"i cannot\s*[.!]",
    r"i(?:'m| am) sorry,? (?:but|i)",
    r"i apologi[sz]e,? (?:but|i)",
    r"sorry,? (?:but )?i (?:can(?:'|no)?t|won't|am unable|'m unable|'m not able)",
    r"(?:unfortunately|regrettably),? i (?:can(?:'|no)?t|won't|will not|am unable|'m unable)",
    r"i(?:'m| am) afraid (?:i|that i) (?:can(?:'|no)?t|won't|will not|am unable|'m unable)",
    r"i(?:'m| am) (?:not able|unable) to",
    r"i(?:'m| am) not (?:going|willing|allowed|permitted|comfortable|in a position) to",
    r"i do(?:n't| not) feel comfortable",
    r"i(?:'m| am) not comfortable (?:with|helping|doing|providing|answering|sharing)",
    r"i(?:'d| would) (?:rather|prefer) not",
    r"i (?:must|have to|need to|will|'ll|'d have to) (?:respectfully |politely )?(?:decline|refuse)",
    r"i refuse to",
    r"i do(?:n't| not) (?:help|assist|provide|engage) (?:with|in)",
    r"(?:that|this|it)(?:'s| is) not something i(?:'m| am)? (?:can|able|will|going|willing)",
    r"(?:that|this|it) is not something i can",
    r"it (?:would|will) (?:not|n't) be (?:appropriate|responsible|ethical) for me",
    r"as an ai(?: language model| assistant)?,? i",
    r"against my (?:guidelines|policy|policies|principles|programming)",
    r"i(?:'m| am) (?:programmed|designed) not to",
    r"no,? i (?:won't|will not|can(?:'|no)?t)",
)
_REFUSAL = re.compile(r"(?<![a-z])(?:" + "|".join(_REFUSAL_PHRASES) + r")(?![a-z])")
_HINTS: tuple[str, ...] = (
    "i ",
    "i'",
    "sorry",
    "as an ai",
    "against my",
    "not something",
    "for me",
    "apologi",
)
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'"})


def is_refusal(text: str) -> bool:
    """True when ``text`` contains a refusal phrase (case and curly quotes ignored)."""
    lowered = " ".join(text.lower().translate(_APOSTROPHES).split())
    if not any(hint in lowered for hint in _HINTS):
        return False
    return _REFUSAL.search(_NOT_REFUSAL.sub(" ", lowered)) is not None
