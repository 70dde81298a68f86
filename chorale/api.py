"""The Python API: the one place that turns user requests into chorales.

    import chorale
    model = chorale.load_model()              # the bundled model, or load_model("outputs/models/run")
    piece = model.generate(seed=3)            # a Chorale (count=8 gives a list)
    piece.save("song.mid")
    satb = model.harmonize(chorale.load("tune.mid"), candidates=8, seed=1)
    model.score(satb)                         # mean NLL per token and per voice

The CLI and the benchmarks are thin faces over these functions: the defaults live in
`chorale.defaults`, the validation here (bad values raise ChoraleError, whose message
the CLI prints as it is). Generating never imports TensorFlow: the model's weights are
stepped in NumPy (`chorale.sampling`).
"""

from __future__ import annotations

import contextlib
import csv
import io
import time
from pathlib import Path

import numpy as np

from chorale import ChoraleError, checks, defaults
from chorale.encoding import N_VOICES, REST, STEPS_PER_BAR, VOICES
from chorale.limits import MAX_BARS, MAX_LIST_CHARS
from chorale.piece import Chorale, load

__all__ = ["Model", "load_model", "load", "train", "evaluate", "build_dataset"]


def load_model(path=None) -> Model:
    """The model in a run folder written by `chorale train` (default: the bundled model)."""
    return Model(path)


random_seed = checks.seed  # a seed checked, or drawn when None: the CLI draws its seed here too, to print it


