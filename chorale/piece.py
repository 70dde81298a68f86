"""`Chorale`: one piece of four-part music, as the Python API hands it out.

A small value object over the (steps, 4) grid of the encoding (one row per 16th note;
soprano, alto, tenor, bass; MIDI pitches, 0 = rest) with what a player or a score needs
beside the notes: a title, a tempo, the key. It saves to every format the CLI writes
(through the same writers) and shows itself in Jupyter as a piano roll with an audio
player, with nothing to install.
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

import numpy as np

from chorale import checks, defaults
from chorale.encoding import N_VOICES, STEPS_PER_BAR, VOICES


class Chorale:
    """A four-part chorale.

    >>> piece = Chorale(grid, title="My chorale")   # grid: (steps, 4) MIDI pitches, 0 = rest
    >>> piece.bars, piece.key                        # 16, 'G minor' (estimated when not given)
    >>> piece.voices["soprano"]                      # one voice, (steps,) pitches
    >>> for chord in piece: ...                      # the steps, (4,) pitches each
    >>> piece.save("song.mid")                       # .mid .csv .wav .png .musicxml .mxl .pdf

    `details` holds how the piece was made (seed, log-likelihood, chosen candidate, ...);
    `source` where it was read from. Datasets hold Chorales too (chorale.data.loader).
    """

    def __init__(self, grid, *, title: str = "Chorale", tempo: float = defaults.TEMPO, key: str | None = None,
                 fermatas=(), details: dict | None = None, source: str | None = None):
        from chorale.keys import key_name, parse_key

        grid = checks.grid(grid)
        grid.setflags(write=False)  # a value: edit a copy (piece.grid.copy()) and make a new Chorale
        self.grid, self.tempo = grid, checks.tempo(tempo)
        self.title = "Chorale" if title is None else checks.text("title", title, None)  # a file's may be long
        self._key = None if checks.text("key", key) is None else key_name(*parse_key(key))
        self.fermatas = checks.steps_list("fermatas", fermatas, len(grid))  # steps where a fermata chord starts
        if details is not None and not isinstance(details, dict):
            raise checks.BadType(f"details must be a dict, got {type(details).__name__}")
        self.details = dict(details or {})
        self.source = source  # where it came from: a file, or a dataset's member ("train/chorale_000.csv")

    # ------------------------------------------------------------------ what it holds
    @property
    def steps(self) -> int:
        return len(self.grid)

    @property
    def bars(self) -> int:
        """Whole or begun 4/4 bars."""
        return -(-self.steps // STEPS_PER_BAR)

    @property
    def voices(self) -> dict[str, np.ndarray]:
        """{"soprano": (steps,) pitches, "alto": ..., "tenor": ..., "bass": ...}."""
        return {name: self.grid[:, v] for v, name in enumerate(VOICES)}

    @property
    def key(self) -> str:
        """The key it was written in when known (its plan), else the one its files carry:
        music21's estimate from the notes."""
        if self._key is not None:
            return self._key
        from chorale.keys import key_name, key_of

        found = key_of(self.grid)
        return key_name(*found) if found is not None else "C major"

    @property
    def known_key(self) -> bool:
        """Whether the key was given (a plan) rather than estimated from the notes."""
        return self._key is not None

    def __len__(self) -> int:
        return self.steps

    def __iter__(self):
        return iter(self.grid)

    def __eq__(self, other) -> bool:
        if not isinstance(other, Chorale):
            return NotImplemented
        return (np.array_equal(self.grid, other.grid)
                and (self.title, self.tempo, self._key, self.fermatas) == (other.title, other.tempo, other._key,
                                                                           other.fermatas))

    __hash__ = None  # equal pieces must hash equal; a grid is not hashable

    def __repr__(self) -> str:
        return f"Chorale({self.title!r}, {self.steps} steps = {self.bars} bars, tempo {self.tempo:g})"

    # ------------------------------------------------------------------ out
    def save(self, path, *, format: str | None = None, force: bool = False,
             program: int = defaults.PROGRAM) -> Path:
        """Write the piece; the format comes from the suffix (.mid .midi .csv .wav .png
        .musicxml .xml .mxl .pdf), or from `format` ("sheet" engraves a .png score with
        MuseScore; a plain .png is the piano roll). Refuses to overwrite unless `force`."""
        from chorale.io.render import format_for, render_all

        path = Path(path)
        render_all(self.grid, title=self.title, tempo=self.tempo, program=program, key=self._key,
                   fermatas=self.fermatas, force=force, **{format_for(path, format).name: path})
        return path

    def piano_roll(self):
        """The piano roll as a matplotlib Figure (voices in colour, bar numbers, key and tempo)."""
        from chorale.io.render import piano_roll

        return piano_roll(self.grid, title=self.title, tempo=self.tempo, key=self.key, fermatas=self.fermatas)

    def wav(self) -> bytes:
        """A WAV file's bytes from the built-in synthesizer (no audio software needed)."""
        from chorale.io.render import wav_bytes

        return wav_bytes(self.grid, tempo=self.tempo)

    def _repr_html_(self) -> str:
        """Jupyter: the piano roll inline and an audio player, both embedded in the page."""
        picture = io.BytesIO()
        self.piano_roll().savefig(picture, format="png")
        png = base64.b64encode(picture.getvalue()).decode()
        wav = base64.b64encode(self.wav()).decode()
        return (f'<div><img alt="{html.escape(self.title)} (piano roll)" src="data:image/png;base64,{png}" '
                f'style="max-width:100%"/><br/><audio controls src="data:audio/wav;base64,{wav}"></audio></div>')


def load(path, *, part: str | int | None = None, title: str | None = None) -> Chorale:
    """A Chorale from a MIDI (.mid), MusicXML (.musicxml .xml .mxl) or JSB-style CSV file,
    titled as the MIDI file says (else by the file's name).

    `part` picks one part or track (a 0-based number or a name) as a one-voice melody in
    the soprano, e.g. to harmonize it; by default every voice is read.
    """
    from chorale.io.midi import read_title
    from chorale.io.scores import read_grid, read_melody

    if part is None:
        grid = read_grid(path)
    else:
        melody = read_melody(path, part, single_line=True)
        grid = np.zeros((len(melody), N_VOICES), np.int32)
        grid[:, 0] = melody
    return Chorale(grid, title=title or read_title(path) or Path(path).stem, source=str(path))
