"""MIDI/MusicXML export and import: exact round trips, what other programs see, bad files."""

import re
import tempfile
from pathlib import Path

import mido
import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chorale import ChoraleError
from chorale.cli import cli
from chorale.encoding import MIDI_HIGH, MIDI_LOW, N_VOICES, runs
from chorale.io.midi import DEFAULT_PROGRAM, TICKS_PER_QUARTER, to_midi, write_midi
from chorale.io.instruments import program_number
from chorale.io.scores import read_grid, read_melody

# "Nun danket"-like cadence in G major, in 16ths: quarters, a held half note, an alto rest,
# a repeated pitch (which the grid cannot tell from a held one) and a final whole note.
CHORDS = [  # (soprano, alto, tenor, bass, quarters)
    (67, 62, 59, 43, 1), (67, 64, 60, 48, 1), (69, 66, 62, 50, 1), (71, 67, 62, 43, 1),
    (72, 0, 64, 45, 2), (71, 67, 62, 50, 1), (69, 66, 60, 50, 1), (67, 62, 59, 43, 4),
]
GRID = np.array([c[:4] for c in CHORDS for _ in range(4 * c[4])], dtype=np.int32)


def _midi_file(tmp_path, tracks, name="in.mid", midi_type=1, ticks=TICKS_PER_QUARTER):
    """Write tracks given as lists of (delta, message type, channel, note, velocity)."""
    midi = mido.MidiFile(type=midi_type, ticks_per_beat=ticks)
    for events in tracks:
        midi.tracks.append(mido.MidiTrack(
            mido.Message(kind, channel=ch, note=note, velocity=vel, time=dt) for dt, kind, ch, note, vel in events))
    path = tmp_path / name
    midi.save(path)
    return path


def _line(channel, notes, ticks=TICKS_PER_QUARTER):
    """Track events for consecutive (note, quarters) pairs on one channel."""
    events = []
    for note, quarters in notes:
        events += [(0, "note_on", channel, note, 80), (int(quarters * ticks), "note_off", channel, note, 0)]
    return events


# ---------------------------------------------------------------------------- export
def test_written_file_is_a_standard_type_1_file(tmp_path):
    path = tmp_path / "c.mid"
    write_midi(path, GRID, title="Cadence", tempo=60, program=program_number("choir aahs"))
    midi = mido.MidiFile(path)
    assert (midi.type, midi.ticks_per_beat, len(midi.tracks)) == (1, 480, 5)
    conductor = {m.type: m for m in midi.tracks[0]}
    assert conductor["track_name"].name == "Cadence"
    assert conductor["set_tempo"].tempo == 1_000_000
    assert (conductor["time_signature"].numerator, conductor["time_signature"].denominator) == (4, 4)
    assert conductor["key_signature"].key == "G"
    assert midi.tracks[0][-1].type == "end_of_track"
    for channel, (name, track) in enumerate(zip(("Soprano", "Alto", "Tenor", "Bass"), midi.tracks[1:])):
        assert track.name == name
        messages = [m for m in track if not m.is_meta]
        assert {m.channel for m in messages} == {channel}
        assert [m.program for m in messages if m.type == "program_change"] == [52]
        ons = [m for m in messages if m.type == "note_on"]
        offs = [m for m in messages if m.type == "note_off"]
        assert len(ons) == len(offs) == sum(p != 0 for _, _, p in runs(GRID[:, channel]))
        assert track[-1].type == "end_of_track"
    assert midi.length == pytest.approx(len(GRID) / 4 * 60 / 60)  # every track ends with the music


def test_repeated_pitch_is_one_held_note_and_rests_are_gaps():
    track = to_midi(GRID).tracks[2]  # alto: D E F# G (rest) G F# D: the two Gs around the rest stay apart
    notes = [(m.note, m.time) for m in track if m.type == "note_on"]
    assert [n for n, _ in notes] == [62, 64, 66, 67, 67, 66, 62]
    assert notes[4][1] == 2 * TICKS_PER_QUARTER  # the alto's half-note rest is a gap before the next G
    soprano_ons = [m.note for m in to_midi(GRID).tracks[1] if m.type == "note_on"]
    assert soprano_ons == [67, 69, 71, 72, 71, 69, 67]  # the opening G G is one held half note


