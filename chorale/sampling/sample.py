"""Autoregressive sampling: controls, the sampling loop, and `generate`.

The model runs one token at a time on NumPy copies of its weights (a `Stepper`, see
`chorale.sampling.stepper`), so a token costs the same at any length. Given tokens
(primers, melodies) are fed as they are; each sampled note may be redrawn by the
voice-leading guard (`chorale.sampling.guard`). A plan (key, fermatas, length; see
`chorale.model.plan`) is read by the model at every step, and a model with look-ahead
reads every given token, ahead of the current step as well as behind it, before the first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chorale import ChoraleError
from chorale.encoding import N_VOICES, REST, STEPS_PER_BAR, UNSAMPLED, Vocabulary
from chorale.model.masks import known_ids
from chorale.model.outputs import log_softmax
from chorale.model.plan import Plan, ending, plan_rows
from chorale.sampling.guard import fault_kinds, forbidden_tokens
from chorale.sampling.stepper import Sampler, one_thread


@dataclass(frozen=True)
class Controls:
    """How the next token is picked from the model's distribution."""

    temperature: float = 1.0
    top_k: int | None = None
    top_p: float | None = None
    greedy: bool = False
    voice_ranges: np.ndarray | None = None  # (4, 2) pitch range per voice; None = any pitch
    voice_leading: bool = True  # redraw notes that complete parallel or hidden 5ths/8ves (see `sample`)
    plan_weight: float = 1.0  # > 1 follows the plan more (guidance, see `sample`); 1 = the model as it is
    metre: float = 0.0  # > 0 holds notes to the metre (see `metre_penalty`); 0 = the model as it is
    harmony: float = 0.0  # > 0: fewer dissonant chords and 6/4s on the beat (see `harmony_penalty`)
    scale: float = 0.0  # > 0: fewer notes outside the planned key's scale (see `key_penalty`)
    tolerance: tuple[float, float, float] | None = None  # how often the guard lets a parallel, a hidden
    # 5th/8ve or a crossing stand (see `sample`); None: never

    def __post_init__(self):
        if not 0 < self.temperature < float("inf"):  # NaN fails this too
            raise ChoraleError(f"temperature must be a number > 0, got {self.temperature}")
        if self.top_k is not None and self.top_k < 1:
            raise ChoraleError(f"top-k must be at least 1, got {self.top_k}")
        if self.top_p is not None and not 0 < self.top_p <= 1:
            raise ChoraleError(f"top-p must be in (0, 1], got {self.top_p}")
        if self.plan_weight < 0:
            raise ChoraleError(f"plan weight must be >= 0, got {self.plan_weight}")
        if self.tolerance is not None and (len(self.tolerance) != 3 or not all(0 <= x <= 1 for x in self.tolerance)):
            raise ChoraleError(f"tolerance must be three shares in 0..1, got {self.tolerance}")
        if not 0 <= self.scale < float("inf"):
            raise ChoraleError(f"scale must be a number >= 0, got {self.scale}")
        if not 0 <= self.harmony < float("inf"):
            raise ChoraleError(f"harmony must be a number >= 0, got {self.harmony}")
        if not 0 <= self.metre < float("inf"):
            raise ChoraleError(f"metre must be a number >= 0, got {self.metre}")


def allowed_tokens(vocab: Vocabulary, voice_ranges) -> np.ndarray:
    """(4, vocab.size) boolean mask: the rest and the pitches inside each voice's range."""
    mask = np.ones((N_VOICES, vocab.size), bool)
    if voice_ranges is not None:
        pitches = np.arange(vocab.size) + vocab.low - 1
        for v, (low, high) in enumerate(np.asarray(voice_ranges)):
            mask[v] = (pitches >= low) & (pitches <= high)
        mask[:, 0] = True
    return mask


