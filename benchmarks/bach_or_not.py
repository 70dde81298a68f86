"""Bach or not? A grader that tries to tell our chorales from Bach's, and how often it can.

    python benchmarks/bach_or_not.py [--seeds 100] [--melodies 83] [--only generate,harmonize] [--no-cnn]

Protocol (issue 23): excerpts of `--bars` (4) bars cut back from the end of each piece (the
primer left out: a sample's first 2 bars are Bach's), each transposed so its piece's key
(the best fit to its notes) has the tonic C; classes balanced by leaving out excerpts of
the larger at random; 5-fold cross-validation with folds grouped by melody (every excerpt
of a chorale, of another harmonization of the same tune, and of a sample continuing or
harmonizing it sit in one fold). Two classifiers:
- a logistic regression (L2, chosen by an inner grouped CV; features standardized) on the
  ~250 readable features of `chorale.style`, which prints the features that separate best
  and which side has more of each;
- a small 1D CNN over the excerpt's grid (pitch class, onset, register and place in the bar
  per step; Keras).
The headline is the better of the two cross-validated accuracies: 50% means it cannot tell.

Real Bach: the bundled dataset's test and valid chorales (the model learned from train), and
with `--jsb DIR` also that release's test and valid splits. Sanity checks, every run: Bach
against Bach (random halves by melody) should be near 50%; a deliberately bad sampler
(temperature 1.6, no voice-leading guard) above 95%.

Judged: `generate` (defaults, seeds 0..N-1), `generate --primer none`, `harmonize` of the
held-out (test) sopranos (8 candidates, seed i; the soprano is Bach's, so only the lower
voices can give it away) and `regenerate` (all voices of bars 5-8 of each test chorale,
8 candidates; the 4 rewritten bars judged). Besides: note onsets on odd 16ths per bar and
voice, the final chord (a root-position tonic triad of the key asked for, no general rest in
the last bar), `--primer none --key "D minor"` (20 seeds) and diversity: the longest span of
a sample found in a training chorale (any transposition; steps), and the share of distinct
4-bar excerpts across seeds. Writes benchmarks/results/bach_or_not.json.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import time
from pathlib import Path

import numpy as np

import chorale
from chorale import style
from chorale.data.loader import load
from chorale.encoding import N_VOICES, REST, STEPS_PER_BAR, runs
from chorale.io.files import atomic_write, bundled
from chorale.keys import best_key, parse_key
from chorale.sampling.sample import PRIMER_STEPS

RESULTS = Path(__file__).resolve().parent / "results" / "bach_or_not.json"
BARS = 16  # a sample's length, as `chorale generate` writes it
FOLDS = 5
LAMBDAS = (1.0, 10.0, 100.0)  # L2 strengths the inner CV chooses from
SETS = ("generate", "primer none", "harmonize", "regenerate")


# ---------------------------------------------------------------------------- pieces
class Piece:
    """A whole piece, where its excerpts may start (`first`: after the primer), its melody
    group and its key ((tonic, mode): the one asked for, else the best fit)."""

    def __init__(self, grid, group, first=0, key=None, region=None):
        self.grid, self.group, self.first = np.asarray(grid), group, first
        self.key = key or best_key(self.grid)[:2]
        self.region = region  # (start, end): judge exactly these steps (a regenerated region)

    def excerpts(self, length: int) -> list[tuple[np.ndarray, int]]:
        """(normalized excerpt, its first step) cut back from the end."""
        tonic = style.tonic_of(self.grid)
        if self.region is not None:
            starts = [self.region[0]]
        else:
            last = int(np.flatnonzero((self.grid != REST).any(axis=1))[-1]) + 1
            starts = list(range(last - length, self.first - 1, -length))
        return [(style.normalized(self.grid[s:s + length], tonic), s) for s in starts if s >= self.first]


def melody_groups(chorales) -> list[int]:
    """One group number per chorale: chorales share one when their hymn titles (from the
    manifest) or the openings of their sopranos (10 notes, in a common key) agree."""
    parent = list(range(len(chorales)))

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    seen = {}
    for i, c in enumerate(chorales):
        soprano = [p for _, _, p in runs(c.notes[:, 0]) if p != REST]
        tonic = style.tonic_of(c.notes)
        opening = ("soprano", tuple((p - tonic) % 12 for p in soprano[:10]))
        for label in (opening, ("title", c.title) if c.title else None):
            if label is None:
                continue
            if label in seen:
                parent[root(i)] = root(seen[label])
            else:
                seen[label] = i
    return [root(i) for i in range(len(chorales))]


def titles(dataset) -> dict[str, str]:
    """{chorale id: hymn title, its first words} from the manifest (empty without one)."""
    if not dataset.manifest:
        return {}
    rows = csv.DictReader(io.StringIO(dataset.manifest.removeprefix("\ufeff")))
    return {r["id"]: " ".join((r.get("title") or "").lower().split()[:4]) for r in rows if r.get("title")}


class Real:
    """A Bach chorale with its title (for grouping)."""

    def __init__(self, c, title, source):
        self.notes, self.name, self.title, self.source = c.grid, c.source, title, source
        self.fermatas, self.key = c.fermatas, c.key if c.known_key else None


def bach(jsb=None) -> tuple[list[Real], dict]:
    """The real chorales the grader hears (bundled test + valid, and a JSB release's test +
    valid when given), and {bundled test index: group}."""
    dataset = load()
    names = titles(dataset)
    real = [Real(c, names.get(Path(c.source).stem), "bundled") for split in ("test", "valid") for c in dataset[split]]
    if jsb:
        other = load(jsb)
        real += [Real(c, None, "jsb") for split in ("test", "valid") for c in other.splits.get(split, [])]
    groups = melody_groups(real)
    for r, g in zip(real, groups):
        r.group = g
    test_groups = {i: real[i].group for i in range(len(dataset["test"]))}
    return real, test_groups


# ---------------------------------------------------------------------------- our pieces
def generated(model, seeds: int, test_groups, primer=None, **controls) -> list[Piece]:
    """`chorale generate --seed i` for i < seeds (one batch), each grouped with the test
    chorale its primer comes from (with no primer, a group of its own)."""
    pieces = model.generate(0, count=seeds, bars=BARS, primer=primer, **controls)
    out = []
    for i, p in enumerate(pieces):
        if primer is None:
            group, first = test_groups[i % len(test_groups)], PRIMER_STEPS
        else:
            group, first = ("seed", i), 1
        out.append(Piece(p.grid, group, first, parse_key(p.key) if p.key else None))
    return out


def harmonized(model, test, test_groups, count: int, candidates: int) -> list[Piece]:
    """The sopranos of the first `count` test chorales, with their fermatas, harmonized as
    `chorale harmonize --seed i` does, put back in place."""
    out = []
    for i, c in enumerate(test[:count]):
        melody = np.zeros_like(c.grid)
        melody[:, 0] = c.grid[:, 0]
        h = model.harmonize(chorale.Chorale(melody, fermatas=c.fermatas or ()), candidates=candidates, seed=i)
        grid = np.zeros_like(c.grid)
        first = int(np.flatnonzero(c.grid[:, 0])[0])
        grid[first:first + len(h.grid)] = h.grid
        piece = Piece(grid, test_groups[i], key=parse_key(h.key) if h.key else None)
        piece.bach_bass = last_bass(c.grid)
        out.append(piece)
    return out


def last_bass(grid) -> int:
    """The pitch class of a piece's last bass note (-1: no bass)."""
    sung = grid[:, N_VOICES - 1][grid[:, N_VOICES - 1] != REST]
    return int(sung[-1] % 12) if sung.size else -1