def test_velocities_are_per_voice():
    midi = to_midi(GRID, velocities=(100, 50, 60, 70))
    assert [next(m.velocity for m in t if m.type == "note_on") for t in midi.tracks[1:]] == [100, 50, 60, 70]


E_MINOR = np.array([(67, 64, 59, 40)] * 4 + [(69, 64, 60, 45)] * 4 + [(66, 63, 57, 47)] * 4
                   + [(67, 64, 59, 40)] * 8 + [(64, 59, 55, 40)] * 16, dtype=np.int32)  # i iv V7 i


def _transposed(grid, semitones):
    return np.where(grid > 0, grid + semitones, 0)


@pytest.mark.parametrize(("grid", "key"), [
    (E_MINOR, "Em"), (_transposed(GRID, -2), "F"), (_transposed(GRID, 3), "Bb"), (_transposed(GRID, -1), "F#")])
def test_key_signature_is_estimated(grid, key):
    assert next(m.key for m in to_midi(grid).tracks[0] if m.type == "key_signature") == key


def _grids():
    """Valid grids with at least one note: per voice a run of rests and pitches of random lengths."""
    run = st.tuples(st.one_of(st.just(0), st.integers(MIDI_LOW, MIDI_HIGH)), st.integers(1, 8))
    voice = st.lists(run, min_size=1, max_size=10)

    def build(voices):
        lines = [np.repeat([p for p, _ in v], [n for _, n in v]) for v in voices]
        grid = np.zeros((max(map(len, lines)), N_VOICES), dtype=np.int32)
        for i, line in enumerate(lines):
            grid[: len(line), i] = line
        return grid

    return st.lists(voice, min_size=N_VOICES, max_size=N_VOICES).map(build).filter(lambda g: g.any())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_grids())
def test_any_grid_survives_midi_round_trip(grid):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "g.mid"
        write_midi(path, grid)
        np.testing.assert_array_equal(read_grid(path), grid)


def test_music21_reads_four_parts_with_the_same_notes(tmp_path):
    from music21 import converter

    path = tmp_path / "c.mid"
    write_midi(path, GRID)
    score = converter.parse(path)
    assert len(score.parts) == 4
    for voice, part in enumerate(score.parts):
        heard = [(n.pitch.midi, float(n.offset) * 4, float(n.quarterLength) * 4)
                 for n in part.stripTies().flatten().notes]
        assert heard == [(p, s, e - s) for s, e, p in runs(GRID[:, voice]) if p]


def test_musicxml_round_trip(tmp_path):
    from chorale.io.musicxml import to_score

    path = tmp_path / "c.musicxml"
    to_score(GRID, title="Cadence").write("musicxml", fp=path)
    back = read_grid(path)
    np.testing.assert_array_equal(back[: len(GRID)], GRID)
    assert not back[len(GRID):].any()  # at most rests completing the last bar


def test_minor_key_is_spelled_with_its_leading_tone(tmp_path):
    from chorale.io.musicxml import to_score

    names = {n.pitch.name for n in to_score(E_MINOR).recurse().notes}
    assert "D#" in names and "E-" not in names


# ---------------------------------------------------------------------------- import
def test_type_0_file_splits_channels_into_voices(tmp_path):
    voices = [_line(ch, [(p, 1), (p + 2, 1)]) for ch, p in enumerate((72, 67, 64, 48))]
    merged = sorted(((sum(e[0] for e in v[:i + 1]), i % 2 == 0, e) for v in voices for i, e in enumerate(v)),
                    key=lambda x: (x[0], x[1]))
    events, now = [], 0
    for tick, _, (_, kind, ch, note, vel) in merged:
        events.append((tick - now, kind, ch, note, vel))
        now = tick
    grid = read_grid(_midi_file(tmp_path, [events], midi_type=0))
    np.testing.assert_array_equal(grid, [[72, 67, 64, 48]] * 4 + [[74, 69, 66, 50]] * 4)