def next_token_probs(logits: np.ndarray, controls: Controls, allowed: np.ndarray) -> np.ndarray:
    """Turn (batch, vocab) logits into the distribution to sample from."""
    logits = np.where(allowed, logits / controls.temperature, -np.inf)
    if controls.greedy:
        return (logits == logits.max(axis=-1, keepdims=True)).astype(np.float64)
    if controls.top_k is not None and controls.top_k < logits.shape[-1]:
        kth = np.sort(logits, axis=-1)[:, -controls.top_k][:, None]
        logits = np.where(logits >= kth, logits, -np.inf)
    probs = np.exp(log_softmax(logits.astype(np.float64)))
    if controls.top_p is not None and controls.top_p < 1:
        order = np.argsort(-probs, axis=-1, kind="stable")
        sorted_probs = np.take_along_axis(probs, order, axis=-1)
        # keep the smallest prefix of most likely tokens whose mass reaches top_p
        keep_sorted = np.cumsum(sorted_probs, axis=-1) - sorted_probs < controls.top_p
        keep = np.zeros_like(keep_sorted)
        np.put_along_axis(keep, order, keep_sorted, axis=-1)
        probs = np.where(keep, probs, 0.0)
    return probs / probs.sum(axis=-1, keepdims=True)


def inverse_cdf(probs: np.ndarray, u: np.ndarray) -> np.ndarray:
    """The token where each uniform draw u falls in its row's cumulative distribution."""
    picks = (probs.cumsum(axis=-1) < u[:, None] * probs.sum(axis=-1, keepdims=True)).sum(axis=-1)
    return np.minimum(picks, probs.shape[-1] - 1)


def plan_inputs(sampler: Sampler, plans, steps: int, batch: int) -> tuple[np.ndarray | None, np.ndarray]:
    """(plan rows (batch, steps * 4, columns) or None, first held step per sequence (steps: none)).

    plans: None, or one Plan (or None: nothing known) per sequence. A plan given to a model
    trained without one is an error, not silently ignored."""
    held = np.full(batch, steps)
    if plans is None or all(p is None for p in plans):
        return None, held
    if len(plans) != batch:
        raise ChoraleError(f"{len(plans)} plans for {batch} sequences")
    if not sampler.plan_columns:
        raise ChoraleError("this model was trained without a plan (its card says \"plan\": 0); "
                           "sample without one, or train a model with plans")
    rows = []
    shared = all(p == plans[0] for p in plans)  # candidates share one plan: one copy of its rows, not K
    for i, plan in enumerate(plans):
        if plan is not None and plan.length is not None and plan.length != steps:
            raise ChoraleError(f"the plan is for {plan.length} steps, but {steps} are to be written")
        plan, first_held = ending(plan, steps)
        held[i] = steps if first_held is None else first_held
        if i and shared:
            continue
        rows.append(plan_rows(plan, steps))
    if len(rows) == 1:
        return np.broadcast_to(rows[0], (batch, *rows[0].shape)), held
    return np.stack(rows), held


PHRASE_BASS = {"major": (0, 7, 9, 4), "minor": (0, 7, 3, 10)}  # above the tonic: the tonic and dominant
# of the key and of its relative, where Bach's phrases end (97% of his fermata basses, reference.md)


def cadences(vocab: Vocabulary, plans, batch: int, steps: int):
    """What a planned piece's cadences allow: (first, final (batch, 4, vocab) the notes each
    voice may sing in the opening and the final chord: the tonic triad (the last one may
    end major in a minor key), the bass on the tonic itself, as Bach opens and closes nearly
    every chorale; phrase (batch, vocab) the bass notes under the other fermatas:
    PHRASE_BASS; at (batch, steps) which steps are such fermatas). Everything is allowed
    where the key is unknown."""
    from chorale.keys import tonic_triad

    first = np.ones((batch, N_VOICES, vocab.size), bool)
    final = np.ones((batch, N_VOICES, vocab.size), bool)
    phrase = np.ones((batch, vocab.size), bool)
    at = np.zeros((batch, steps), bool)
    pitch_classes = (np.arange(vocab.size) + vocab.low - 1) % 12  # token -> pitch class (token 0: a rest)
    for i, plan in enumerate(plans or ()):
        if plan is None or plan.key is None:
            continue
        tonic, mode = plan.key
        for chord, last in ((first, False), (final, True)):
            chord[i, :N_VOICES - 1] = np.isin(pitch_classes, list(tonic_triad(tonic, mode, last)))
            chord[i, N_VOICES - 1] = pitch_classes == tonic
            chord[i, :, 0] = False  # every voice sings it
        phrase[i] = np.isin(pitch_classes, [(tonic + d) % 12 for d in PHRASE_BASS[mode]])
        phrase[i, 0] = False
        at[i, [f for f in plan.fermatas or () if f < steps]] = True
    return first, final, phrase, at