class Model:
    """A trained chorale model: its card, vocabulary and the NumPy sampler of its weights."""

    def __init__(self, path=None):
        from chorale.io.files import bundled
        from chorale.sampling.cache import load_sampler

        self.path = Path(path) if path is not None else bundled("model")
        self.sampler, self.card, self.vocab = load_sampler(self.path)

    def __repr__(self) -> str:
        return (f"Model({str(self.path)!r}: {self.card.get('architecture')}, "
                f"{self.card.get('parameters', 0):,} parameters)")

    @property
    def voice_ranges(self) -> np.ndarray:
        """(4, 2) lowest and highest pitch each voice sings in the training data."""
        return np.asarray(self.card["voice_ranges"])

    # ------------------------------------------------------------------ generate
    def generate(self, seed: int | None = None, *, count: int | None = None, bars: int = defaults.BARS,
                 steps: int | None = None, primer=None, temperature: float = defaults.TEMPERATURE,
                 top_k: int | None = None, top_p: float | None = defaults.TOP_P, greedy: bool = False,
                 range_guard: bool = True, voice_leading: bool = True, key: str | None = None,
                 fermatas=None, plan: bool = True, plan_weight: float = defaults.PLAN_WEIGHT, data=None,
                 title: str | None = None, metre: float = defaults.METRE,
                 harmony: float = defaults.HARMONY, tolerance=defaults.TOLERANCE, scale: float = defaults.SCALE,
                 progress=None) -> Chorale | list[Chorale]:
        """Write new chorales, one note at a time, following a plan of their form.

        seed: the same seed gives the same music (default: random). count: how many, in
        one batched pass, with seeds seed, seed+1, ... (a list; None gives one Chorale).
        bars or steps (16ths): the length. primer: the opening to continue: None (the
        opening bars of the held-out chorale the seed picks), "test:3", "none" (nothing),
        a file path, a Chorale or a (steps, 4) array. temperature, top_k, top_p, greedy:
        how each note is drawn. range_guard keeps each voice in its training range;
        voice_leading redraws notes that would complete parallel fifths or octaves (or
        hidden ones between soprano and bass) or cross two voices, but lets hidden ones and
        crossings stand as often as `tolerance` says (shares for parallels, hidden, crossings;
        None: never), as Bach does. metre > 0 holds the rhythm to the metre as Bach keeps it
        (fewer notes starting on odd 16ths or syncopated); harmony > 0 has the bass avoid
        dissonant chords and 6/4s on the beat; scale > 0 keeps notes in the planned key's
        scale (0: the model's own).

        The plan (models trained with one): key, e.g. "D minor" (default: the primer's; with
        no primer, one of Bach's keys drawn by the seed); fermatas, bar numbers where a
        phrase ends (default: every second bar); the last chord always ends the piece,
        held. plan_weight > 1 follows the plan more closely than the model alone would
        (guidance; 1: the model as it is, at half the cost). plan=False writes without one.
        progress: called as progress(tokens done since the last call, total tokens).
        """
        from chorale.form import fermata_steps, resolve_key
        from chorale.keys import key_name
        from chorale.model.plan import Plan
        from chorale.sampling.sample import PRIMER_STEPS, Controls, generate, primer_grid

        seed = random_seed(seed)
        n = 1 if count is None else checks.count("count", count)
        length = (checks.whole("steps", steps) if steps is not None
                  else checks.whole("bars", bars, 1, MAX_BARS) * STEPS_PER_BAR)
        checks.work("generate", length * N_VOICES, n, "chorales")
        controls = Controls(checks.temperature(temperature), checks.top_k(top_k), checks.top_p(top_p),
                            checks.flag("greedy", greedy),
                            voice_ranges=self.card["voice_ranges"] if checks.flag("range_guard", range_guard) else None,
                            voice_leading=checks.flag("voice_leading", voice_leading),
                            plan_weight=checks.plan_weight(plan_weight), **checks.shaping(metre, harmony, tolerance, scale))
        key, title = checks.text("key", key, MAX_LIST_CHARS), checks.text("title", title)
        checks.callback("progress", progress)
        primer = checks.primer(primer)
        seeds = [seed + i for i in range(n)]
        if primer is None:  # ours to shorten: a piece no longer than it is gets half of it
            cut = PRIMER_STEPS if PRIMER_STEPS < length else max(1, length // 2)
            openings = [primer_grid(None, s, data)[:cut] for s in seeds]
        elif isinstance(primer, Chorale):
            openings = [primer.grid] * n
        elif isinstance(primer, (np.ndarray, list)):
            openings = [checks.grid(primer, "primer")] * n
        elif isinstance(primer, (str, Path)):
            openings = [primer_grid(str(primer), s, data) for s in seeds]
        else:
            raise checks.BadType(f"primer must be None, 'none', 'test:N', a file, a Chorale or a (steps, 4) grid, "
                                 f"got {type(primer).__name__}")
        planned = self._planned(checks.flag("plan", plan), key, fermatas)
        if planned and key is None and isinstance(primer, Chorale) and primer.known_key:
            key = primer.key  # a planned primer goes on in its plan's key
        keys = [resolve_key(key, grid, s) for grid, s in zip(openings, seeds)]  # else the primer's own key
        stops = fermata_steps(fermatas, length)
        plans = [Plan(k, stops, length) for k in keys] if planned else None
        start = time.perf_counter()
        grids, logliks = generate(self.sampler, self.vocab, openings, length, seeds,
                                  controls, plans, progress=_reporting(progress, length * N_VOICES - 1))
        seconds = (time.perf_counter() - start) / n
        pieces = []
        for g, s, ll, k in zip(grids, seeds, logliks, keys):
            name = key_name(*k) if planned else None
            details = {"seed": s, "loglik": float(ll), "seconds": seconds}
            if planned:
                details.update(key=name, fermatas=list(stops))
            pieces.append(Chorale(g, title=title or (f"Chorale in {name} (seed {s})" if planned else f"Chorale (seed {s})"),
                                  key=name, fermatas=stops if planned else (), details=details))
        return pieces[0] if count is None else pieces

    # ------------------------------------------------------------------ harmonize
    def harmonize(self, melody, *, voice: str = defaults.VOICE, part: str | int | None = None,
                  candidates: int = defaults.CANDIDATES, seed: int | None = None,
                  temperature: float = defaults.TEMPERATURE, voice_leading: bool = True, key: str | None = None,
                  fermatas=None, plan: bool = True, title: str | None = None, progress=None,
                  metre: float = defaults.METRE, harmony: float = defaults.HARMONY,
                  tolerance=defaults.TOLERANCE, top_p: float | None = defaults.TOP_P) -> Chorale:
        """Write the other voices around `melody`, sung by `voice`.

        melody: a file (MIDI, MusicXML, CSV; `part` picks its part or track), a Chorale
        (its `voice` line, or its only line) or a (steps,) array of pitches. It is moved by
        octaves (else by the smallest shift) into the model's range for the voice. `voice`
        may also name two or three voices ("soprano,bass" or a list): the piece (a file,
        Chorale or (steps, 4) grid) gives those voices' lines, moved together, and the
        model writes the rest. A model with look-ahead reads every given note first.
        `candidates` harmonizations are sampled in one batch (seeds seed, seed+1, ...); the
        one with the fewest voice-leading errors, then the highest likelihood, is kept.
        `details` says which, and how far the melody was moved ("shift", semitones).

        The plan (models trained with one): key (default: the melody's), fermatas as bar
        numbers of the melody (default: those a MusicXML melody marks, or a Chorale holds;
        else unknown), and the melody's end. plan=False: none. progress: as for `generate`.
        """
        from chorale.form import fermata_steps, resolve_key
        from chorale.keys import key_name
        from chorale.model.plan import Plan
        from chorale.music import voice_leading_faults
        from chorale.sampling.harmonize import fit_range, harmonize, read_line

        names = list(dict.fromkeys(checks.voices(voice)))
        if not names:
            raise checks.BadValue("voice: name at least one voice, such as soprano")
        if len(names) == N_VOICES:
            raise ChoraleError("nothing to write: all four voices are given")
        columns = [VOICES.index(v) for v in names]
        candidates = checks.count("candidates", candidates)
        seed = random_seed(seed)
        temperature, voice_leading = checks.temperature(temperature), checks.flag("voice_leading", voice_leading)
        key, title = checks.text("key", key, MAX_LIST_CHARS), checks.text("title", title)
        plan = checks.flag("plan", plan)
        checks.callback("progress", progress)
        if part is not None and (isinstance(part, bool) or not isinstance(part, (str, int))):
            raise checks.BadType(f"part must be a part's name or 0-based number, got {part!r}")
        if not isinstance(melody, (str, Path, Chorale)):
            melody = checks.pitches("melody", melody)
        if isinstance(melody, (str, Path)):
            name = Path(melody).stem
            if len(names) == 1:
                line, marked = read_line(melody, part)
            elif part is not None:
                raise ChoraleError("a part holds one line: with several voices, the file's own voices are read")
            else:
                line, marked = _lines_of(load(melody), names)
        else:
            name = getattr(melody, "title", "Melody")
            line, marked = _line_of(melody, names[0]) if len(names) == 1 else _lines_of(melody, names)
        checks.work("harmonize", len(line) * N_VOICES, candidates, "candidates")
        ranges = np.asarray(self.card["voice_ranges"])[columns]
        line, shift = fit_range(line, ranges[:, 0], ranges[:, 1], names)
        planned = self._planned(plan, key, fermatas)
        alone = np.zeros((len(line), N_VOICES), np.int32)
        alone[:, columns] = line.reshape(len(line), -1)
        lowest = alone[:, max(columns)]
        the_key = resolve_key(key, alone, seed, ending=int(lowest[lowest != REST][-1]))
        stops = (fermata_steps(fermatas, len(line)) if fermatas is not None
                 else tuple(sorted(set(marked) | {len(line) - 1})) if marked else None)
        result = harmonize(self.sampler, self.vocab, line, names, self.card["voice_ranges"], candidates, seed,
                           temperature, voice_leading, Plan(the_key, stops, len(line)) if planned else None,
                           progress=_reporting(progress, len(line) * N_VOICES - 1),
                           shaping={**checks.shaping(metre, harmony, tolerance), "top_p": checks.top_p(top_p)})
        chosen = result.chosen
        name_of_key = key_name(*the_key) if planned else None
        return Chorale(result.grid, title=title or f"{name} (harmonized)", key=name_of_key,
                       fermatas=stops if planned and stops else (),
                       details={"seed": seed + chosen, "candidate": chosen, "candidates": candidates, "shift": shift,
                                "key": name_of_key, "fermatas": list(stops) if planned and stops else None,
                                "faults": voice_leading_faults(result.grid), "loglik": float(result.logliks[chosen])})

    # ------------------------------------------------------------------ regenerate
    def regenerate(self, piece, *, bars, voices=None, keep=None, candidates: int = defaults.CANDIDATES,
                   seed: int | None = None, temperature: float = defaults.TEMPERATURE, voice_leading: bool = True,
                   title: str | None = None, progress=None, metre: float = defaults.METRE,
                   harmony: float = defaults.HARMONY, tolerance=defaults.TOLERANCE,
                   top_p: float | None = defaults.TOP_P) -> Chorale:
        """Rewrite `voices` (default: all four) in `bars` of `piece` and keep every other note.

        bars: (first, last) 1-based and inclusive, one bar number, or text such as "5-6".
        keep: voices whose notes stay inside the region too. A model with look-ahead reads
        the music on both sides of the region before it writes. `candidates` versions are
        sampled in one batch; the one with the fewest voice-leading errors, then the most
        likely one, is kept (`details` says which). Bars covering the whole piece write it
        anew, following its plan (`details["whole"]`).
        """
        from chorale.music import voice_leading_faults
        from chorale.sampling.regenerate import regenerate

        original = piece if isinstance(piece, Chorale) else Chorale(checks.grid(piece, "piece"))
        first, last = parse_bars(bars, original.bars)
        written = [v for v in checks.voices(voices) if v not in checks.voices(keep or ())]
        if not written:
            raise ChoraleError(f"nothing to write: every voice in bars {first}-{last} is kept")
        region = np.zeros(original.grid.shape, bool)
        region[(first - 1) * STEPS_PER_BAR: last * STEPS_PER_BAR, [VOICES.index(v) for v in written]] = True
        candidates, seed = checks.count("candidates", candidates), random_seed(seed)
        temperature, voice_leading = checks.temperature(temperature), checks.flag("voice_leading", voice_leading)
        title = checks.text("title", title)
        checks.callback("progress", progress)
        back = self.sampler.receptive_field()[0]  # tokens before the region the sampler reads (None: all)
        start = (first - 1) * STEPS_PER_BAR * N_VOICES
        checks.work("regenerate", last * STEPS_PER_BAR * N_VOICES - (0 if back is None else max(0, start - 1 - back)),
                    candidates, "candidates")
        tokens = region.size + N_VOICES * int(region[0, 0])  # a rest chord leads when the first note is written
        result = regenerate(self.sampler, self.vocab, original.grid, region, self.card["voice_ranges"], candidates,
                            seed, temperature, voice_leading, self._plan_of(original),
                            progress=_reporting(progress, tokens - 1),
                            shaping={**checks.shaping(metre, harmony, tolerance), "top_p": checks.top_p(top_p)})
        chosen = result.chosen
        return Chorale(result.grid, title=title or original.title, tempo=original.tempo,
                       details={"bars": (first, last), "voices": written, "whole": bool(region.all()),
                                "seed": seed + chosen, "candidate": chosen, "candidates": candidates,
                                "faults": voice_leading_faults(result.grid), "loglik": float(result.logliks[chosen])})

    def _planned(self, plan: bool, key, fermatas) -> bool:
        """Whether to write with a plan: asked for and the model has one. A key or fermatas
        asked for without one is an error, not silently ignored."""
        planned = plan and bool(self.sampler.plan_columns)
        if not planned and (key is not None or fermatas is not None):
            raise ChoraleError("a key or fermatas need a model trained with a plan (this one has none)"
                               if plan else "a key or fermatas need the plan (plan=True)")
        return planned

    def _plan_of(self, piece: Chorale):
        """What a finished piece tells the model about itself: its key (given, else the best
        fit to its notes), its fermatas where it has them, its length. None without a plan."""
        from chorale.form import resolve_key
        from chorale.model.plan import Plan

        if not self.sampler.plan_columns:
            return None
        key = resolve_key(piece.key if piece.known_key else None, piece.grid, 0)
        return Plan(key, piece.fermatas or None, piece.steps)

    # ------------------------------------------------------------------ score
    def score(self, piece) -> dict:
        """How likely the model finds `piece` (a Chorale or (steps, 4) grid), read left to
        right from its first note: {"nll": mean nats per token, "per_voice": {...},
        "tokens": how many were scored}. Computed in NumPy, exactly as the model would."""
        from chorale.sampling.sample import log_likelihoods

        grid = piece.grid if isinstance(piece, Chorale) else checks.grid(piece, "piece")
        tokens = self.vocab.encode(grid).astype(np.int64)
        if len(tokens) < 2:
            raise ChoraleError("a piece needs at least two notes to be scored")
        nll = -log_likelihoods(self.sampler, tokens[None])[0]
        voices = np.arange(1, len(tokens)) % N_VOICES
        return {"nll": float(nll.mean()), "tokens": int(len(nll)),
                "per_voice": {name: float(nll[voices == v].mean()) if (voices == v).any() else float("nan")
                              for v, name in enumerate(VOICES)}}  # NaN: a piece too short to score that voice


def parse_bars(bars, total: int) -> tuple[int, int]:
    """(first, last) 1-based bars from (first, last), one bar number or "5-6" / "5", checked
    against a piece of `total` bars."""
    if isinstance(bars, str):
        first, sep, last = bars.strip().partition("-")
        cells = (first.strip(), (last if sep else first).strip())
        if not all(c.isascii() and c.isdigit() and len(c) <= 9 for c in cells):
            raise checks.BadValue(f"bars '{bars[:40]}': expected FIRST-LAST, such as 5-6, or one bar number")
        bars = (int(cells[0]), int(cells[1]))
    elif isinstance(bars, (int, np.integer)) and not isinstance(bars, bool):
        bars = (int(bars), int(bars))
    if not isinstance(bars, (tuple, list)) or len(bars) != 2 or not all(checks.is_whole(b) for b in bars):
        raise checks.BadValue(f"bars {checks.shown(bars)}: expected (first, last), such as (5, 6)")
    first, last = (int(b) for b in bars)
    if first > last:
        raise ChoraleError(f"bars {first}-{last}: the first bar comes after the last")
    if first < 1 or last > total:
        raise ChoraleError(f"bars {first}-{last} are outside the piece (bars 1-{total})")
    return first, last


def _reporting(progress, total: int):
    """The sampler's per-token callback, for a `progress(done, total)` callable (or None)."""
    return None if progress is None else lambda done: progress(done, total)


def _lines_of(piece, names: list[str]) -> tuple[np.ndarray, tuple[int, ...]]:
    """(the lines (steps, k) of the voices `names` in a Chorale or (steps, 4) grid, without the
    steps before and after them where nothing is sung; the Chorale's fermatas on them)."""
    from chorale.sampling.harmonize import trimmed

    grid = piece.grid if isinstance(piece, Chorale) else checks.grid(piece, "melody")
    lines = grid[:, [VOICES.index(v) for v in names]]
    for v, line in zip(names, lines.T):
        if not (line != REST).any():
            raise ChoraleError(f"the piece has no notes in the {v}")
    return trimmed(lines, getattr(piece, "fermatas", ()), "the piece has no notes")


def _line_of(melody, voice: str) -> tuple[np.ndarray, tuple[int, ...]]:
    """(the melodic line of a Chorale or array: the `voice` column, or the only sung one,
    without leading or trailing rests; a Chorale's fermatas on that line)."""
    from chorale.sampling.harmonize import trimmed

    grid = melody.grid if isinstance(melody, Chorale) else np.asarray(melody)
    if grid.ndim == 1:
        line = grid
    else:
        sung = [v for v in range(grid.shape[1]) if (grid[:, v] != REST).any()]
        column = VOICES.index(voice) if VOICES.index(voice) in sung or len(sung) != 1 else sung[0]
        line = grid[:, column]
    return trimmed(line, getattr(melody, "fermatas", ()), f"the melody has no notes in the {voice}")


# ---------------------------------------------------------------------------- data / train / evaluate
def build_dataset(source=None, out=None, *, force: bool = False, limit: int | None = None, jobs: int = 2,
                  progress=None) -> dict:
    """Build a dataset folder: the JSB layout, a manifest (title, key, meter, fermatas) and
    the melody-aware split.

    source None: music21's Bach chorales, into `out` (default: the bundled data/chorales).
    source a folder: every MusicXML, MIDI, Humdrum kern or JSB CSV file under it that holds
    a four-part chorale in 4/4 or 3/4; the others are skipped with the reason. `out` then
    defaults to outputs/datasets/<source's name>. `jobs` processes parse; `progress(done,
    total)` counts files. Returns {"out", "chorales", "splits": {split: count}, "skipped":
    [(file, reason)]}; when nothing is usable, ChoraleError, and nothing is written."""
    from chorale.data import corpus, scores
    from chorale.io.files import bundled

    def counted(items, length):
        def each():
            for item in items:
                yield item
                progress(1, length)
        return contextlib.nullcontext(each() if progress is not None else items)

    if source is None:
        out = Path(out) if out is not None else bundled("chorales")
        kept, skipped = corpus.build(out, force=force, limit=limit, jobs=jobs, progress=counted)
    else:
        source = Path(source)
        out = Path(out) if out is not None else Path(defaults.DATASETS) / (source.resolve().name or "dataset")
        kept, skipped = scores.build(source, out, force=force, limit=limit, jobs=jobs, progress=counted)
    splits = [row[1] for row in csv.reader(io.StringIO((out / "manifest.csv").read_text(encoding="utf-8")))][1:]
    return {"out": str(out), "chorales": len(kept), "splits": {s: splits.count(s) for s in dict.fromkeys(splits)},
            "skipped": skipped}


def train(out=None, *, data=None, arch: str | None = None, epochs: int | None = None,
          batch_size: int | None = None, learning_rate: float | None = None, augment: bool | None = None,
          plan: bool | None = None, look_ahead: bool | None = None, seed: int | None = None,
          options: dict | None = None, resume: bool = False,
          force: bool = False, distribute: str | None = None, verbose=None) -> Model | None:
    """Train a chorale model into the run folder `out` (default: a new folder under
    outputs/models/) and return it, ready to generate. `model.card` holds the recipe and
    the metrics. None means the architecture's default (see `chorale train --help`).
    On several machines (TF_CONFIG), workers other than the chief return None."""
    from chorale.io.files import run_lock
    from chorale.model.run import check_run_folder

    if resume and out is None:
        raise ChoraleError("resume needs the run folder to continue (out=...)")
    out = Path(out) if out is not None else Path(defaults.RUNS) / f"{arch or 'default'}-{time.strftime('%Y%m%d-%H%M%S')}"
    seed = None if seed is None else random_seed(seed)
    from chorale.model.distributed import is_chief

    writes = distribute != "mirrored" or is_chief()  # on several machines only the chief writes `out`
    if writes:
        check_run_folder(out, resume, force)  # before TensorFlow loads: a wrong folder is said at once
    from chorale.model.train import train as run_training

    with run_lock(out) if writes else contextlib.nullcontext():  # a second command writing it is refused at once
        card = run_training(out, data=data, arch=arch, epochs=epochs, batch_size=batch_size,
                            learning_rate=learning_rate, augment=augment, plan=plan, look_ahead=look_ahead,
                            seed=seed, options=options,
                            resume=resume, force=force, distribute=distribute, verbose=verbose)
    return None if card is None else Model(out)


def evaluate(model=None, *, data=None, split: str = defaults.SPLIT) -> dict:
    """Next-token NLL (nats per token) and accuracy of a run folder's model (default: the
    bundled one) on a dataset split: {"windowed": ..., "whole": ...} plus what was scored."""
    from chorale.io.files import bundled
    from chorale.model.run import read_card

    model = model.path if isinstance(model, Model) else model if model is not None else bundled("model")
    read_card(model)  # a wrong folder is said at once, before TensorFlow loads
    from chorale.model.evaluate import evaluate as run_evaluation

    return run_evaluation(model, data, split)


# ---------------------------------------------------------------------------- files, datasets, the studio
# What the CLI's other commands call: each a thin door to the module that does the work, so
# every command is parse, call, print.
def write(piece, outputs: dict, *, title: str | None = None, tempo: float = defaults.TEMPO,
          program: int = defaults.PROGRAM, force: bool = False) -> list[str]:
    """Write `piece` (a Chorale, or a chorale file to read) to every output of `outputs`
    ({format name: path or None}, the names of chorale.registry.FORMATS), all checked before
    any is written; one line per file saying what was written."""
    from chorale.io.render import render_all

    piece = piece if isinstance(piece, Chorale) else load(piece)
    return render_all(piece.grid, title=title or piece.title, tempo=tempo, program=program,
                      key=piece.key if piece.known_key else None, fermatas=piece.fermatas, force=force,
                      **{name: path for name, path in outputs.items() if path})


def check_outputs(outputs: dict, force: bool = False) -> None:
    """Refuse, before any work, outputs ({format name: path}) of an unknown type, given twice,
    existing (unless `force`) or unwritable."""
    from chorale.io.render import check_outputs as check

    check(outputs, force)


def instrument(name) -> int:
    """The 0-based General MIDI program of an instrument name ("choir aahs") or number 1-128."""
    from chorale.io.instruments import program_number

    return program_number(name)


def dataset_info(path=None) -> dict:
    """Summary of a dataset (default: the bundled one): chorales and steps per split, pitch
    range per voice, fermatas, and from its manifest the meters and keys with their counts."""
    from chorale.data.loader import info
    from chorale.data.loader import load as load_dataset

    return info(load_dataset(path))


def evaluate_music(files, *, data=None, split: str = defaults.SPLIT) -> dict:
    """Voice leading and style measures of chorale files (or folders of them, one column
    each) next to the real chorales of `split` (docs/music.md)."""
    from chorale.musicality import evaluate_files

    return evaluate_files(files, data, split)


def music_table(columns: dict) -> str:
    """Side-by-side text table of `evaluate_music` aggregates: {column title: metrics}."""
    from chorale.music import table

    return table(columns)


def chorale_table(scored: dict) -> str:
    """One line per chorale of one `evaluate_music` column."""
    from chorale.music import chorale_table as per_chorale

    return per_chorale(scored)


def describe_faults(faults: dict) -> str:
    """A piece's voice-leading faults (`details["faults"]`) as a person says them."""
    from chorale.music import describe_faults as describe

    return describe(faults)


def note_name(pitch: int) -> str:
    """MIDI 62 -> "D4"."""
    from chorale.encoding import note_name as name

    return name(pitch)


def studio(*, host: str = "127.0.0.1", port: int = 8000, model_dir=None, open_browser: bool = False,
           echo=print) -> None:
    """Serve the studio page on host:port until Ctrl-C (see docs/studio.md)."""
    from chorale.studio.server import serve

    serve(host=host, port=port, model_dir=model_dir, open_browser=open_browser, echo=echo)


def os_error(path, error: OSError) -> ChoraleError:
    """An OSError about `path` as the one-line error a user reads."""
    from chorale.io.files import os_error as said

    return said(path, error)


def path_kind(path) -> str | None:
    """"file", "folder", another kind, or None when nothing is there (a name too long or a
    folder that cannot be read is an error, said as such)."""
    from chorale.io.files import kind

    return kind(path)


def create_on_write(folder) -> None:
    """Let a default output folder (outputs/) be made when the first file is written into it."""
    from chorale.io.files import create_on_write as allow

    allow(folder)
