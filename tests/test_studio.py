"""`chorale studio`'s HTTP endpoints through Starlette's test client: every action, every
bad input (one-line JSON errors, never a stack trace), the upload rules, and the command."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

import mido
import numpy as np
import pytest

pytest.importorskip("starlette")
from starlette.testclient import TestClient  # noqa: E402

from chorale.studio import server  # noqa: E402
from chorale.studio.server import MAX_UPLOAD, UNEXPECTED, create_app  # noqa: E402

STATIC = Path(server.__file__).parent / "static"


MODEL = os.environ.get("STUDIO_TEST_MODEL")  # another model folder to test against (e.g. one with a plan)
MODEL_OPTION = ["--model", MODEL] if MODEL else []


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(MODEL)) as c:
        yield c


@pytest.fixture(scope="module")
def piece(client):
    response = client.post("/api/generate", data={"seed": "3", "bars": "16"})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture(scope="module")
def midi_bytes(client, piece):
    return client.post("/api/export/midi", json={"piece": piece}).content


def error(response, status=400) -> str:
    assert response.status_code == status, response.text
    text = response.json()["error"]
    assert "\n" not in text and "Traceback" not in text and "chorale-studio-" not in text
    return text


# ---------------------------------------------------------------------------- the page
def test_page_and_its_files_are_served_from_the_package(client):
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="/static/studio.js">' in page.text
    for name, kind in (("studio.js", "javascript"), ("studio.css", "text/css")):
        response = client.get(f"/static/{name}")
        assert response.status_code == 200 and kind in response.headers["content-type"]


def test_the_page_needs_no_internet():
    """No CDN, no remote fonts or scripts: the only URL in the page is the SVG namespace."""
    for path in STATIC.iterdir():
        urls = set(re.findall(r"https?://[^\s\"'`)]+", path.read_text(encoding="utf-8")))
        assert urls <= {"http://www.w3.org/2000/svg"}, (path.name, urls)


def test_info_describes_the_model_and_features(client):
    info = client.get("/api/info").json()
    assert info["voices"] == ["soprano", "alto", "tenor", "bass"]
    assert info["steps_per_bar"] == 16 and info["defaults"]["bars"] == 16
    assert info["limits"]["upload_bytes"] == MAX_UPLOAD
    assert info["model"]["parameters"] > 0
    assert set(info["features"]) == {"plan", "regenerate", "sheet", "fluidsynth"}


# ---------------------------------------------------------------------------- generate
def test_generate_returns_the_piece_as_json(client, piece):
    grid = np.array(piece["grid"])
    assert grid.shape == (256, 4) and piece["steps"] == 256 and piece["bars"] == 16
    assert piece["details"]["seed"] == 3 and re.fullmatch(r"Chorale (in .+ )?\(seed 3\)", piece["title"])
    assert piece["tempo"] == 72 and re.fullmatch(r"[A-G][b#]? (major|minor)", piece["key"])
    assert isinstance(piece["fermatas"], list)
    again = client.post("/api/generate", json={"seed": 3, "bars": 16}).json()  # JSON works as well as a form
    assert again["grid"] == piece["grid"]  # the same seed: the same music, as the API promises


def test_generate_same_as_the_api(client):
    import chorale

    expected = chorale.load_model(MODEL).generate(seed=11, bars=4, temperature=0.9, primer="test:2")
    got = client.post("/api/generate", data={"seed": "11", "bars": "4", "temperature": "0.9",
                                             "primer": "test:2"}).json()
    assert got["grid"] == expected.grid.tolist()


def test_generate_from_silence(client):
    got = client.post("/api/generate", data={"seed": "5", "bars": "2", "primer": "none"})
    assert got.status_code == 200 and len(got.json()["grid"]) == 32


def test_generate_continues_an_uploaded_primer(client, piece):
    grid = np.array(piece["grid"][:32])
    csv = "note0,note1,note2,note3\n" + "\n".join(",".join(map(str, row)) for row in grid) + "\n"
    got = client.post("/api/generate", data={"seed": "1", "bars": "4", "primer": "upload"},
                      files={"file": ("opening.csv", csv.encode())})
    assert got.status_code == 200, got.text
    assert np.array_equal(np.array(got.json()["grid"])[:32], grid)


def test_generate_in_a_chosen_key_with_fermatas(client):
    if not client.get("/api/info").json()["features"]["plan"]:
        pytest.skip("needs a bundled model trained with a plan (key and fermatas)")
    got = client.post("/api/generate", data={"seed": "2", "bars": "8", "key": "d minor", "fermatas": "2,4"})
    assert got.status_code == 200, got.text
    piece = got.json()
    assert piece["key"] == "D minor" and piece["known_key"] is True
    assert piece["fermatas"] == [28, 60, 127]
    # the plan travels with the piece: a regenerated version keeps its key and fermatas
    again = client.post("/api/regenerate", json={"piece": piece, "bars": [3, 4], "seed": 1, "candidates": 2}).json()
    assert again["key"] == "D minor" and again["fermatas"] == [28, 60, 127]


@pytest.mark.parametrize("fields", [{"key": "H minor"}, {"key": "D minor"}, {"fermatas": "2,99"},
                                    {"fermatas": "two"}])
def test_key_and_fermatas_messages_are_the_clis(client, tmp_path, fields):
    """Whether or not the model follows a plan, the page says what the command line says."""
    from click.testing import CliRunner

    from chorale.cli import cli

    (name, value), = fields.items()
    page = client.post("/api/generate", data={"seed": "1", "bars": "8", **fields})
    result = CliRunner().invoke(cli, ["generate", *MODEL_OPTION, "--seed", "1", "--bars", "8", f"--{name}", value,
                                      "--out", str(tmp_path / "x.mid")])
    if page.status_code == 200:
        assert result.exit_code == 0, result.output
    else:
        last = result.output.strip().splitlines()[-1]  # a usage error (exit 2) names the option first
        assert (result.exit_code, last) in ((1, f"Error: {error(page)}"),
                                            (2, f"Error: Invalid value for '--{name}': {error(page)}")), last
    if fields == {"key": "H minor"}:
        assert page.status_code == 400
        if client.get("/api/info").json()["features"]["plan"]:
            assert error(page).startswith("unknown key 'H minor'")


@pytest.mark.parametrize("fields, message", [
    ({"seed": "abc"}, "seed must be a whole number in 0..2147483647, got 'abc'"),
    ({"seed": "-1"}, "seed must be a whole number in 0..2147483647, got -1"),
    ({"seed": "99999999999"}, "seed must be a whole number in 0..2147483647, got 99999999999"),
    ({"bars": "0"}, "bars must be a whole number in 1..1250, got 0"),
    ({"bars": "two"}, "bars must be a whole number in 1..1250, got 'two'"),
    ({"bars": "1000"}, "bars must be at most 64 in the studio, got 1000"),
    ({"temperature": "hot"}, "temperature must be a number in 0.01..100, got 'hot'"),
    ({"temperature": "0"}, "temperature must be a number in 0.01..100, got 0.0"),
    ({"primer": "test:999"}, "no primer 'test:999': the test split has chorales 0.."),
    ({"primer": "../../etc/passwd"}, "unknown primer '../../etc/passwd'"),
    ({"primer": "upload"}, "no primer file: choose a MIDI, MusicXML or CSV file to upload"),
])
def test_generate_bad_input_is_a_one_line_400(client, fields, message):
    assert error(client.post("/api/generate", data=fields)).startswith(message)


def test_generate_messages_are_the_clis(client, tmp_path):
    """The page shows the same text the command line prints after 'Error: '."""
    from click.testing import CliRunner

    from chorale.cli import cli

    result = CliRunner().invoke(cli, ["generate", *MODEL_OPTION, "--primer", "test:9999",
                                      "--out", str(tmp_path / "x.mid")])
    assert result.exit_code == 1
    page = error(client.post("/api/generate", data={"primer": "test:9999"}))
    assert result.output.strip() == f"Error: {page}"


# ---------------------------------------------------------------------------- harmonize
def test_harmonize_an_uploaded_melody(client, piece, midi_bytes):
    got = client.post("/api/harmonize", files={"file": ("My Tune.mid", midi_bytes)},
                      data={"voice": "soprano", "candidates": "8", "seed": "1"})
    assert got.status_code == 200, got.text
    satb = got.json()
    grid, original = np.array(satb["grid"]), np.array(piece["grid"])
    assert satb["title"] == "My Tune (harmonized)" and satb["details"]["candidates"] == 8
    sung = np.flatnonzero(original[:, 0])
    melody = original[sung[0]: sung[-1] + 1, 0] + satb["details"]["shift"]
    assert np.array_equal(grid[:, 0], melody)  # the melody is kept; the three other voices are written
    assert (grid[:, 1:] > 0).any(axis=0).all()


def test_harmonize_a_bass_line_from_csv(client, piece):
    bass = np.array(piece["grid"])[:64, 3]
    csv = "note0,note1,note2,note3\n" + "\n".join(f"0,0,0,{p}" for p in bass) + "\n"
    got = client.post("/api/harmonize", files={"file": ("bass.csv", csv.encode())},
                      data={"voice": "bass", "candidates": "2", "seed": "4"})
    assert got.status_code == 200, got.text
    assert got.json()["steps"] == len(np.trim_zeros(bass))


@pytest.mark.parametrize("files, fields, message", [
    (None, {}, "no melody file: choose a MIDI, MusicXML or CSV file to upload"),
    ({"file": ("notes.txt", b"a b c")}, {}, "notes.txt: not a music file (expected .mid, .midi, .musicxml, .xml, .mxl, .csv)"),
    ({"file": ("photo.png", b"\x89PNG\r\n")}, {}, "photo.png: not a music file"),
    ({"file": ("tune.mid", b"this is not MIDI")}, {}, "tune.mid: not a Standard MIDI File"),
    ({"file": ("tune.mid", b"")}, {}, "tune.mid: the file is empty"),
    ({"file": ("tune.musicxml", b"<html>nope</html>")}, {}, "tune.musicxml:"),
    ({"file": ("tune.csv", b"hello,world\n1,2\n")}, {}, "tune.csv:"),
    ("midi", {"voice": "viola"}, "unknown voice 'viola' (choose from soprano, alto, tenor, bass)"),
    ("midi", {"candidates": "0"}, "candidates must be a whole number in 1..1000, got 0"),
    ("midi", {"candidates": "500"}, "candidates must be at most 32 in the studio, got 500"),
    ("midi", {"seed": "x"}, "seed must be a whole number in 0..2147483647, got 'x'"),
])
def test_harmonize_bad_input_is_a_one_line_400(client, midi_bytes, files, fields, message):
    files = {"file": ("tune.mid", midi_bytes)} if files == "midi" else files
    assert error(client.post("/api/harmonize", files=files, data=fields)).startswith(message)


def test_uploads_over_the_limit_are_refused(client):
    big = b"MThd" + b"\0" * (MAX_UPLOAD + 10)
    text = error(client.post("/api/harmonize", files={"file": ("big.mid", big)}), 413)
    assert text == "the file is too large: the studio takes music files up to 2 MB"
    # without a Content-Length the stream is counted as it comes, and cut off past the limit
    body = (b"--b\r\nContent-Disposition: form-data; name=\"other\"; filename=\"big.mid\"\r\n\r\n"
            + big + b"\0" * server.MAX_BODY + b"\r\n--b--\r\n")
    response = client.post("/api/harmonize", content=iter([body[i:i + 65536] for i in range(0, len(body), 65536)]),
                           headers={"Content-Type": "multipart/form-data; boundary=b"})
    assert error(response, 413).startswith("the file is too large")
    assert error(client.post("/api/regenerate", content=b"{" + b" " * (MAX_UPLOAD + 400_000) + b"}",
                             headers={"Content-Type": "application/json"}), 413)


@pytest.mark.slow
def test_client_file_names_never_become_paths(client, midi_bytes, tmp_path, monkeypatch):
    """Only the suffix of the client's name is kept; everything is written inside a fresh
    temporary folder, which is gone after the request, whether it worked or not."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    for name in ("../../escape.mid", "/etc/cron.d/x.mid", "..\\..\\win.mid", "a\0b.mid"):
        got = client.post("/api/harmonize", files={"file": (name, midi_bytes)}, data={"candidates": "1", "seed": "1"})
        assert got.status_code == 200, (name, got.text)
        assert "/" not in got.json()["title"] and "\\" not in got.json()["title"]
    error(client.post("/api/harmonize", files={"file": ("../bad.mid", b"garbage")}))
    client.post("/api/generate", data={"primer": "upload", "bars": "2"}, files={"file": ("../p.csv", b"x")})
    assert list(tmp_path.iterdir()) == []  # every temporary folder was removed
    assert not (tmp_path.parent / "escape.mid").exists() and not Path("/etc/cron.d/x.mid").exists()