def regenerated(model, test, test_groups, count: int, candidates: int, bars=(5, 8)) -> list[Piece]:
    """All four voices of `bars` of each test chorale long enough, rewritten (seed i)."""
    out = []
    for i, c in enumerate(test[:count]):
        if len(c.grid) < (bars[1] + 1) * STEPS_PER_BAR:
            continue
        piece = chorale.Chorale(c.grid, fermatas=c.fermatas or ())
        new = model.regenerate(piece, bars=bars, candidates=candidates, seed=i)
        region = ((bars[0] - 1) * STEPS_PER_BAR, bars[1] * STEPS_PER_BAR)
        out.append(Piece(new.grid, test_groups[i], region=region))
    return out


# ---------------------------------------------------------------------------- classifiers
def group_folds(groups, folds: int, rng) -> np.ndarray:
    """A fold number per item; all items of a group in one fold, folds of similar sizes."""
    names, sizes = np.unique(np.asarray([str(g) for g in groups]), return_counts=True)
    order = rng.permutation(len(names))
    load_, of = np.zeros(folds), {}
    for j in sorted(order, key=lambda j: -sizes[j]):  # the largest groups first, each to the emptiest fold
        f = int(np.argmin(load_))
        of[names[j]] = f
        load_[f] += sizes[j]
    return np.array([of[str(g)] for g in groups])