def test_named_tracks_map_to_voices_whatever_their_order(tmp_path):
    midi = to_midi(GRID)
    midi.tracks[1:] = midi.tracks[:0:-1]  # bass first, soprano last
    path = tmp_path / "reversed.mid"
    midi.save(path)
    np.testing.assert_array_equal(read_grid(path), GRID)


def test_chords_in_one_track_are_voiced_by_pitch_order_and_drums_are_ignored(tmp_path):
    chord = [(0, "note_on", 0, p, 80) for p in (48, 72, 64, 67)]
    chord += [(480 if i == 0 else 0, "note_off", 0, p, 0) for i, p in enumerate((48, 72, 64, 67))]
    drums = [(0, "note_on", 9, 36, 100), (480, "note_off", 9, 36, 0)]
    fifth = [(0, "note_on", 1, 55, 80), (0, "note_on", 1, 43, 80), (480, "note_off", 1, 55, 0), (0, "note_off", 1, 43, 0)]
    path = _midi_file(tmp_path, [chord + fifth, drums])
    np.testing.assert_array_equal(read_grid(path), [[72, 67, 64, 48]] * 4 + [[55, 0, 0, 43]] * 4)


def test_quantizes_any_resolution_and_legato_overlaps(tmp_path):
    # 96 ticks per quarter, notes played slightly late and overlapping (legato)
    events = [(2, "note_on", 0, 60, 80), (98, "note_on", 0, 62, 80), (5, "note_off", 0, 60, 0),
              (40, "note_off", 0, 62, 0)]
    np.testing.assert_array_equal(read_melody(_midi_file(tmp_path, [events], ticks=96)), [60] * 4 + [62] * 2)


def test_read_melody_picks_the_soprano_or_the_named_part(tmp_path):
    path = tmp_path / "c.mid"
    write_midi(path, GRID)
    np.testing.assert_array_equal(read_melody(path), GRID[:, 0])
    np.testing.assert_array_equal(read_melody(path, part="bass"), GRID[:, 3])
    np.testing.assert_array_equal(read_melody(path, part=1), GRID[:, 1])  # 0-based, the conductor track not counted
    with pytest.raises(ChoraleError, match="no part named 'horn'"):
        read_melody(path, part="horn")


def test_read_grid_and_melody_accept_csv(tmp_path):
    from chorale.io.csvfile import write_csv

    path = tmp_path / "c.csv"
    write_csv(path, GRID)
    np.testing.assert_array_equal(read_grid(path), GRID)
    np.testing.assert_array_equal(read_melody(path, part="tenor"), GRID[:, 2])


def test_read_melody_keeps_a_chords_top_note_unless_a_single_line_is_needed(tmp_path):
    events = [(0, "note_on", 0, 67, 80), (0, "note_on", 0, 64, 80), (480, "note_off", 0, 67, 0),
              (0, "note_off", 0, 64, 0), (0, "note_on", 0, 69, 80), (480, "note_off", 0, 69, 0)]
    path = _midi_file(tmp_path, [events])
    np.testing.assert_array_equal(read_melody(path), [67] * 4 + [69] * 4)
    with pytest.raises(ChoraleError, match=r"chord at bar 1, beat 1 .*needs a single line"):
        read_melody(path, single_line=True)
    np.testing.assert_array_equal(read_melody(_midi_file(tmp_path, [_line(0, [(60, 1), (62, 1)])], name="line.mid"),
                                              single_line=True), [60] * 4 + [62] * 4)


def test_read_melody_of_a_csv_of_rests_is_a_one_line_error(tmp_path):
    from chorale.io.csvfile import write_csv

    write_csv(tmp_path / "rests.csv", np.zeros((4, N_VOICES), np.int32))
    with pytest.raises(ChoraleError, match="rests.csv: no notes, only rests"):
        read_melody(tmp_path / "rests.csv")