def test_errors_name_the_clients_file_not_the_temporary_copy(client):
    text = error(client.post("/api/harmonize", files={"file": ("dir/My Song.mid", b"nonsense")}))
    assert text.startswith("My Song.mid: ") and "upload" not in text and tempfile.gettempdir() not in text


# ---------------------------------------------------------------------------- regenerate
def test_regenerate_rewrites_only_the_chosen_bars_and_voices(client, piece):
    body = {"piece": piece, "bars": [5, 6], "voices": ["alto", "tenor", "bass"], "seed": 1, "candidates": 8}
    got = client.post("/api/regenerate", json=body)
    assert got.status_code == 200, got.text
    new, old = np.array(got.json()["grid"]), np.array(piece["grid"])
    changed = np.argwhere(new != old)
    assert changed.size, "the region was not rewritten"
    assert changed[:, 0].min() >= 64 and changed[:, 0].max() < 96 and 0 not in changed[:, 1]
    assert got.json()["title"] == piece["title"] and got.json()["details"]["bars"] == [5, 6]


def test_regenerate_keeps_the_fermatas_the_page_sent(client, piece):
    marked = dict(piece, fermatas=[63, 127, 255])
    got = client.post("/api/regenerate", json={"piece": marked, "bars": "5-6", "seed": 2, "candidates": 2})
    assert got.status_code == 200, got.text
    assert got.json()["fermatas"] == [63, 127, 255]


