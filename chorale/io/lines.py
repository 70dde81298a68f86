"""A score's lines as the importers read them (one per MIDI track and channel, or per
MusicXML part): quantized notes on the 16th grid, before they are mapped to voices
(chorale.io.scores)."""

from __future__ import annotations

from dataclasses import dataclass, field

from chorale.encoding import STEPS_PER_QUARTER


@dataclass
class Line:
    """One source line (a MIDI track/channel or a MusicXML part): quantized (start, end, pitch)
    notes, and where each note started before quantizing (in any unit), to tell a chord from
    notes closer together than a 16th."""

    name: str
    notes: list[tuple[int, int, int]] = field(default_factory=list)
    onsets: list[float] = field(default_factory=list)
    fermatas: set[int] = field(default_factory=set)  # steps where a note under a fermata starts (MusicXML)

    def add(self, note: tuple[int, int, int], onset: float) -> None:
        self.notes.append(note)
        self.onsets.append(onset)

    def is_melodic(self) -> bool:
        starts = [n[0] for n in self.notes]
        return len(starts) == len(set(starts))


def where(step: int, steps_per_bar: int) -> str:
    bar, rest = divmod(step, steps_per_bar)
    return f"bar {bar + 1}, beat {rest // STEPS_PER_QUARTER + 1} (16th step {step})"


def quantized(start_tick: int, end_tick: int, pitch: int, per_step: float):
    """A note snapped to the 16th grid; a note shorter than a 16th still lasts one step."""
    start = round(start_tick / per_step)
    return start, max(round(end_tick / per_step), start + 1), pitch