def fit_logistic(x, y, lam: float, iterations: int = 25) -> np.ndarray:
    """Weights (bias last) of an L2-penalized logistic regression, by Newton's method."""
    x1 = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(x1.shape[1])
    penalty = np.full(x1.shape[1], lam)
    penalty[-1] = 0
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-np.clip(x1 @ w, -30, 30)))
        grad = x1.T @ (p - y) + penalty * w
        hess = (x1 * (p * (1 - p))[:, None]).T @ x1 + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-6:
            break
    return w


def standardize(train, test):
    mean, std = train.mean(axis=0), train.std(axis=0)
    std = np.where(std > 1e-9, std, 1.0)
    return (train - mean) / std, (test - mean) / std


def logistic_accuracy(x, y, folds, groups) -> tuple[float, float]:
    """(cross-validated accuracy, the L2 strength most folds chose)."""
    correct, chosen = 0, []
    for f in range(FOLDS):
        train, test = folds != f, folds == f
        inner = group_folds(np.asarray(groups, object)[train], 4, np.random.default_rng(f))
        scores = []
        for lam in LAMBDAS:
            hits = 0
            for g in range(4):
                a, b = standardize(x[train][inner != g], x[train][inner == g])
                w = fit_logistic(a, y[train][inner != g], lam)
                hits += ((np.hstack([b, np.ones((len(b), 1))]) @ w > 0) == y[train][inner == g]).sum()
            scores.append(hits)
        lam = LAMBDAS[int(np.argmax(scores))]
        chosen.append(lam)
        a, b = standardize(x[train], x[test])
        w = fit_logistic(a, y[train], lam)
        correct += ((np.hstack([b, np.ones((len(b), 1))]) @ w > 0) == y[test]).sum()
    return correct / len(y), float(np.median(chosen))


def separating(x, y, names, lam: float, top: int = 12) -> list[dict]:
    """The features with the largest standardized weights, fitted on everything: which side
    (ours = 1) has more, and the two means."""
    a, _ = standardize(x, x)
    w = fit_logistic(a, y, lam)[:-1]
    out = []
    for j in np.argsort(-np.abs(w))[:top]:
        out.append({"feature": names[j], "weight": round(float(w[j]), 3), "more in": "ours" if w[j] > 0 else "Bach",
                    "bach": round(float(x[y == 0, j].mean()), 4), "ours": round(float(x[y == 1, j].mean()), 4)})
    return out


def grid_channels(excerpt, start: int) -> np.ndarray:
    """(steps, channels) the CNN's view of one excerpt: per voice its pitch class (12), a
    rest, an onset and its register; then the step's place in the bar (16)."""
    steps = len(excerpt)
    on = style.onsets(excerpt)
    parts = []
    for v in range(N_VOICES):
        line = excerpt[:, v]
        pc = np.zeros((steps, 13), np.float32)
        pc[np.arange(steps), np.where(line != REST, line % 12, 12)] = 1
        parts += [pc, on[:, v:v + 1].astype(np.float32), np.where(line != REST, (line - 60) / 12, 0)[:, None]]
    place = np.zeros((steps, STEPS_PER_BAR), np.float32)
    place[np.arange(steps), (start + np.arange(steps)) % STEPS_PER_BAR] = 1
    return np.hstack(parts + [place]).astype(np.float32)