def final_thirds(vocab: Vocabulary, plans, batch: int) -> np.ndarray:
    """(batch, vocab) the notes that make a planned final chord a triad: its third (major or
    minor in a minor key, the Picardy third); every note where the key is unknown."""
    third = np.ones((batch, vocab.size), bool)
    pitch_classes = (np.arange(vocab.size) + vocab.low - 1) % 12
    for i, plan in enumerate(plans or ()):
        if plan is not None and plan.key is not None:
            tonic, mode = plan.key
            third[i] = np.isin(pitch_classes, [(tonic + d) % 12 for d in ((4,) if mode == "major" else (3, 4))])
            third[i, 0] = False
    return third


SCALES = {"major": (0, 2, 4, 5, 7, 9, 11, 10), "minor": (0, 2, 3, 5, 7, 8, 10, 9, 11)}  # above the tonic:
# the key's scale and the notes its cadences borrow (the flat 7th in major; both 6ths and 7ths in minor)


def key_penalty(vocab: Vocabulary, plans, batch: int, strength: float) -> np.ndarray:
    """(batch, vocab) what a planned piece's notes outside its key's scale (SCALES) lose: a
    little, since Bach modulates, but enough that a piece asked for in a key stays in it."""
    penalty = np.zeros((batch, vocab.size))
    pitch_classes = (np.arange(vocab.size) + vocab.low - 1) % 12
    for i, plan in enumerate(plans or ()):
        if strength and plan is not None and plan.key is not None:
            tonic, mode = plan.key
            penalty[i] = strength * ~np.isin(pitch_classes, [(tonic + d) % 12 for d in SCALES[mode]])
            penalty[i, 0] = 0
    return penalty


ODD_ONSET = np.array([1.0, 0.0, 0.0, 6.0])  # per voice: the bass, which Bach almost never moves on a 16th, most
SYNCOPATION = np.array([2.0, 2.0, 2.0, 6.0])  # per voice: nor holds a note begun off the beat into the next one


