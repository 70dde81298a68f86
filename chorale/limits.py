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

# Work: what one request may ask the sampler for, checked before any work starts. A token is one
# voice's note; the work is the tokens to write times the sequences written at once (count, or
# candidates): about 5,000 a second on one core, so the budget is a minute or two at most.
MAX_WORK = 500_000  # tokens x sequences per generate, harmonize or regenerate call
BATCH_CELLS = 2_000_000  # tokens x sequences held at once: candidates are sampled in batches this size
MAX_KEY_CHARS = 40  # a key name such as "B-flat minor": longer text is refused before it is parsed
MAX_LIST_CHARS = 20_000  # a list typed as text (fermata bars, voices)

# The values an option may take: the CLI's Click types and the API's checks (chorale.checks) read these.
TEMPERATURE = (0.01, 100)  # below 0.01 logits / T overflow; above 100 it is noise
PLAN_WEIGHT = (0, 10)  # guidance toward the plan; past 10 it overrides the model's voice leading
TEMPO = (10, 400)  # quarter notes per minute
MAX_TOP_K = 1_000_000
MAX_TITLE_CHARS = 1_000

# The studio (chorale studio): what one request from its page may ask for.
STUDIO_MAX_UPLOAD = 2 * 1024 * 1024  # bytes in one uploaded music file
STUDIO_MAX_BODY = STUDIO_MAX_UPLOAD + 256 * 1024  # a whole request: the upload and its fields, or a piece as JSON
STUDIO_MAX_BARS = 64  # the longest piece the studio writes or takes back in one request
STUDIO_MAX_CANDIDATES = 32
STUDIO_MAX_WORK = STUDIO_MAX_BARS * 16 * 4 * STUDIO_MAX_CANDIDATES  # 64 bars of 32 candidates: about 30 s
STUDIO_LIGHT_WORK = 16 * 16 * 4 * 2  # up to this, a request takes the light lane: it never waits behind a long one
STUDIO_MAX_JSON_DEPTH = 32  # nesting of a JSON body (a piece is 4 deep)
STUDIO_MAX_FIELDS, STUDIO_MAX_FILES = 40, 1  # in one form
