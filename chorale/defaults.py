"""Every user-facing default, once: the Python API's keyword defaults and the CLI's option
defaults both read these, so `chorale generate` and `model.generate()` never disagree.

Pure Python: the CLI imports it to build `--help`.
"""

BARS = 16  # a generated chorale's length, in 4/4 bars
TEMPERATURE = 0.9  # a little surer than the model's own distribution, and
TOP_P = 0.95  # its least likely 5% left out: chosen by Bach or not (docs/music.md) and by diversity
CANDIDATES = 8  # harmonizations sampled in one batch; the best is kept
PLAN_WEIGHT = 2.0  # guidance toward the plan: 2 keeps the key to the end in 70% of samples, against 40%
# at 1 (benchmarks/plan_music.py), for twice the sampling cost (0.9 s for 640 chords)
METRE = 0.5  # how firmly notes keep to the metre (chorale.sampling.sample.metre_penalty): the model alone
# starts notes on odd 16ths, and holds notes begun off the beat into the next, several times as often as Bach
HARMONY = 2.0  # how firmly the bass avoids dissonant chords and 6/4s on the beat
# (chorale.sampling.sample.harmony_penalty): the model alone writes them half again as often as Bach
TOLERANCE = (0.0, 0.5, 0.6)  # how often the voice-leading guard lets a parallel 5th/8ve, a hidden one and
# a voice crossing stand: Bach writes hidden ones and crossings now and then, parallels almost never
SCALE = 0.0  # how firmly planned notes keep to the key's scale (chorale.sampling.sample.key_penalty)
VOICE = "soprano"  # the voice that sings a melody to harmonize
TEMPO = 72.0  # quarter notes per minute: Bach chorales are sung slowly
INSTRUMENT = "church organ"  # General MIDI program 20 (19 in the MIDI bytes)
PROGRAM = 19
SPLIT = "test"  # held-out chorales: primers, evaluation
GENERATE_OUT = "outputs/chorale.mid"
HARMONIZE_OUT = "outputs/harmonized.mid"
RUNS = "outputs/models"  # where `chorale train` puts a run without --out
DATASETS = "outputs/datasets"  # where `chorale data build --from DIR` puts DIR's dataset without --out
