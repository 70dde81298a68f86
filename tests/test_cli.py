"""The command line: fast help, one-line errors, exit codes."""

import subprocess
import sys

import numpy as np
from click.testing import CliRunner

from chorale import __version__
from chorale.cli import cli
from chorale.io.csvfile import write_csv


def run(*args):
    return CliRunner().invoke(cli, list(args))


def test_version_and_help():
    assert run("--version").output.strip() == f"chorale, version {__version__}"
    result = run("--help")
    assert result.exit_code == 0 and "data" in result.output


def test_help_does_not_import_heavy_modules():
    code = (
        "import sys\n"
        "from chorale.cli import cli\n"
        "for args in (['--help'], ['data', '--help']):\n"
        "    try:\n"
        "        cli(args)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "heavy = [m for m in ('tensorflow', 'keras', 'music21', 'pandas', 'matplotlib', 'numpy') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "HEAVY []" in out


def test_python_dash_m_runs_the_cli():
    out = subprocess.run([sys.executable, "-m", "chorale", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and __version__ in out.stdout


GRID = np.array([[74, 70, 65, 58], [74, 70, 65, 58], [75, 0, 67, 55], [0, 0, 0, 0]])


def test_data_info_on_a_small_dataset(tmp_path):
    for split in ("train", "valid", "test"):
        (tmp_path / split).mkdir()
        write_csv(tmp_path / split / "chorale_000.csv", GRID)
    result = run("data", "info", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "train" in result.output and "soprano  pitches 74..75" in result.output


def test_bad_data_is_one_line_exit_1(tmp_path):
    (tmp_path / "bad.csv").write_text("note0,note1,note2,note3\n60,x,60,60\n")
    result = run("data", "info", str(tmp_path / "bad.csv"))
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"Error: {tmp_path / 'bad.csv'}: line 2, column note1: 'x' is not a whole number"
    ]
    assert "Traceback" not in result.output


def test_usage_error_exits_2():
    result = run("data", "info", "a", "b")
    assert result.exit_code == 2
    assert run("no-such-command").exit_code == 2