@pytest.mark.parametrize("change, message", [
    ({"bars": [7, 5]}, "bars 7-5: the first bar comes after the last"),
    ({"bars": [0, 2]}, "bars 0-2 are outside the piece (bars 1-16)"),
    ({"bars": [5, 99]}, "bars 5-99 are outside the piece (bars 1-16)"),
    ({"bars": "five"}, "bars 'five': expected FIRST-LAST, such as 5-6, or one bar number"),
    ({"bars": [True, 2]}, "bars [true, 2]: expected [first, last], such as [5, 6]"),
    ({"bars": [5]}, "bars [5]: expected [first, last], such as [5, 6]"),
    ({"bars": None}, "no bars: select the bars to rewrite on the piano roll"),
    ({"voices": []}, "no voices: pick at least one voice to rewrite"),
    ({"voices": ["viola"]}, "unknown voice 'viola' (choose from soprano, alto, tenor, bass)"),
    ({"seed": -5}, "seed must be a whole number in 0..2147483647, got -5"),
    ({"piece": None}, "no piece: generate or harmonize one first"),
    ({"piece": {"grid": [[60, 60, 60]]}}, "a chorale is a (steps, 4) array of pitches; got shape (1, 3)"),
    ({"piece": {"grid": [[60, 60, 60, 200]] * 32}}, "bass pitch 200 at step 0 is outside"),
    ({"piece": {"grid": [["a", 1, 2, 3]]}}, "a piece's grid is a list of rows of whole MIDI pitches"),
    ({"piece": {"grid": [[60] * 4] * 32, "tempo": 0}}, "tempo must be a number in 10..400, got 0"),
])
def test_regenerate_bad_input_is_a_one_line_400(client, piece, change, message):
    body = {"piece": piece, "bars": [5, 6], "candidates": 1, **change}
    assert error(client.post("/api/regenerate", json=body)).startswith(message)