def cnn_accuracy(grids, y, folds, epochs: int = 25) -> float:
    """Cross-validated accuracy of a small 1D CNN (Keras) over the excerpts."""
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from chorale.backend import keras

    try:  # two threads: the grader shares the machine
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(2)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except (ImportError, RuntimeError):  # another backend, or TensorFlow already running
        pass
    correct = 0
    for f in range(FOLDS):
        keras.utils.set_random_seed(f)
        train, test = folds != f, folds == f
        model = keras.Sequential([
            keras.Input(grids.shape[1:]),
            keras.layers.Conv1D(32, 3, padding="same", activation="relu"),
            keras.layers.Conv1D(32, 3, padding="same", dilation_rate=2, activation="relu"),
            keras.layers.MaxPooling1D(2),
            keras.layers.Conv1D(64, 3, padding="same", activation="relu"),
            keras.layers.GlobalAveragePooling1D(),
            keras.layers.Dropout(0.3),
            keras.layers.Dense(1),
        ])
        model.compile(keras.optimizers.Adam(1e-3), keras.losses.BinaryCrossentropy(from_logits=True))
        model.fit(grids[train], y[train].astype(np.float32), epochs=epochs, batch_size=64, verbose=0)
        correct += ((np.asarray(model(grids[test], training=False))[:, 0] > 0) == y[test]).sum()
    return correct / len(y)


def grade(real: list, ours: list, length: int, rng, cnn: bool = True, label: str = "") -> dict:
    """Bach (class 0) against `ours` (class 1), balanced, grouped 5-fold CV: both classifiers."""
    cut = {0: [(e, s, p.group) for p in real for e, s in p.excerpts(length)],
           1: [(e, s, p.group) for p in ours for e, s in p.excerpts(length)]}
    n = min(len(cut[0]), len(cut[1]))
    items, y = [], []
    for cls in (0, 1):
        keep = rng.choice(len(cut[cls]), n, replace=False)
        items += [cut[cls][i] for i in sorted(keep)]
        y += [cls] * n
    y = np.array(y)
    groups = [g for _, _, g in items]
    folds = group_folds(groups, FOLDS, rng)
    shared = {str(g) for g, c in zip(groups, y) if c == 0} & {str(g) for g, c in zip(groups, y) if c == 1}
    assert all(len(set(folds[[str(h) == s for h in groups]])) == 1 for s in shared), "a melody in two folds"
    x = np.array([style.features(e, s)[0] for e, s, _ in items])
    names = style.feature_names()
    logistic, lam = logistic_accuracy(x, y, folds, groups)
    result = {"excerpts_per_class": n, "logistic": round(float(logistic), 4), "l2": lam}
    if cnn:
        grids = np.stack([grid_channels(e, s) for e, s, _ in items])
        result["cnn"] = round(float(cnn_accuracy(grids, y, folds)), 4)
    result["accuracy"] = max(result["logistic"], result.get("cnn", 0))
    result["top_features"] = separating(x, y, names, lam)
    print(f"{label:<36} {n:>5} {result['logistic']:>9.1%} {result.get('cnn', float('nan')):>7.1%} "
          f"{result['accuracy']:>9.1%}", flush=True)
    return result


# ---------------------------------------------------------------------------- other measures
def final_tonic(pieces) -> float:
    return float(np.mean([style.final_chord_is_tonic(p.grid, p.key) for p in pieces]))


def _hashes(grid, w: int) -> np.ndarray:
    """A hash of every window of w rows of `grid` (uint64, polynomial over the rows)."""
    g = np.asarray(grid, np.uint64)
    codes = (g[:, 0] << np.uint64(21)) | (g[:, 1] << np.uint64(14)) | (g[:, 2] << np.uint64(7)) | g[:, 3]
    codes = (codes * np.uint64(0x9E3779B97F4A7C15)) ^ (codes >> np.uint64(7))
    base = np.uint64(1000003)
    prefix = np.zeros(len(codes) + 1, np.uint64)
    with np.errstate(over="ignore"):
        for i, c in enumerate(codes):
            prefix[i + 1] = prefix[i] * base + c
        power = np.uint64(1)
        for _ in range(w):
            power = power * base
        return prefix[w:] - prefix[:-w] * power if len(codes) >= w else np.zeros(0, np.uint64)


