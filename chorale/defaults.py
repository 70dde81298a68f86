"""Every user-facing default, once: the Python API's keyword defaults and the CLI's option
defaults both read these, so `chorale generate` and `model.generate()` never disagree.

Pure Python: the CLI imports it to build `--help`.
"""

BARS = 16  # a generated chorale's length, in 4/4 bars
TEMPERATURE = 1.0  # the model's own distribution
CANDIDATES = 8  # harmonizations sampled in one batch; the best is kept
PLAN_WEIGHT = 2.0  # guidance toward the plan: 2 keeps the key to the end in 70% of samples, against 40%
# at 1 (benchmarks/plan_music.py), for twice the sampling cost (0.9 s for 640 chords)
VOICE = "soprano"  # the voice that sings a melody to harmonize
TEMPO = 72.0  # quarter notes per minute: Bach chorales are sung slowly
INSTRUMENT = "church organ"  # General MIDI program 20 (19 in the MIDI bytes)
PROGRAM = 19
SPLIT = "test"  # held-out chorales: primers, evaluation
GENERATE_OUT = "outputs/chorale.mid"
HARMONIZE_OUT = "outputs/harmonized.mid"
RUNS = "outputs/models"  # where `chorale train` puts a run without --out
DATASETS = "outputs/datasets"  # where `chorale data build --from DIR` puts DIR's dataset without --out
