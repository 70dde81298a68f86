"""The model card's schema, checked once when a card is read, so that generate, harmonize
and evaluate can trust every field they use (no TensorFlow here: sampling from the
cached sampler never imports it).

A card edited by hand or written by another tool fails here with one line naming the
field, instead of a KeyError later or, worse, a range that lets every note be a rest.
"""

from __future__ import annotations

from chorale import ChoraleError
from chorale.encoding import MIDI_HIGH, MIDI_LOW, N_VOICES
from chorale.registry import BACKBONES

# The backbones chorale.model.networks builds: here, so a card is checked without TensorFlow.


def _is_int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def check_card(card: dict, where) -> None:
    """Refuse a card whose fields are missing or malformed: architecture (one of BACKBONES), parameters,
    vocabulary (low..high within the piano) and voice_ranges (4 [low, high] pairs inside
    the vocabulary)."""
    def bad(field: str, expected: str):
        return ChoraleError(f"{where}: not a model card: '{field}' must be {expected}")

    if not isinstance(card, dict):
        raise ChoraleError(f"{where}: not a model card: expected a JSON object")
    if not isinstance(card.get("architecture"), str):
        raise bad("architecture", "a name such as wavenet")
    if card["architecture"] not in BACKBONES:
        raise ChoraleError(f"{where}: unknown architecture '{card['architecture']}' "
                           f"(this chorale knows: {', '.join(BACKBONES)})")
    if "parameters" in card and not (_is_int(card["parameters"]) and card["parameters"] >= 0):
        raise bad("parameters", "a whole number")
    vocab = card.get("vocabulary")
    if not (isinstance(vocab, dict) and _is_int(vocab.get("low")) and _is_int(vocab.get("high"))
            and MIDI_LOW <= vocab["low"] <= vocab["high"] <= MIDI_HIGH):
        raise bad("vocabulary", f"{{low, high}} with {MIDI_LOW} <= low <= high <= {MIDI_HIGH}")
    ranges = card.get("voice_ranges")
    if not (isinstance(ranges, list) and len(ranges) == N_VOICES and all(
            isinstance(r, list) and len(r) == 2 and all(map(_is_int, r))
            and vocab["low"] <= r[0] <= r[1] <= vocab["high"] for r in ranges)):
        raise bad("voice_ranges", f"{N_VOICES} [low, high] pitch pairs within the vocabulary "
                  f"{vocab['low']}..{vocab['high']}")