def longest_copies(pieces, training) -> list[int]:
    """For each piece (its part after the primer), the longest run of steps found exactly in
    a training chorale, in any transposition."""
    cache = {}

    def known(w):
        if w not in cache:
            cache[w] = np.unique(np.concatenate([_hashes(t, w) for t in training]))
        return cache[w]

    out = []
    for p in pieces:
        own = p.grid[p.first:]
        shifted = [np.where(own != REST, own + s, REST) for s in range(-6, 6)]
        shifted = [g for g in shifted if g.max() < 128 and g[g != REST].min(initial=1) > 0]

        def copies(w):
            return any(np.isin(_hashes(g, w), known(w)).any() for g in shifted)

        low, high = 0, len(own)  # copies(low) holds; find the largest
        while low < high:
            mid = (low + high + 1) // 2
            if copies(mid):
                low = mid
            else:
                high = mid - 1
        out.append(low)
    return out


def distinct_excerpts(pieces, length: int) -> float:
    cut = [e.tobytes() for p in pieces for e, _ in p.excerpts(length)]
    return len(set(cut)) / max(len(cut), 1)


def rhythm(pieces, length: int) -> list[float]:
    cut = [(e, s) for p in pieces for e, s in p.excerpts(length)]
    return [round(float(v), 4) for v in style.odd_onsets_per_bar([e for e, _ in cut], [s for _, s in cut])]


def keys_asked_for(model, key: str = "D minor", count: int = 20) -> int:
    pieces = model.generate(0, count=count, bars=BARS, primer="none", key=key)
    return int(sum(best_key(p.grid)[:2] == parse_key(key) for p in pieces))