def test_bad_json_is_a_one_line_400(client):
    for body in (b"{not json", b"[1, 2]", b"\xff\xfe"):
        error(client.post("/api/regenerate", content=body, headers={"Content-Type": "application/json"}))


# ---------------------------------------------------------------------------- hear, see, download
def test_audio_is_a_wav_of_the_piece(client, piece):
    got = client.post("/api/audio", json={"piece": piece})
    assert got.status_code == 200 and got.headers["content-type"] == "audio/wav"
    assert got.content[:4] == b"RIFF" and got.content[8:12] == b"WAVE"
    assert got.headers["x-synthesizer"]
    import wave

    with wave.open(io.BytesIO(got.content)) as w:
        assert w.getnframes() / w.getframerate() >= 256 / 4 * 60 / 72  # at least the 53 s of music


@pytest.mark.skipif(not server.shutil.which("mscore3") and not server.shutil.which("musescore3"),
                    reason="sheet music needs MuseScore (apt-get install musescore3)")
def test_sheet_music_is_a_png(client, piece):
    got = client.post("/api/sheet", json={"piece": dict(piece, grid=piece["grid"][:64],
                                                                  fermatas=[f for f in piece["fermatas"] if f < 64])})
    assert got.status_code == 200, got.text
    assert got.content[:8] == b"\x89PNG\r\n\x1a\n"


def test_sheet_music_without_musescore_says_so(client, piece, monkeypatch):
    monkeypatch.setattr(server.shutil, "which", lambda name: None)
    text = error(client.post("/api/sheet", json={"piece": piece}))
    assert text == "sheet music needs MuseScore, which is not installed (Debian/Ubuntu: apt-get install musescore3)"
    assert client.get("/api/info").json()["features"]["sheet"] is False


