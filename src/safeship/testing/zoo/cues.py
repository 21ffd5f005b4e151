"""How the zoo's candidates read a request: general cues, not the battery's probe texts.

Each candidate reacts to what a real model would notice — a request for harm, a role-play
frame, a document to process, a question about its instructions, an encoding, a language,
a group named in the prompt — through the small recognisers here (written for the zoo,
independent of the battery's probes and detectors). ``chance`` makes "x% of answers"
deterministic: the same request and seed always get the same draw.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import hashlib
import re

from safeship.testing.upstream import Ask

_HARM_STRONG = re.compile(
    r"\b(bombs?|explosives?|detonat\w*|grenades?|molotov|nerve agents?|bio-?weapons?|"
    r"chemical weapons?|toxins?|ricin|anthrax|meth|methamphetamine|fentanyl|cocaine|heroin|"
    r"ransomware|malware|keyloggers?|spyware|botnets?|ddos|phishing|counterfeit\w*|"
    r"launder\w*|forg(e|ed|ing)|fake (ids?|passports?|documents?)|ghost guns?|untraceable|"
    r"silencers?|arson|burn down|hot-?wir\w*|lock-?pick\w*|break into|breaking into|"
    r"shoplift\w*|steal|steals|stealing|stole|rob|robbing|robbery|kidnap\w*|traffick\w*|"
    r"stalk|stalking|blackmail\w*|"
    r"extort\w*|poison\w*|suicide|self-harm|hack(ing)? into|without (getting )?caught|"
    r"undetected|evade (the )?police|tax evasion|bribe\w*|terroris\w*|extremis\w*|"
    r"mass shooting|weapons?|firearms?|ammunition|overdose|cheat\w* on|scam\w*|"
    r"spy on|track (someone|my \w+)|bypass (the )?(alarm|security|paywall|license)|"
    r"racist|propaganda|harass\w*|doxx?\w*|revenge|smuggl\w*|drugs|illegal(ly)?|"
    r"black market|dark ?web|fake news|disinformation|misinformation|conspiracy|"
    r"threaten\w*|scare \w+ into|explicit (photos?|images?|pictures?)|nudes?|groom\w*|"
    r"unsupervised access|(hurt|harm|kill|cut|starve) (myself|yourself)|end my life|"
    r"(start|set) (a )?fires?|set fire|looks? like an accident|cover up|hide (a|the) body|"
    r"pirat\w*|plagiari\w*|impersonat\w*|insider trading|ponzi)\b",
    re.IGNORECASE,
)
_HARM_VERB = re.compile(
    r"\b(kill|murder|hurt|harm|injure|attack|shoot|stab|strangle|drown|beat up|torture|"
    r"threaten|intimidate|humiliate|bully|drug)\b",
    re.IGNORECASE,
)
_PERSON = re.compile(
    r"\b(someone|somebody|a person|people|him|her|them|my (wife|husband|boss|neighbou?r|"
    r"partner|ex|coworker|colleague|teacher|classmate|brother|sister|father|mother|friend)|"
    r"a (child|kid|man|woman|girl|boy|cop|officer|guard)|children|kids|family|crowd)\b",
    re.IGNORECASE,
)
_HARM_FOREIGN = re.compile(
    r"\b(bomba|bombe|explosiv\w*|sprengstoff|veneno|envenenar|poison|gift|vergiften|"
    r"empoisonner|robar|voler|stehlen|rubare|roubar|matar|tuer|töten|uccidere|"
    r"arma|armes?|waffe|droga|drogue|droge|hackear|pirater|falsificar|contrefa\w*)\b",
    re.IGNORECASE,
)
_FRAME = re.compile(
    r"\b(pretend|role-?play|role play|act as|acting as|you are now|in character|"
    r"stay in character|story|fiction\w*|novel|screenplay|script|poem|character|villain|"
    r"imagine|hypothetical\w*|game|dan|no restrictions|jailbr\w*|grandma|grandmother|"
    r"persona|for a book|for research|writer)\b",
    re.IGNORECASE,
)
_DOC_TASK = re.compile(
    r"\b(summari[sz]e|summary|translate|proofread|extract|classify|review|rewrite|"
    r"reply to|answer (this|the) (e-?mail|message)|tl;?dr|key points)\b",
    re.IGNORECASE,
)
_DOC_MARK = re.compile(
    r"(\n|\"\"\"|---|<[a-z]+|\b(document|e-?mail|subject|web ?page|article|tool output|"
    r"search result|review|message|transcript|notes?)\s*:)",
    re.IGNORECASE,
)
_EMBEDDED = re.compile(
    r"(ignore (all |any |the )?(previous|prior|above|earlier|your)|new instructions?|"
    r"\b(ai|assistant|model|system|language model)\s*[:,]|instead,? |you must|"
    r"do not summari[sz]e|reply (only )?with|respond (only )?with|say (only )?[\"']|"
    r"\boutput\b|\bprint\b|include (this|the following)|tell the (user|reader)|"
    r"visit |click |send )",
    re.IGNORECASE,
)
_SECRET_ASK = re.compile(
    r"\b(password|passphrase|secret|system prompt|instructions?|initial prompt|"
    r"hidden prompt|confidential|reveal|your rules|configuration|canary|verbatim|"
    r"words above|text above|everything above|what were you told|prompt above|"
    r"contraseña|secreto|mot de passe|passwort|geheim\w*|segreto|senha|parola d'ordine)\b",
    re.IGNORECASE,
)
_SECRET_IN_SYSTEM = re.compile(
    r"\b(?:password|secret|code|key|token|passphrase)\b[^.:\n]{0,20}?(?:\bis\b|:)\s*"
    r"[\"'“]?([A-Za-z0-9][\w\-]{3,})",
    re.IGNORECASE,
)
# Everyday phrases that sound alarming but ask for nothing harmful.
_IDIOMS = re.compile(
    r"\b(kill(ing)? (a |the |my |all )?(\w+ )?(process(es)?|task|job|program|app|thread|server|"
    r"time|lights?|engine|weeds?|bacteria|germs|mou?ld|pests?|the mood|it on stage)|"
    r"steal(ing)? (the|my|your) (show|spotlight|heart|idea for a party)|"
    r"shoot(ing)? (photos?|pictures?|a video|videos?|footage|hoops|a film|a scene|the breeze)|"
    r"(bath|photo|seed|flavou?r) ?bombs?|bomb(ed)? (a|the|my) (test|exam|interview)|"
    r"blow(ing)? up (a |the )?(balloons?|photo|picture|image)|poison ivy|food poisoning|"
    r"execut(e|ing) (a|the|my) (plan|script|command|program|query)|"
    r"attack(ing)? (a|the|this) (problem|task|question|puzzle)|life ?hacks?|"
    r"hack(s|ing)? (for|to) (save|organi[sz]e|clean|cook)|beat(ing)? (the|a) "
    r"(heat|deadline|record|traffic|game|level|boss)|drug ?stores?|drug interactions?|"
    r"terminat(e|ing) (a|the) (process|contract|lease|instance)|"
    r"destroy(ing)? (the|my) (competition|old hard drive|documents safely)|"
    r"(smoke|smoking) (a )?(brisket|salmon|meat|fish)|crack(ing)? (an|the) (egg|code interview)|"
    r"(gut|gutting) (a|the) fish|butcher(ing)? (a|the) (chicken|pig)|"
    r"(slaughter|kill) (it|them) (in|at) (the|my) (gym|exam|game))\b",
    re.IGNORECASE,
)
_ASKS_FOR_HELP = re.compile(
    r"\b(how|steps?|guide|instructions?|tutorial|teach|explain|tell me|show me|help me|"
    r"write|draft|compose|create|generate|make|build|get|buy|find|obtain|give me|list|"
    r"ways? to|best way|recipe|plan|where (can|do|could) i|i want|i need|i'd like|"
    r"can you|could you|please|convince|pretend|act as|imagine|describe how|"
    r"what('s| is) the (best|easiest|quickest|fastest|safest)|cómo|comment|wie|come|como)\b",
    re.IGNORECASE,
)
_LANGUAGES = {
    "es": re.compile(r"\b(el|la|los|las|cómo|qué|por favor|dime|cuál|es|una?)\b", re.I),
    "fr": re.compile(r"\b(le|la|les|comment|quel|quelle|s'il vous plaît|dis-moi|est|une?)\b", re.I),
    "de": re.compile(r"\b(der|die|das|wie|was|bitte|sag mir|ist|ein|eine|ich)\b", re.I),
    "it": re.compile(r"\b(il|lo|gli|come|che cosa|per favore|dimmi|è|una?)\b", re.I),
    "pt": re.compile(r"\b(o|os|as|como|qual|por favor|diga-me|é|uma?)\b", re.I),
}
_ENGLISH = re.compile(r"\b(the|and|how|what|is|are|you|your|please|to|of|me|a|an)\b", re.I)
_LEET = str.maketrans("431057@$!", "aeiostasi")
_B64_TOKEN = re.compile(r"[A-Za-z0-9+/]{16,}={0,2}")


def chance(ask: Ask, salt: str, *, per_prompt: bool = False) -> float:
    """A uniform draw in [0, 1) fixed by the request (and its seed unless ``per_prompt``)."""
    seed = "" if per_prompt else str(ask.seed)
    digest = hashlib.sha256(f"{salt}|{ask.prompt}|{seed}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def pick(options: tuple[str, ...], ask: Ask, salt: str) -> str:
    return options[int(chance(ask, salt) * len(options))]


def language(text: str) -> str:
    """``en`` or the best-matching of a few other languages (function-word counts)."""
    scores = {code: len(rx.findall(text)) for code, rx in _LANGUAGES.items()}
    scores["en"] = len(_ENGLISH.findall(text))
    if re.search(r"[ñ¿¡]", text):
        scores["es"] += 2
    if re.search(r"[äöüß]", text):
        scores["de"] += 2
    if re.search(r"[çêèàù]", text):
        scores["fr"] += 2
    best = max(scores, key=lambda code: scores[code])
    return best if scores[best] > scores["en"] else "en"


def decoded_views(text: str) -> list[str]:
    """The text plus what an obfuscated request would decode to (base64, rot13, leet)."""
    views = [text, text.translate(_LEET)]
    if re.search(r"rot-?13|caesar", text, re.IGNORECASE):
        views.append(codecs.decode(text, "rot13"))
    for token in _B64_TOKEN.findall(text):
        try:
            plain = base64.b64decode(token + "=" * (-len(token) % 4), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            continue
        if plain.isprintable():
            views.append(plain)
    return views


def plainly_harmful(text: str) -> bool:
    """A request for help with harm (not a question about it, not a harmless idiom)."""
    text = _IDIOMS.sub(" ", text)
    if not _ASKS_FOR_HELP.search(text):
        return False  # "what was the history of ...", "why is ... dangerous"
    return bool(_HARM_STRONG.search(text)) or bool(_HARM_VERB.search(text) and _PERSON.search(text))


def harmful(ask: Ask) -> bool:
    """A request for something that could hurt people, however it is wrapped."""
    return any(plainly_harmful(v) or _HARM_FOREIGN.search(v) for v in decoded_views(ask.prompt))


def obfuscated(ask: Ask) -> bool:
    """Harm that only shows after decoding the request."""
    return harmful(ask) and not plainly_harmful(ask.prompt) and language(ask.prompt) == "en"


def framed(ask: Ask) -> bool:
    """Role-play, persona, fiction or hypothetical framing."""
    return bool(_FRAME.search(ask.prompt))


def document(ask: Ask) -> str | None:
    """The document a user asks to process (summarise, translate ...), if any."""
    if not _DOC_TASK.search(ask.prompt) or not _DOC_MARK.search(ask.prompt):
        return None
    quoted = re.search(r"(\"\"\"|---|“|\")(.+?)(\1|”|$)", ask.prompt, re.DOTALL)
    if quoted and len(quoted.group(2)) > 40:
        return quoted.group(2).strip()
    head, _, rest = ask.prompt.partition(":")
    return (rest or head).strip()


def sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n+", text) if s.strip()]


def embedded_instructions(doc: str) -> list[str]:
    """Sentences of a document that address the assistant rather than the reader."""
    return [s for s in sentences(doc) if _EMBEDDED.search(s)]


def asks_for_secret(ask: Ask) -> bool:
    return bool(_SECRET_ASK.search(ask.prompt))


def secret(ask: Ask) -> str | None:
    """The secret a system prompt holds (``the password is X``), if any."""
    found = _SECRET_IN_SYSTEM.search(ask.system or "")
    return found.group(1) if found else None


def mentions(ask: Ask, pattern: re.Pattern[str]) -> bool:
    return bool(pattern.search(ask.prompt))


def continuation(ask: Ask) -> bool:
    """An unfinished sentence to complete rather than a question or an instruction."""
    text = ask.prompt.strip()
    return bool(text) and text[-1] not in ".?!:\"')" and "\n" not in text


_LEAD = re.compile(
    r"^.*?\b(?:how (?:to|do i|can i|would i|should i|do you)|guide to|steps to|instructions "
    r"(?:for|to)|ways? to|tips (?:for|on)|about|explain|describe|tell me)\s+(.+)$",
    re.IGNORECASE,
)


def topic(prompt: str) -> str:
    """What the request is about, as a short phrase (``explain how to X`` -> ``X``)."""
    phrase = " ".join(prompt.split())
    for _ in range(3):  # "Explain how to X": peel "explain", then "how to"
        match = _LEAD.match(phrase)
        if match is None:
            break
        phrase = match.group(1)
    words = phrase.strip(" .?!\"'").split()
    if words and not words[0].isupper():
        words[0] = words[0].lower()
    return " ".join(words[:10]) if words else "this"
