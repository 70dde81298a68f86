"""Regenerate: the chosen bars and voices are rewritten, every other note stays exactly."""

import numpy as np
import pytest
from click.testing import CliRunner

from chorale import ChoraleError
from chorale.cli import cli
from chorale.io.csvfile import read_csv, write_csv

BAR = 16


def test_only_the_region_changes(model, piece):
    new = model.regenerate(piece, bars=(5, 6), voices=["alto", "tenor"], candidates=4, seed=1)
    changed = new.grid != piece.grid
    assert changed[4 * BAR: 6 * BAR, 1:3].any()
    changed[4 * BAR: 6 * BAR, 1:3] = False
    assert not changed.any()
    assert new.details["bars"] == (5, 6) and new.details["voices"] == ["alto", "tenor"]
    assert new.details["seed"] == 1 + new.details["candidate"]


def test_keep_leaves_a_voice_inside_the_region(model, piece):
    new = model.regenerate(piece, bars="2-3", keep="soprano", candidates=2, seed=3)
    np.testing.assert_array_equal(new.grid[:, 0], piece.grid[:, 0])
    np.testing.assert_array_equal(new.grid[3 * BAR:], piece.grid[3 * BAR:])
    assert (new.grid[BAR: 3 * BAR, 1:] != piece.grid[BAR: 3 * BAR, 1:]).any()


def test_the_first_bar_and_the_whole_piece_can_be_rewritten(model, piece):
    first = model.regenerate(piece, bars=1, candidates=2, seed=5)
    np.testing.assert_array_equal(first.grid[BAR:], piece.grid[BAR:])
    assert first.steps == piece.steps and not first.details["whole"]
    whole = model.regenerate(piece, bars=(1, piece.bars), candidates=1, seed=5)
    assert whole.details["whole"] and whole.steps == piece.steps


def test_same_seed_same_music(model, piece):
    a = model.regenerate(piece, bars=(5, 6), candidates=3, seed=9)
    b = model.regenerate(piece, bars=(5, 6), candidates=3, seed=9)
    assert a == b


@pytest.mark.parametrize("kwargs, message", [
    (dict(bars=(6, 5)), "first bar comes after the last"),
    (dict(bars=(0, 2)), "outside the piece"),
    (dict(bars=(13, 20)), "outside the piece"),
    (dict(bars="five"), "expected FIRST-LAST"),
    (dict(bars=(5, 6), voices="baritone"), "unknown voice 'baritone'"),
    (dict(bars=(5, 6), voices="alto", keep="alto"), "nothing to write"),
    (dict(bars=(5, 6), candidates=0), "candidates must be"),
])
def test_bad_requests_are_refused(model, piece, kwargs, message):
    with pytest.raises(ChoraleError, match=message):
        model.regenerate(piece, **kwargs)


def test_cli_keeps_everything_outside_byte_for_byte(tmp_path, piece):
    source = tmp_path / "in.csv"
    write_csv(source, piece.grid)
    result = CliRunner().invoke(cli, ["regenerate", str(source), "--bars", "5-6", "--voices", "alto,tenor,bass",
                                      "--seed", "1", "--out", str(tmp_path / "out.csv")])
    assert result.exit_code == 0, result.output
    before, after = source.read_text().splitlines(), (tmp_path / "out.csv").read_text().splitlines()
    region = slice(1 + 4 * BAR, 1 + 6 * BAR)  # the header is line 0
    assert before[:region.start] == after[:region.start] and before[region.stop:] == after[region.stop:]
    assert [r.split(",")[0] for r in before[region]] == [r.split(",")[0] for r in after[region]]
    assert read_csv(tmp_path / "out.csv").shape == piece.grid.shape


@pytest.mark.parametrize("args, message", [
    (["--bars", "17-18"], "outside the piece"),
    (["--bars", "6-5"], "first bar comes after the last"),
    (["--bars", "5-6", "--voices", "baritone"], "unknown voice"),
    (["--bars", "5-6", "--voices", "alto", "--keep", "alto"], "nothing to write"),
])
def test_cli_bad_requests_write_nothing(tmp_path, piece, args, message):
    source = tmp_path / "in.csv"
    write_csv(source, piece.grid)
    result = CliRunner().invoke(cli, ["regenerate", str(source), *args, "--out", str(tmp_path / "o.mid")])
    assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


def test_cli_says_when_the_region_is_the_whole_piece(tmp_path, piece):
    source = tmp_path / "in.csv"
    write_csv(source, piece.grid[:2 * BAR])
    result = CliRunner().invoke(cli, ["regenerate", str(source), "--bars", "1-2", "--candidates", "1",
                                      "--out", str(tmp_path / "o.csv")])
    assert result.exit_code == 0 and "whole piece" in result.output, result.output


def test_cli_refuses_a_file_that_is_not_music_and_zero_candidates(tmp_path, piece):
    junk = tmp_path / "junk.mid"
    junk.write_bytes(b"not a midi file at all")
    result = CliRunner().invoke(cli, ["regenerate", str(junk), "--bars", "1", "--out", str(tmp_path / "o.mid")])
    assert result.exit_code == 1 and len(result.output.strip().splitlines()) == 1, result.output
    source = tmp_path / "in.csv"
    write_csv(source, piece.grid)
    result = CliRunner().invoke(cli, ["regenerate", str(source), "--bars", "1", "--candidates", "0",
                                      "--out", str(tmp_path / "o.mid")])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "junk.mid"]