def test_downloads_of_the_current_version(client, piece):
    got = {fmt: client.post(f"/api/export/{fmt}", json={"piece": piece}) for fmt in ("midi", "musicxml", "wav", "csv")}
    for fmt, suffix in (("midi", "mid"), ("musicxml", "musicxml"), ("wav", "wav"), ("csv", "csv")):
        assert got[fmt].status_code == 200, got[fmt].text
        slug = re.sub(r"[^a-z0-9]+", "-", piece["title"].lower()).strip("-")
        assert got[fmt].headers["content-disposition"] == f'attachment; filename="{slug}.{suffix}"'
    tracks = [t for t in mido.MidiFile(file=io.BytesIO(got["midi"].content)).tracks
              if any(m.type == "note_on" and m.velocity for m in t)]
    assert len(tracks) == 4
    assert b"<score-partwise" in got["musicxml"].content and got["musicxml"].content.count(b"<score-part ") == 4
    assert got["wav"].content[:4] == b"RIFF"
    rows = got["csv"].text.strip().splitlines()
    assert rows[0] == "note0,note1,note2,note3" and len(rows) == 257
    assert [list(map(int, r.split(","))) for r in rows[1:]] == piece["grid"]


def test_download_of_an_unknown_format_or_no_piece(client, piece):
    assert error(client.post("/api/export/pdf", json={"piece": piece})).startswith("unknown download format 'pdf'")
    assert error(client.post("/api/export/midi", json={})) == "no piece: generate or harmonize one first"


# ---------------------------------------------------------------------------- failures
def test_unexpected_errors_are_a_generic_500(piece, monkeypatch, caplog):
    app = create_app()

    class Broken:
        path = Path(".")
        card = {}

        def generate(self, **kwargs):
            raise RuntimeError("secret internals at /home/someone")

    app.state.studio._model = Broken()
    with TestClient(app, raise_server_exceptions=False) as c:
        got = c.post("/api/generate", data={"seed": "1"})
    assert got.status_code == 500 and got.json() == {"error": UNEXPECTED}
    assert "secret" not in got.text and "Traceback" not in got.text
    assert "secret internals" in caplog.text  # the details go to the server's log


def test_unknown_paths_and_methods_are_json_under_api(client):
    assert error(client.get("/api/nothing"), 404) == "Not Found"
    assert error(client.get("/api/generate"), 405) == "Method Not Allowed"
    assert client.get("/static/../server.py").status_code == 404


def test_other_web_pages_cannot_use_the_studio(client):
    got = client.post("/api/generate", data={"seed": "1", "bars": "1"}, headers={"Origin": "https://example.com"})
    assert error(got, 403) == "the studio answers its own page only"
    same = client.post("/api/generate", data={"seed": "1", "bars": "1"}, headers={"Origin": "http://testserver"})
    assert same.status_code == 200


def test_only_local_host_names_when_serving_on_the_loopback():
    with TestClient(create_app(allowed_hosts=["127.0.0.1", "localhost"]), base_url="http://127.0.0.1:8000") as c:
        assert c.get("/").status_code == 200
        assert c.get("/", headers={"Host": "rebound.example.com"}).status_code == 400


# ---------------------------------------------------------------------------- the command
def test_help_does_not_import_the_web_framework():
    code = (
        "import sys\n"
        "import chorale\n"
        "from chorale.cli import cli\n"
        "for args in (['--help'], ['studio', '--help']):\n"
        "    try:\n"
        "        cli(args)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print('HEAVY', [m for m in ('starlette', 'uvicorn', 'multipart', 'numpy', 'tensorflow') if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "HEAVY []" in out and "--port" in out and "--open" in out and "--host" in out


def test_the_command_serves_the_page_on_localhost_only():
    with server.serving() as (url, seconds):
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(url + "api/info", timeout=30) as response:
            assert json.load(response)["voices"][0] == "soprano"
        port = int(url.rstrip("/").rsplit(":", 1)[1])
        busy = subprocess.run([sys.executable, "-m", "chorale", "studio", "--port", str(port)],
                              capture_output=True, text=True, timeout=60)
        assert busy.returncode == 1
        assert busy.stderr.strip().startswith(f"Error: cannot listen on 127.0.0.1:{port}: ")
    assert seconds < 15  # about a second on a quiet machine; the limit leaves room for a busy one


def test_the_command_refuses_a_missing_model(tmp_path):
    got = subprocess.run([sys.executable, "-m", "chorale", "studio", "--model", str(tmp_path / "nope")],
                         capture_output=True, text=True, timeout=60)
    assert got.returncode == 1 and got.stderr.startswith("Error: ") and len(got.stderr.strip().splitlines()) == 1
