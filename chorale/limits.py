"""Every size limit in one place, so that any input up to them is processed or refused
within seconds and bounded memory (and the CLI can state them without importing NumPy).

A Bach chorale is a few kB and a few hundred 16th-note steps; the limits leave room for
long pieces and big datasets while refusing what can only be a mistake or an attack.
"""

MAX_STEPS = 20_000  # 16th-note steps in one chorale: 1250 bars, about 17 minutes at 72 BPM
MAX_BARS = MAX_STEPS // 16  # 4/4 bars
MAX_SEED = 2**31 - 1  # seeds and seed + count - 1 stay below 2**32, as NumPy requires
MAX_COUNT = 1000  # chorales per `generate`, candidates per `harmonize`
MAX_TEXT_BYTES = 10_000_000  # a chorale CSV, a card.json, a manifest, a forecast series
MAX_MIDI_BYTES = 1_000_000  # a MIDI file: mido checks every message it parses (about 10 µs each)
MAX_MUSIC_BYTES = 2_000_000  # a MusicXML file (an .mxl: its uncompressed score)
MAX_ARCHIVE_BYTES = 50_000_000  # an archive file, and the total of the CSVs it holds uncompressed
MAX_ARCHIVE_MEMBERS = 20_000
MAX_DATASET_BYTES = 200_000_000  # all the CSVs of a dataset folder together; all the scores `data build --from` reads
MAX_DATASET_FILES = 20_000  # score files under the folder `data build --from` reads
MAX_SERIES_ROWS = 200_000  # values in a forecast series: its windows are copied many times over
MAX_AUDIO_SECONDS = 300  # a WAV file: 5 minutes (FluidSynth renders about 40 times real time)
MAX_SCORE_STEPS = 16 * 48  # MusicXML and sheet music: 48 bars, past Bach's longest chorale (40); seconds to write