# ---------------------------------------------------------------------------- main
def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(bundled("model")), help="Model folder (default: the bundled one).")
    parser.add_argument("--seeds", type=int, default=100, help="Samples per generate setting (seeds 0..N-1).")
    parser.add_argument("--melodies", type=int, default=83, help="Test chorales harmonized and regenerated.")
    parser.add_argument("--candidates", type=int, default=8)
    parser.add_argument("--bars", type=int, default=4, help="Excerpt length in bars.")
    parser.add_argument("--only", default=",".join(SETS), help=f"Which of {', '.join(SETS)} to judge.")
    parser.add_argument("--no-cnn", action="store_true", help="Logistic regression only (fast iterations).")
    parser.add_argument("--jsb", help="A JSB Chorales release (folder or archive): its test and valid chorales "
                        "join the real Bach.")
    parser.add_argument("--note", default="", help="What was measured, written into the results.")
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args()
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(only) - set(SETS)
    if unknown:
        parser.error(f"--only: unknown {', '.join(sorted(unknown))} (choose from {', '.join(SETS)})")
    started = time.perf_counter()
    length = args.bars * STEPS_PER_BAR
    rng = np.random.default_rng(0)
    model = chorale.load_model(args.model)
    real, test_groups = bach(args.jsb)
    bach_pieces = [Piece(r.notes, r.group) for r in real]
    dataset = load()
    test = dataset["test"]
    bundled_test = [Piece(c.grid, test_groups[i]) for i, c in enumerate(test)]

    print(f"Bach: {len(real)} chorales in {len(set(test_groups.values()) | {r.group for r in real})} melody groups; "
          f"{args.seeds} seeds; excerpts of {args.bars} bars\n")
    print(f"{'compared with Bach':<36} {'n/class':>5} {'logistic':>9} {'CNN':>7} {'headline':>9}")
    grades, pieces = {}, {}
    # sanity: Bach against Bach, random halves by melody
    group_ids = sorted({str(p.group) for p in bach_pieces})
    half = set(rng.choice(group_ids, len(group_ids) // 2, replace=False))
    grades["Bach vs Bach (random halves)"] = grade([p for p in bach_pieces if str(p.group) in half],
                                                   [p for p in bach_pieces if str(p.group) not in half],
                                                   length, rng, not args.no_cnn, "Bach vs Bach (random halves)")
    pieces["bad sampler"] = generated(model, args.seeds, test_groups, temperature=1.6, voice_leading=False)
    grades["bad sampler"] = grade(bach_pieces, pieces["bad sampler"], length, rng, not args.no_cnn,
                                  "bad sampler (T 1.6, no guard)")
    seconds = {}
    for name in only:
        start = time.perf_counter()
        if name == "generate":
            pieces[name] = generated(model, args.seeds, test_groups)
        elif name == "primer none":
            pieces[name] = generated(model, args.seeds, test_groups, primer="none")
        elif name == "harmonize":
            pieces[name] = harmonized(model, test, test_groups, args.melodies, args.candidates)
        else:
            pieces[name] = regenerated(model, test, test_groups, args.melodies, args.candidates)
        seconds[name] = round(time.perf_counter() - start, 1)
        grades[name] = grade(bach_pieces, pieces[name], length, rng, not args.no_cnn, name)
    sanity = {"bach_vs_bach_near_50": abs(grades["Bach vs Bach (random halves)"]["accuracy"] - 0.5) <= 0.08,
              "bad_sampler_above_95": grades["bad sampler"]["accuracy"] > 0.95}
    print(f"\nSanity: Bach vs Bach near 50%: {sanity['bach_vs_bach_near_50']}; "
          f"bad sampler above 95%: {sanity['bad_sampler_above_95']}")
    for name in only:
        print(f"\nWhat gives `{name}` away (standardized weight; mean in Bach / ours):")
        for f in grades[name]["top_features"][:10]:
            print(f"  {f['more in']:>4} more: {f['feature']:<58} {f['weight']:+.2f}  {f['bach']:.3f} / {f['ours']:.3f}")

    measures = {"Bach (bundled test)": {"odd_onsets_per_bar": rhythm(bundled_test, length),
                                        "final_tonic_triad": final_tonic(bundled_test)}}
    training = dataset.grids("train")
    for name in only:
        ps = pieces[name]
        m = {"odd_onsets_per_bar": rhythm(ps, length)}
        if name != "regenerate":
            m["final_tonic_triad"] = final_tonic(ps)
        if name == "harmonize":
            m["last_bass_as_bach"] = float(np.mean([last_bass(p.grid) == p.bach_bass for p in ps]))
        if name in ("generate", "primer none"):
            copies = longest_copies(ps, training)
            m.update(longest_copy_steps={"max": int(max(copies)), "median": float(np.median(copies)),
                                         "mean": float(np.mean(copies))},
                     distinct_excerpts=distinct_excerpts(ps, length))
        measures[name] = m
    bach_odd = measures["Bach (bundled test)"]["odd_onsets_per_bar"]
    print("\nOnsets on odd 16ths per bar (S, A, T, B), final chord a root-position tonic triad, diversity:")
    for name, m in measures.items():
        ratio = [o / b if b else float("inf") for o, b in zip(m["odd_onsets_per_bar"], bach_odd)]
        m["odd_onsets_vs_bach"] = [round(r, 2) for r in ratio]
        line = f"  {name:<22} {' '.join(f'{o:.3f}' for o in m['odd_onsets_per_bar'])}  (x{max(ratio):.1f} of Bach at most)"
        if "final_tonic_triad" in m:
            line += f"  final tonic {m['final_tonic_triad']:.0%}"
        if "last_bass_as_bach" in m:
            line += f"  last bass = Bach's {m['last_bass_as_bach']:.0%}"
        if "longest_copy_steps" in m:
            c = m["longest_copy_steps"]
            line += f"  copy max {c['max']} median {c['median']:.0f} steps; distinct {m['distinct_excerpts']:.0%}"
        print(line)
    asked = keys_asked_for(model) if "primer none" in only else None
    if asked is not None:
        print(f"\n--primer none --key 'D minor': D minor in {asked} of 20 seeds")
    seed3 = model.generate(3)
    seed3_tonic = style.final_chord_is_tonic(seed3.grid, parse_key(seed3.key))
    print(f"`chorale generate --seed 3` ({seed3.key}) ends on {seed3.grid[-1].tolist()}: "
          f"{'a' if seed3_tonic else 'NOT a'} root-position tonic triad")
    with atomic_write(args.results) as f:
        json.dump({"model": args.model, "note": args.note, "seeds": args.seeds, "melodies": args.melodies,
                   "candidates": args.candidates, "bars": args.bars, "jsb": args.jsb, "folds": FOLDS,
                   "real_chorales": len(real), "sanity": sanity, "grades": grades, "measures": measures,
                   "d_minor_asked_of_20": asked, "seed_3_ends_on_tonic": seed3_tonic,
                   "seconds": {**seconds, "total": round(time.perf_counter() - started, 1)}}, f, indent=2)
    print(f"Wrote {args.results}")


if __name__ == "__main__":
    main()