def note_starts(tokens: np.ndarray, upto: int) -> np.ndarray:
    """(batch, 4): for each voice, the step where the note it sings at token `upto` began
    (a pitch differing from the voice's previous one starts a note), from the tokens so far."""
    started = np.zeros((len(tokens), N_VOICES), int)
    index = np.arange(N_VOICES, upto + 1)
    struck = tokens[:, index] != tokens[:, index - N_VOICES]
    for voice in range(N_VOICES):
        mine = index % N_VOICES == voice
        started[:, voice] = np.where(struck[:, mine], index[mine] // N_VOICES, 0).max(axis=1, initial=0)
    return started


def metre_penalty(previous: np.ndarray, started: np.ndarray, step: int, voice: int, size: int,
                  strength: float) -> np.ndarray:
    """(batch, size) what to take from a voice's logits so that its rhythm keeps to the metre
    as Bach's does: a new note starting on an odd 16th (the 2nd or 4th of a beat) loses
    strength * ODD_ONSET[voice], and a note begun off the beat that would be held (or struck
    again) on the next beat loses strength * SYNCOPATION[voice]: the model alone writes both
    several times as often as Bach (docs/music.md, Bach or not).

    previous: (batch,) the voice's token one step back (-1: none); started: (batch,) the step
    where that note began."""
    penalty = np.zeros((len(previous), size))
    if strength == 0 or step == 0:
        return penalty
    tokens = np.arange(size)[None]
    if step % 2 == 1:  # an onset: a pitch other than the note sounding
        penalty += strength * ODD_ONSET[voice] * ((tokens != previous[:, None]) & (tokens != REST))
    elif step % 4 == 0:
        syncopated = (previous > REST) & (started % 4 != 0)
        penalty += strength * SYNCOPATION[voice] * (syncopated[:, None] & (tokens == previous[:, None]))
    return penalty


HARMONY = {"other": 1.0, "6/4": 0.5}  # on a beat, what a bass note making such a sonority loses, times the strength


def harmony_penalty(upper: np.ndarray, vocab: Vocabulary, strength: float) -> np.ndarray:
    """(batch, vocab) what to take from the bass's logits on a beat, knowing the upper voices
    of its chord (upper: (batch, 3) tokens): a note under which they sound no triad or seventh
    chord (an unprepared dissonance, as the model writes half again as often as Bach), or a
    6/4, loses strength * HARMONY[kind]."""
    from chorale.style import sonority

    penalty = np.zeros((len(upper), vocab.size))
    if strength == 0:
        return penalty
    pitch_classes = (np.arange(1, vocab.size) + vocab.low - 1) % 12
    for i, row in enumerate(upper):
        sung = frozenset(int(v + vocab.low - 1) % 12 for v in row if v > REST)
        if len(sung) < 2:
            continue
        cost = {pc: HARMONY.get(sonority(sung, pc), 0.0) for pc in range(12)}
        penalty[i, 1:] = strength * np.array([cost[pc] for pc in pitch_classes])
    return penalty


def first_chord(forced: np.ndarray) -> np.ndarray:
    """(batch,) the step of each sequence's first chord when nothing but rests comes before it
    and all of it is to be written (a piece begun from nothing), else -1. A planned piece
    opens, as it closes, on its tonic chord: the chorales begin there."""
    chords = np.asarray(forced).reshape(len(forced), -1, N_VOICES)
    opening = np.full(len(forced), -1)
    for i, steps in enumerate(chords):
        sung = np.flatnonzero((steps != REST).any(axis=1))
        if sung.size and (steps[sung[0]] == UNSAMPLED).all() and (steps[:sung[0]] == REST).all():
            opening[i] = sung[0]
    return opening


@one_thread
def sample(model, vocab: Vocabulary, forced: np.ndarray, seeds, controls: Controls = Controls(),
           progress=None, plans=None):
    """Sample token sequences, one token at a time, from a Sampler or a Keras chorale model.

    forced: (batch, tokens) int array; a value >= 0 is given (primer notes, a melody to
    harmonize, the music around a region) and is fed to the model as it is (a model with
    look-ahead reads all of them from the start); UNSAMPLED (-1) marks tokens to sample.
    Every sequence has its own random generator (seeded from `seeds`), so a batch gives
    the same music as sampling each sequence alone. The first token must be given.

    plans: None, or one `Plan` (or None) per sequence, read by the model at every step
    (a model trained with plans runs with everything unknown when there is none). A plan
    whose last fermata falls in the final steps ends on a held chord
    (`chorale.model.plan.ending`): the unsampled tokens after that fermata repeat its chord,
    and that final chord is drawn from the key's tonic triad over the tonic (so is the first
    chord of a piece begun from nothing, `first_chord`); the bass under the other fermatas
    closes on the tonic or dominant of the key or its relative (`cadences`).
    With `controls.plan_weight` w != 1, notes are drawn from u + w * (c - u), c and u the
    model's logits with and without the plan (classifier-free guidance: w > 1 follows the
    plan more than the model alone would, at twice the cost per token).

    With `controls.voice_leading`, a sampled note that would complete a parallel fifth or
    octave with a voice already known in its chord (sampled before it, or given), or a
    hidden one between soprano and bass, or cross a known voice, is drawn again, with the
    sequence's next random number, from the distribution without such notes: exactly the
    model's distribution conditioned on no such fault, and the music is unchanged up to the
    first one. If that would leave only the rest, the note is kept. With `controls.tolerance`
    (shares for parallels, hidden 5ths/8ves, crossings) such a note stands with that
    probability (the product, for several kinds; one more random number), as Bach lets a few
    stand: a penalty instead of a ban.
    Returns (tokens (batch, length), the model's mean log-likelihood per sampled token (batch,),
    with the plan, without guidance).
    """
    forced = np.asarray(forced)
    batch, length = forced.shape
    if (forced[:, 0] == UNSAMPLED).any():
        raise ChoraleError("the first token must be given (use a primer)")
    rngs = [np.random.default_rng(s) for s in seeds]
    allowed = allowed_tokens(vocab, controls.voice_ranges)
    everything = np.arange(vocab.size)[None]
    sampler = model if isinstance(model, Sampler) else Sampler.from_model(model)
    sampler.check_length(length)
    rows, held = plan_inputs(sampler, plans, -(-length // N_VOICES), batch)
    first_chord_notes, final_chord, phrase_bass, phrase_end = cadences(vocab, plans, batch, -(-length // N_VOICES))
    third = final_thirds(vocab, plans, batch)
    off_key = key_penalty(vocab, plans, batch, controls.scale)
    opening = first_chord(forced)
    known = known_ids(forced, forced != UNSAMPLED)
    if batch > 1 and (known == known[:1]).all():
        known = known[:1]  # every sequence knows the same cells (candidates): the encoder reads them once
    # Only the tokens within the model's reach of those to write are fed: from `back` tokens
    # before the first (all of them for a recurrent model) to the one before the last.
    free = np.flatnonzero((forced == UNSAMPLED).any(axis=0))
    back = sampler.receptive_field()[0]
    start = 0 if back is None or not free.size else max(0, int(free[0]) - 1 - back)
    stop = int(free[-1]) - 1 if free.size else -1
    stepper = sampler.stepper(batch, known, start, max(stop, start))
    # guidance: a second stepper without the plan (the known notes still known), and logits pushed away from its own
    guided = rows is not None and controls.plan_weight != 1
    planless = stepper.fresh() if guided else None
    tokens = forced.copy()
    loglik = np.zeros(batch)
    sampled = np.zeros(batch)
    started = note_starts(tokens, start)  # the step where each voice's sounding note began
    if progress is not None and start:
        progress(start)
    for t in range(start, stop + 1):
        logits = stepper(tokens[:, t], t, None if rows is None else rows[:, t])
        drawn = logits
        if guided:
            without = planless(tokens[:, t], t)
            drawn = without + controls.plan_weight * (logits - without)
        free = tokens[:, t + 1] == UNSAMPLED
        hold = free & ((t + 1) // N_VOICES >= held)  # the final chord, held: a copy, not a sample
        tokens[hold, t + 1] = tokens[hold, t + 1 - N_VOICES]
        free &= ~hold
        if free.any():
            voice = (t + 1) % N_VOICES
            chord_start = t + 1 - voice
            step = (t + 1) // N_VOICES
            choices = np.repeat(allowed[voice][None], batch, axis=0)
            narrow = np.repeat(np.ones_like(allowed[voice])[None], batch, axis=0)
            final = step == held - 1  # the final chord, which is then held
            narrow[final] = final_chord[final, voice]
            begins = step == opening
            narrow[begins] = first_chord_notes[begins, voice]
            if voice == N_VOICES - 1:  # the bass under a phrase's last chord
                ending = phrase_end[:, step] & ~final & ~begins
                narrow[ending] = phrase_bass[ending]
            if voice == 2:  # the final chord's tenor supplies the third when the soprano and alto leave it out
                missing = final & ~(third[np.arange(batch)[:, None], tokens[:, chord_start:chord_start + 2]]).any(axis=1)
                narrow[missing] &= third[missing]
            closing = step >= held - STEPS_PER_BAR  # no general rest in the last bar: every voice sings
            narrow[closing, 0] = False
            narrowed = choices & narrow
            possible = narrowed[:, 1:].any(axis=1)  # a voice whose range misses them keeps its notes
            choices = np.where(possible[:, None], narrowed, choices)
            if controls.metre:
                behind = tokens[:, t + 1 - N_VOICES] if step else np.full(batch, -1)
                drawn = drawn - metre_penalty(behind, started[:, voice], step, voice, vocab.size, controls.metre)
            if controls.scale:
                drawn = drawn - off_key
            if controls.harmony and voice == N_VOICES - 1 and step % 4 == 0:
                drawn = drawn - harmony_penalty(tokens[:, chord_start:chord_start + 3], vocab, controls.harmony)
            probs = next_token_probs(drawn, controls, choices)
            # each sequence draws from its own generator for its own tokens: batching never changes the music
            u = np.array([rng.random() if f else 0.0 for rng, f in zip(rngs, free)])
            picks = inverse_cdf(probs, u)
            if controls.voice_leading and chord_start:
                previous = tokens[:, chord_start - N_VOICES: chord_start]
                current = tokens[:, chord_start: chord_start + N_VOICES]
                kinds = [k[:, 0] for k in fault_kinds(previous, current, voice, picks[:, None])]
                faulty = free & (kinds[0] | kinds[1] | kinds[2])
                if controls.tolerance is not None:  # Bach allows some now and then: let that many stand
                    keep = np.prod([np.where(k, share, 1.0) for k, share in zip(kinds, controls.tolerance)], axis=0)
                    for i in np.flatnonzero(faulty & (keep > 0)):
                        faulty[i] = rngs[i].random() >= keep[i]
                redraw = np.flatnonzero(faulty)
                if redraw.size:
                    fault = forbidden_tokens(previous[redraw], current[redraw], voice, everything)
                    guarded = choices[redraw] & ~fault
                    # the voice leading outranks the final chord: a cadence note that would make
                    # parallels gives way to another of the voice's notes
                    # but never over the final chord: a piece ends on its tonic triad, whatever the way in
                    stuck = ~guarded[:, 1:].any(axis=1)
                    cadence = stuck & final[redraw]
                    guarded[cadence] = choices[redraw][cadence]
                    stuck &= ~cadence
                    guarded[stuck] = allowed[voice] & ~fault[stuck]
                    has_pitch = guarded[:, 1:].any(axis=1)  # token 0 is the rest: never force one
                    redraw, guarded = redraw[has_pitch], guarded[has_pitch]
                    u = np.array([rngs[i].random() for i in redraw])
                    picks[redraw] = inverse_cdf(next_token_probs(drawn[redraw], controls, guarded), u)
            tokens[free, t + 1] = picks[free]
            loglik[free] += log_softmax(logits)[free, picks[free]]
            sampled += free
        if t + 1 >= N_VOICES:
            voice, step = (t + 1) % N_VOICES, (t + 1) // N_VOICES
            struck = tokens[:, t + 1] != tokens[:, t + 1 - N_VOICES]
            started[struck, voice] = step
        if progress is not None:
            progress(1)
    if progress is not None and length - 1 > max(stop + 1, start):
        progress(length - 1 - max(stop + 1, start))  # the given tokens after the last written one
    return tokens, loglik / np.maximum(sampled, 1)


@one_thread
def log_likelihoods(sampler: Sampler, tokens: np.ndarray) -> np.ndarray:
    """(batch, length - 1) log-probability the model gives each token after the first,
    reading `tokens` (batch, length) left to right with nothing known ahead: teacher forcing
    on the NumPy stepper."""
    tokens = np.asarray(tokens, np.int64)
    sampler.check_length(tokens.shape[1] - 1)
    stepper = sampler.stepper(len(tokens), np.zeros(tokens.shape, np.int32))
    out = np.empty((len(tokens), tokens.shape[1] - 1))
    rows = np.arange(len(tokens))
    for t in range(tokens.shape[1] - 1):
        out[:, t] = log_softmax(stepper(tokens[:, t], t).astype(np.float64))[rows, tokens[:, t + 1]]
    return out


# ---------------------------------------------------------------------------- generate
PRIMER_STEPS = 2 * STEPS_PER_BAR  # the default primer: the opening two bars of a held-out chorale


def primer_grid(spec: str | None, seed: int, data=None) -> np.ndarray:
    """The (steps, 4) opening to continue.

    None: the opening two bars of the held-out (test) chorale the seed picks, so different
    seeds start from different music. "test:3" (or "valid:0", ...): that chorale's opening
    two bars. "none": a single rest chord, so the model writes everything. Anything else
    is a .csv, MIDI or MusicXML file, used whole.
    """
    from chorale.data.loader import SPLITS, load

    if spec is not None and spec.lower() == "none":
        return np.zeros((1, N_VOICES), dtype=np.int32)
    split, _, index = (spec or "test:").partition(":")
    if spec is None or (split in SPLITS and index.isdigit()):
        chorales = load(data)[split]
        i = seed % len(chorales) if spec is None else int(index)
        if i >= len(chorales):
            raise ChoraleError(f"no primer '{spec}': the {split} split has chorales 0..{len(chorales) - 1}")
        return chorales[i].grid[:PRIMER_STEPS]
    from chorale.io.scores import read_grid

    return read_grid(spec)


def generate(model, vocab: Vocabulary, primers: list[np.ndarray], steps: int, seeds, controls: Controls,
             plans: list[Plan | None] | None = None, progress=None):
    """Continue each primer to `steps` chords, following its plan (None: nothing known);
    return the grids and mean log-likelihoods per sampled note."""
    forced = np.full((len(primers), steps * N_VOICES), UNSAMPLED, dtype=np.int64)
    for row, primer in zip(forced, primers):
        if len(primer) > steps:
            raise ChoraleError(f"the primer has {len(primer)} steps, more than the {steps} requested")
        tokens = vocab.encode(primer)
        row[: len(tokens)] = tokens
    tokens, loglik = sample(model, vocab, forced, seeds, controls, progress, plans)
    return [vocab.decode(t) for t in tokens], loglik