@pytest.mark.parametrize(("name", "number"), [
    ("church organ", 19), ("Choir Aahs", 52), ("string ensemble 1", 48), ("  STRING-ENSEMBLE 1 ", 48),
    ("church", 19), ("20", 19), ("1", 0), ("128", 127)])
def test_instrument_names_and_chart_numbers(name, number):
    assert program_number(name) == number
    assert DEFAULT_PROGRAM == program_number("church organ")


@pytest.mark.parametrize(("name", "message"), [
    ("banjoo", "unknown instrument 'banjoo'.*church organ"), ("organ", "ambiguous.*reed organ"),
    ("0", "1-128"), ("129", "1-128")])
def test_bad_instrument(name, message):
    with pytest.raises(ChoraleError, match=message):
        program_number(name)


# ---------------------------------------------------------------------------- bad input
def _five_at_once(tmp_path):
    late = 2 * 4 * TICKS_PER_QUARTER + 2 * TICKS_PER_QUARTER  # bar 3, beat 3
    events = [(late, "note_on", 0, 60, 80)] + [(0, "note_on", 0, p, 80) for p in (64, 67, 72, 76)]
    events += [(TICKS_PER_QUARTER if i == 0 else 0, "note_off", 0, p, 0) for i, p in enumerate((60, 64, 67, 72, 76))]
    return _midi_file(tmp_path, [events])


def _truncated(tmp_path):
    write_midi(tmp_path / "whole.mid", GRID)
    path = tmp_path / "in.mid"
    path.write_bytes((tmp_path / "whole.mid").read_bytes()[:150])
    (tmp_path / "whole.mid").unlink()
    return path


def _huge(tmp_path):
    path = tmp_path / "in.mid"
    with path.open("wb") as f:
        f.write(b"MThd")
        f.truncate(6_000_000)
    return path


def _text(name, text):
    def make(tmp_path):
        path = tmp_path / name
        path.write_text(text)
        return path
    return make


def _bytes(data):
    def make(tmp_path):
        path = tmp_path / "in.mid"
        path.write_bytes(data)
        return path
    return make


BAD_INPUTS = {
    "no notes": (lambda t: _midi_file(t, [[], [(0, "note_off", 0, 60, 0)]]), "no pitched notes"),
    "only drums": (lambda t: _midi_file(t, [_line(9, [(36, 1), (38, 1)])]), "no pitched notes"),
    "corrupt bytes": (_text("in.mid", "this is not music at all"), "not a Standard MIDI File"),
    "corrupt events": (_bytes(b"MThd\0\0\0\6\0\1\0\1\1\xe0MTrk\0\0\0\4\0\xf4\x01\x02"), "corrupt MIDI file"),
    "truncated": (_truncated, "truncated"),
    "five notes at once": (_five_at_once, "5 notes sound at once at bar 3, beat 3"),
    "pitch too low": (lambda t: _midi_file(t, [_line(0, [(12, 1)])]), "pitch 12 at bar 1, beat 1 .*outside"),
    "huge": (_huge, "too large"),
    "not music xml": (_text("in.musicxml", "<html><body>hello</body></html>"), "not readable MusicXML"),
    "not xml at all": (_text("in.xml", "hello"), "not readable MusicXML"),
    "unknown input type": (_text("in.txt", "hello"), "unknown file type '.txt'"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_a_one_line_error_and_writes_nothing(tmp_path, case):
    make, message = BAD_INPUTS[case]
    path = make(tmp_path)
    before = set(tmp_path.iterdir())
    result = CliRunner().invoke(cli, ["render", str(path), "--png", str(tmp_path / "out.png"),
                                      "--midi", str(tmp_path / "out.mid")])
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {path}: ")
    assert re.search(message, lines[0]), lines[0]
    assert set(tmp_path.iterdir()) == before
