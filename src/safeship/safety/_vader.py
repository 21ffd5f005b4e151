"""A faster VADER analyser with identical scores.

vaderSentiment (MIT licence) lower-cases the whole token list again inside every
negation and idiom check, which makes scoring quadratic in the text's length, and
rebuilds every text character by character to translate emojis. This subclass does the
same checks against one cached lower-cased list per text, skips the emoji pass for ASCII
text (every emoji is non-ASCII) and skips words outside the lexicon (VADER gives them
0). The equivalence is checked in ``tests/unit/test_safety_scorers.py`` against the
original.
"""

from __future__ import annotations

import threading
from typing import Any


def make_analyzer() -> Any:
    """A ``SentimentIntensityAnalyzer`` whose negation and idiom checks are cached.

    Long on purpose: a subclass defined in place, overriding VADER's own methods one to
    one so each can be compared with the upstream code it mirrors."""
    from vaderSentiment import vaderSentiment as vs

    negate = frozenset(vs.NEGATE)

    def is_negation(word: str) -> bool:
        return word in negate or "n't" in word

    class FastAnalyzer(vs.SentimentIntensityAnalyzer):
        _cache = threading.local()  # per thread: the analyser is shared (gateway threads)

        def _lowered(self, words: list[str]) -> list[str]:
            cache = self._cache
            if getattr(cache, "words", None) is not words:
                cache.words = words
                cache.lower = [str(word).lower() for word in words]
            lower: list[str] = cache.lower
            return lower

        def polarity_scores(self, text: str) -> dict[str, float]:
            if not text.isascii():  # emojis are non-ASCII: only then is rewriting needed
                return dict(super().polarity_scores(text))
            text = text.strip()
            sentitext = vs.SentiText(text)
            words = sentitext.words_and_emoticons
            low = self._lowered(words)
            lexicon, booster = self.lexicon, vs.BOOSTER_DICT
            sentiments: list[float] = []
            last = len(words) - 1
            for i, item in enumerate(words):
                word = low[i]
                kind_of = word == "kind" and i < last and low[i + 1] == "of"
                if word in booster or word not in lexicon or kind_of:
                    sentiments.append(0)
                else:
                    sentiments = self.sentiment_valence(0, sentitext, item, i, sentiments)
            sentiments = self._but_check(words, sentiments)
            return dict(self.score_valence(sentiments, text))

        def _negation_check(self, valence: float, words: list[str], start_i: int, i: int) -> float:
            low = self._lowered(words)
            if start_i == 0:
                if is_negation(low[i - 1]):
                    valence = valence * vs.N_SCALAR
            elif start_i == 1:
                if low[i - 2] == "never" and low[i - 1] in ("so", "this"):
                    valence = valence * 1.25
                elif low[i - 2] == "without" and low[i - 1] == "doubt":
                    pass
                elif is_negation(low[i - 2]):
                    valence = valence * vs.N_SCALAR
            elif start_i == 2:
                if (low[i - 3] == "never" and low[i - 2] in ("so", "this")) or low[i - 1] in (
                    "so",
                    "this",
                ):
                    valence = valence * 1.25
                elif low[i - 3] == "without" and (low[i - 2] == "doubt" or low[i - 1] == "doubt"):
                    pass
                elif is_negation(low[i - 3]):
                    valence = valence * vs.N_SCALAR
            return valence

        def _special_idioms_check(self, valence: float, words: list[str], i: int) -> float:
            low = self._lowered(words)
            special, booster = vs.SPECIAL_CASES, vs.BOOSTER_DICT
            onezero = f"{low[i - 1]} {low[i]}"
            twoonezero = f"{low[i - 2]} {low[i - 1]} {low[i]}"
            twoone = f"{low[i - 2]} {low[i - 1]}"
            threetwoone = f"{low[i - 3]} {low[i - 2]} {low[i - 1]}"
            threetwo = f"{low[i - 3]} {low[i - 2]}"
            for seq in (onezero, twoonezero, twoone, threetwoone, threetwo):
                if seq in special:
                    valence = special[seq]
                    break
            if len(low) - 1 > i:
                zeroone = f"{low[i]} {low[i + 1]}"
                if zeroone in special:
                    valence = special[zeroone]
            if len(low) - 1 > i + 1:
                zeroonetwo = f"{low[i]} {low[i + 1]} {low[i + 2]}"
                if zeroonetwo in special:
                    valence = special[zeroonetwo]
            for n_gram in (threetwoone, threetwo, twoone):
                if n_gram in booster:
                    valence = valence + booster[n_gram]
            return valence

    return FastAnalyzer()
