"""The studio's web server: a Starlette app over the Python API (`chorale.api`).

The server is stateless. Every answer that makes music returns the piece as JSON
(`piece_json`); the page keeps the versions of its session (for undo and redo) and posts
the current one back when it wants audio, sheet music, a download or a regeneration. The
only state here is the model, loaded once, and a lock around it.

Endpoints (all JSON errors are {"error": "one line"}: 400 for what the user can fix, with
the same text as the CLI; 413 for an upload over the limit; 500, with a generic line, for
anything unexpected, whose traceback goes to the server's log and never to the page):

    GET  /                      the page
    GET  /api/info              model, features (plan, regenerate, sheet, fluidsynth), limits
    POST /api/generate          form or JSON: seed, bars, key, fermatas, temperature, primer, file -> piece
    POST /api/harmonize         form: file, voice, candidates, seed, temperature, key, fermatas -> piece
    POST /api/regenerate        JSON: piece, bars [first, last], voices, candidates, seed, temperature -> piece
    POST /api/audio             JSON: piece -> audio/wav (FluidSynth when installed, else built in)
    POST /api/sheet             JSON: piece -> image/png (MuseScore)
    POST /api/export/{format}   JSON: piece -> the file (midi, musicxml, wav, csv) as an attachment

Uploads are read with a size limit, written only inside a fresh temporary folder under a
name the server picks (only the client's suffix is kept, from a fixed list), and deleted
after use; every other file the API writes goes to such a folder too.
"""

from __future__ import annotations

import inspect
import json
import logging
import re
import shutil
import tempfile
import threading
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from chorale import ChoraleError, __version__, defaults

STATIC = Path(__file__).resolve().parent / "static"
MAX_UPLOAD = 2 * 1024 * 1024  # bytes in one uploaded music file
MAX_BODY = MAX_UPLOAD + 256 * 1024  # a whole request: the upload and its form fields, or a piece as JSON
MAX_BARS = 64  # the longest piece the studio writes in one request
MAX_CANDIDATES = 32
MUSIC_SUFFIXES = (".mid", ".midi", ".musicxml", ".xml", ".mxl", ".csv")
EXPORTS = {  # format -> (suffix, media type); the format names are render.FORMATS' names
    "midi": (".mid", "audio/midi"),
    "musicxml": (".musicxml", "application/vnd.recordare.musicxml+xml"),
    "wav": (".wav", "audio/wav"),
    "csv": (".csv", "text/csv"),
}
UNEXPECTED = "something went wrong in the studio's server (the terminal running `chorale studio` has the details)"
log = logging.getLogger("chorale.studio")


class TooLarge(Exception):
    """A request body over MAX_BODY or an upload over MAX_UPLOAD."""


# ---------------------------------------------------------------------------- the app
def create_app(model_dir=None, *, model=None, warm: bool = False, allowed_hosts=None) -> Starlette:
    """The studio's Starlette app over `model` (a chorale.Model), else the model in
    `model_dir`, else the bundled model (loaded on the first request that needs it).
    warm: at startup, load the model and the music libraries in the background, so that
    the first Generate is as fast as the next ones. allowed_hosts: the Host names it
    answers (None: any); `serve` gives 127.0.0.1 and localhost on the loopback, so that
    a web page elsewhere cannot reach the studio through a DNS name of its own."""
    studio = _Studio(model_dir, model)

    @asynccontextmanager
    async def lifespan(app):
        if warm:
            threading.Thread(target=studio.warm, name="chorale-studio-warm", daemon=True).start()
        yield

    routes = [
        Route("/", studio.page),
        Route("/api/info", studio.endpoint(studio.info), methods=["GET"]),
        Route("/api/generate", studio.endpoint(studio.generate), methods=["POST"]),
        Route("/api/harmonize", studio.endpoint(studio.harmonize), methods=["POST"]),
        Route("/api/regenerate", studio.endpoint(studio.regenerate), methods=["POST"]),
        Route("/api/audio", studio.endpoint(studio.audio), methods=["POST"]),
        Route("/api/sheet", studio.endpoint(studio.sheet), methods=["POST"]),
        Route("/api/export/{format}", studio.endpoint(studio.export), methods=["POST"]),
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
    ]
    middleware = []
    if allowed_hosts is not None:
        from starlette.middleware import Middleware
        from starlette.middleware.trustedhost import TrustedHostMiddleware

        middleware.append(Middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts)))
    app = Starlette(routes=routes, lifespan=lifespan, middleware=middleware,
                    exception_handlers={HTTPException: _http_error, Exception: _unexpected})
    app.state.studio = studio
    return app


async def _http_error(request: Request, exc: HTTPException) -> Response:
    """404 and 405 as one-line JSON under /api, as plain text elsewhere."""
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code)
    return Response(exc.detail, status_code=exc.status_code, media_type="text/plain")


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.error("unexpected error in %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse({"error": UNEXPECTED}, status_code=500)


class _Studio:
    """The endpoints, around one model and the lock that keeps its sampler to one request."""

    def __init__(self, model_dir, model):
        self.model_dir, self._model = model_dir, model
        self._loading, self._sampling = threading.Lock(), threading.Lock()

    @property
    def model(self):
        with self._loading:
            if self._model is None:
                from chorale.api import load_model

                self._model = load_model(self.model_dir)
            return self._model

    def warm(self) -> None:
        """Load the model and what the first piece needs (NumPy, music21 for its key)."""
        try:
            import chorale.io.midi  # noqa: F401  (music21: the key of every piece)

            with self._sampling:
                self.model.generate(seed=0, bars=1, primer="none").key  # noqa: B018
        except Exception:  # a broken model shows itself on the first real request
            log.debug("warm-up failed", exc_info=True)

    # ------------------------------------------------------------------ plumbing
    def endpoint(self, work):
        """An async endpoint that reads the request (with the size limit), runs `work`
        (request data -> Response or JSON-able) in a worker thread, and turns errors into
        one-line JSON answers."""

        async def handle(request: Request) -> Response:
            data = {}
            origin = request.headers.get("origin")
            if origin and origin != "null" and urlsplit(origin).netloc != request.headers.get("host"):
                return JSONResponse({"error": "the studio answers its own page only"}, status_code=403)
            try:
                data = await _read(request)
                result = await run_in_threadpool(work, data)
                return result if isinstance(result, Response) else JSONResponse(result)
            except ChoraleError as e:
                return JSONResponse({"error": _one_line(e)}, status_code=400)
            except TooLarge as e:
                return JSONResponse({"error": str(e)}, status_code=413)
            except Exception as e:  # noqa: BLE001  (a bug: logged here, one generic line for the page)
                log.error("unexpected error in %s %s", request.method, request.url.path, exc_info=e)
                return JSONResponse({"error": UNEXPECTED}, status_code=500)
            finally:
                for value in data.values():
                    if isinstance(value, UploadFile):
                        await value.close()

        return handle

    async def page(self, request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    # ------------------------------------------------------------------ endpoints
    def info(self, data: dict) -> dict:
        from chorale.io.render import _musescore, _soundfont
        from chorale.encoding import STEPS_PER_BAR, VOICES

        model = self.model
        return {
            "version": __version__,
            "model": {"path": str(model.path), "architecture": model.card.get("architecture"),
                      "parameters": model.card.get("parameters")},
            "voices": list(VOICES),
            "steps_per_bar": STEPS_PER_BAR,
            "defaults": {"bars": defaults.BARS, "temperature": defaults.TEMPERATURE,
                         "candidates": defaults.CANDIDATES, "voice": defaults.VOICE, "tempo": defaults.TEMPO},
            "limits": {"bars": MAX_BARS, "candidates": MAX_CANDIDATES, "upload_bytes": MAX_UPLOAD,
                       "suffixes": list(MUSIC_SUFFIXES)},
            "features": {"plan": self.can_plan, "regenerate": hasattr(model, "regenerate"),
                         "sheet": _musescore() is not None,
                         "fluidsynth": shutil.which("fluidsynth") is not None and _soundfont() is not None},
        }

    @property
    def can_plan(self) -> bool:
        """Whether the model follows a plan: a key and fermatas asked for (else the API
        refuses them, and the page greys them out)."""
        model = self.model
        return "key" in inspect.signature(model.generate).parameters and bool(getattr(model.sampler, "plan_columns", 0))

    def generate(self, data: dict) -> dict:
        seed = _whole(data, "seed")
        bars = _whole(data, "bars", defaults.BARS)
        if isinstance(bars, int) and bars > MAX_BARS:
            raise ChoraleError(f"bars must be at most {MAX_BARS} in the studio, got {bars}")
        temperature = _number(data, "temperature", defaults.TEMPERATURE)
        options = {name: value for name in ("key", "fermatas") if (value := _text(data, name))}  # the API checks them
        primer = _text(data, "primer") or "default"
        with _upload_folder() as folder:
            if primer == "upload":
                path, name = _save_upload(data, folder, what="primer")
                primer_value = str(path)
            elif primer == "default":
                primer_value, name = None, None
            elif primer == "none" or re.fullmatch(r"(test|valid|train):\d+", primer):
                primer_value, name = primer, None
            else:
                raise ChoraleError(f"unknown primer '{primer}' (choose default, none, test:N or upload)")
            with self._sampling, _named(folder, name):
                piece = self.model.generate(seed=seed, bars=bars, temperature=temperature, primer=primer_value,
                                            **options)
        return piece_json(piece)

    def harmonize(self, data: dict) -> dict:
        from chorale.encoding import VOICES

        voice = _text(data, "voice") or defaults.VOICE
        if voice not in VOICES:
            raise ChoraleError(f"unknown voice '{voice}' (choose from {', '.join(VOICES)})")
        candidates = _whole(data, "candidates", defaults.CANDIDATES)
        if isinstance(candidates, int) and candidates > MAX_CANDIDATES:
            raise ChoraleError(f"candidates must be at most {MAX_CANDIDATES} in the studio, got {candidates}")
        seed, temperature = _whole(data, "seed"), _number(data, "temperature", defaults.TEMPERATURE)
        with _upload_folder() as folder:
            path, name = _save_upload(data, folder, what="melody")
            title = f"{Path(name).stem} (harmonized)"
            options = {name: value for name in ("key", "fermatas") if (value := _text(data, name))}
            with self._sampling, _named(folder, name):
                piece = self.model.harmonize(str(path), voice=voice, candidates=candidates, seed=seed,
                                             temperature=temperature, title=title, **options)
        return piece_json(piece)

    def regenerate(self, data: dict) -> dict:
        piece = _piece(data)
        bars = data.get("bars")  # [first, last], a bar number or "5-6": the API checks them
        if isinstance(bars, list):
            if len(bars) != 2 or not all(isinstance(b, int) and not isinstance(b, bool) for b in bars):
                raise ChoraleError(f"bars {json.dumps(bars)}: expected [first, last], such as [5, 6]")
            bars = tuple(bars)
        elif isinstance(bars, bool) or isinstance(bars, float):
            raise ChoraleError(f"bars {json.dumps(bars)}: expected [first, last], such as [5, 6]")
        elif bars is None:
            raise ChoraleError("no bars: select the bars to rewrite on the piano roll")
        voices = data.get("voices")  # a list or "alto,tenor"; None: all four
        if voices is not None and not voices:
            raise ChoraleError("no voices: pick at least one voice to rewrite")
        if isinstance(voices, list) and not all(isinstance(v, str) for v in voices):
            raise ChoraleError(f"voices are names such as alto or tenor, got {json.dumps(voices)}")
        candidates = _whole(data, "candidates", defaults.CANDIDATES)
        if isinstance(candidates, int) and candidates > MAX_CANDIDATES:
            raise ChoraleError(f"candidates must be at most {MAX_CANDIDATES} in the studio, got {candidates}")
        seed, temperature = _whole(data, "seed"), _number(data, "temperature", defaults.TEMPERATURE)
        model = self.model
        if not hasattr(model, "regenerate"):
            raise ChoraleError("this version of chorale cannot regenerate bars yet (it needs model.regenerate)")
        with self._sampling:
            new = model.regenerate(piece, bars=bars, voices=voices, candidates=candidates, seed=seed,
                                   temperature=temperature)
        return piece_json(new, like=piece)

    def audio(self, data: dict) -> Response:
        from chorale.io.render import Style, write_wav

        piece = _piece(data)
        with _upload_folder() as folder:
            path = folder / "audio.wav"
            note = write_wav(path, piece.grid, Style(piece.title, piece.tempo))
            body = path.read_bytes()
        return Response(body, media_type="audio/wav",
                        headers={"X-Synthesizer": _header_safe(note.split(";")[0]), "Cache-Control": "no-store"})

    def sheet(self, data: dict) -> Response:
        piece = _piece(data)
        with _upload_folder() as folder:
            path = piece.save(folder / "sheet.png", format="sheet")
            body = path.read_bytes()
        return Response(body, media_type="image/png", headers={"Cache-Control": "no-store"})

    def export(self, data: dict) -> Response:
        fmt = data["format"]
        if fmt not in EXPORTS:
            raise ChoraleError(f"unknown download format '{fmt}' (choose from {', '.join(EXPORTS)})")
        suffix, media_type = EXPORTS[fmt]
        piece = _piece(data)
        name = (re.sub(r"[^A-Za-z0-9]+", "-", piece.title).strip("-").lower() or "chorale")[:60] + suffix
        with _upload_folder() as folder:
            path = piece.save(folder / f"export{suffix}")
            body = path.read_bytes()
        return Response(body, media_type=media_type,
                        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


# ---------------------------------------------------------------------------- pieces as JSON
def piece_json(piece, like=None) -> dict:
    """A Chorale as the page holds it: the grid as rows of 4 MIDI pitches (0 = rest), and
    what the page shows beside it. `like`: the piece it was rewritten from, whose planned
    key and fermatas it keeps when it does not say its own."""
    from chorale.encoding import STEPS_PER_BAR
    from chorale.music import describe_faults, voice_leading_faults

    fermatas = tuple(getattr(piece, "fermatas", ()) or ())
    known = getattr(piece, "known_key", False)
    key = piece.key
    if like is not None and len(like.grid) == len(piece.grid):
        fermatas = fermatas or tuple(getattr(like, "fermatas", ()) or ())
        if not known and getattr(like, "known_key", False):
            key, known = like.key, True
    return {
        "title": piece.title,
        "tempo": piece.tempo,
        "key": key,
        "known_key": bool(known),
        "steps": piece.steps,
        "bars": piece.bars,
        "steps_per_bar": STEPS_PER_BAR,
        "grid": piece.grid.tolist(),
        "fermatas": [int(f) for f in fermatas],
        "voice_leading": describe_faults(piece.details.get("faults") or voice_leading_faults(piece.grid)),
        "details": _plain({k: v for k, v in piece.details.items() if k != "fermatas"}),
    }


def _piece(data: dict):
    """The Chorale the page posted as {"piece": {"grid": ..., "title": ..., "tempo": ...,
    "key": ..., "known_key": ..., "fermatas": [...]}}: its key counts as its plan only when
    known (written by a plan), not when it was estimated from the notes."""
    from chorale.piece import Chorale

    piece = data.get("piece")
    if not isinstance(piece, dict) or "grid" not in piece:
        raise ChoraleError("no piece: generate or harmonize one first")
    title, tempo, key = piece.get("title", "Chorale"), piece.get("tempo", defaults.TEMPO), piece.get("key")
    if not isinstance(title, str) or (key is not None and not isinstance(key, str)):
        raise ChoraleError("a piece's title and key are text")
    if isinstance(tempo, bool) or not isinstance(tempo, (int, float)) or not 20 <= tempo <= 400:
        raise ChoraleError(f"tempo must be a number of beats per minute in 20..400, got {json.dumps(tempo)}")
    grid = piece["grid"]
    if not isinstance(grid, list) or not all(isinstance(row, list) and all(isinstance(p, int) for p in row)
                                             for row in grid):
        raise ChoraleError("a piece's grid is a list of rows of whole MIDI pitches")
    if len(grid) > MAX_BARS * 16:
        raise ChoraleError(f"the piece is longer than the studio's {MAX_BARS} bars")
    fermatas = piece.get("fermatas") or []
    if not isinstance(fermatas, list) or not all(isinstance(f, int) and 0 <= f < len(grid) for f in fermatas):
        raise ChoraleError("a piece's fermatas are step numbers inside the piece")
    known = key if piece.get("known_key") is True else None
    return Chorale(grid, title=title[:200], tempo=float(tempo), key=known, fermatas=fermatas)


def _plain(value):
    """JSON-able copies of details (NumPy scalars and arrays become numbers and lists)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "tolist"):
        return value.tolist()
    return value if isinstance(value, (str, int, float, bool, type(None))) else str(value)


# ---------------------------------------------------------------------------- requests
async def _read(request: Request) -> dict:
    """The request's fields: a JSON object, or a form (uploads as UploadFile), plus the path
    parameters; refused past MAX_BODY, whether or not the client sent a Content-Length."""
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > MAX_BODY:
        raise TooLarge(_too_large())
    data = dict(request.path_params)
    if request.method != "POST":
        return data
    if request.headers.get("content-type", "").startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        limited = Request(request.scope, _limited(request.receive))  # the body, counted as it comes
        form = await limited.form(max_files=2, max_fields=40)
        data.update({k: v for k, v in form.multi_items()})
        return data
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise TooLarge(_too_large())
    if body.strip():
        try:
            fields = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise ChoraleError("the request is neither a form nor JSON") from None
        if not isinstance(fields, dict):
            raise ChoraleError("the request's JSON must be an object")
        data.update(fields)
    return data


def _limited(receive):
    seen = 0

    async def limited():
        nonlocal seen
        message = await receive()
        seen += len(message.get("body", b""))
        if seen > MAX_BODY:
            raise TooLarge(_too_large())
        return message

    return limited


def _too_large() -> str:
    return f"the file is too large: the studio takes music files up to {MAX_UPLOAD // (1024 * 1024)} MB"


def _text(data: dict, name: str) -> str | None:
    value = data.get(name)
    if isinstance(value, UploadFile):
        raise ChoraleError(f"{name} must be a value, not a file")
    if value is None:
        return None
    return str(value).strip() or None


def _whole(data: dict, name: str, default=None):
    """A whole number from a form field or JSON (blank: the default). Anything else is
    passed on as it came, for the API to refuse with its own message."""
    value = data.get(name)
    if isinstance(value, str):
        value = value.strip()
        if not value:
            return default
        return int(value) if re.fullmatch(r"[+-]?\d{1,20}", value) else value
    return default if value is None else value


def _number(data: dict, name: str, default: float) -> float:
    value = data.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if isinstance(value, bool) or number != number or number in (float("inf"), float("-inf")):
        raise ChoraleError(f"{name} must be a number, got {json.dumps(value) if not isinstance(value, str) else repr(value)}")
    return number


@contextmanager
def _upload_folder():
    """A fresh private temporary folder, deleted with all it holds on the way out."""
    folder = Path(tempfile.mkdtemp(prefix="chorale-studio-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _save_upload(data: dict, folder: Path, what: str = "file") -> tuple[Path, str]:
    """Write the uploaded `file` into `folder` as upload<suffix> (the client's name gives
    only the suffix, from MUSIC_SUFFIXES) and return that path and a display name."""
    upload = data.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise ChoraleError(f"no {what} file: choose a MIDI, MusicXML or CSV file to upload")
    name = _display_name(upload.filename)
    suffix = Path(name).suffix.lower()
    if suffix not in MUSIC_SUFFIXES:
        raise ChoraleError(f"{name}: not a music file (expected {', '.join(MUSIC_SUFFIXES)})")
    path = folder / f"upload{suffix}"
    size = 0
    with open(path, "wb") as out:
        while chunk := upload.file.read(64 * 1024):
            size += len(chunk)
            if size > MAX_UPLOAD:
                raise TooLarge(_too_large())
            out.write(chunk)
    if not size:
        raise ChoraleError(f"{name}: the file is empty")
    return path, name


def _display_name(filename: str) -> str:
    """The client's file name for messages and titles only: its last part, printable, short."""
    name = re.split(r"[\\/]", filename)[-1]
    name = "".join(c for c in name if c.isprintable() and c not in "\"<>`").strip()
    return (name[:40] + "…" + Path(name).suffix if len(name) > 60 else name) or "upload"


@contextmanager
def _named(folder: Path, name: str | None):
    """Errors that name the temporary copy of an upload name the client's file instead."""
    try:
        yield
    except ChoraleError as e:
        text = str(e)
        if name and str(folder) in text:
            for path in sorted(folder.iterdir(), key=lambda p: -len(str(p))):
                text = text.replace(str(path), name)
            text = text.replace(str(folder), "")
            raise ChoraleError(text) from None
        raise


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split()) or error.__class__.__name__


def _header_safe(text: str) -> str:
    return text.encode("ascii", "replace").decode()


# ---------------------------------------------------------------------------- serving
def serve(host: str = "127.0.0.1", port: int = 8000, model_dir=None, open_browser: bool = False,
          echo=print) -> None:
    """Load the model, listen on host:port (0: a free port) and serve until Ctrl-C."""
    import socket

    import uvicorn

    from chorale.api import load_model

    model = load_model(model_dir)  # a bad --model: a one-line error before anything listens
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise ChoraleError(f"cannot listen on {host}:{port}: {e.strerror or e} (try another --port)") from None
    sock.listen(128)
    sock.set_inheritable(True)
    port = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else shown}:{port}/"
    loopback = host in ("127.0.0.1", "localhost")
    app = create_app(model=model, warm=True, allowed_hosts=["127.0.0.1", "localhost"] if loopback else None)
    config = uvicorn.Config(app, log_level="warning", access_log=False,
                            timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    echo(f"chorale studio: {url}  (Ctrl-C to stop)")
    if open_browser:
        import webbrowser

        threading.Timer(0.5, webbrowser.open, args=(url,)).start()
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()


@contextmanager
def serving(*args: str, timeout: float = 60.0):
    """Run `chorale studio --port 0 ARGS` in a child process on a free port of 127.0.0.1
    and yield (its URL, seconds until it answered); stop it on the way out. For tests and
    benchmarks that want a real server."""
    import os
    import subprocess
    import sys
    import time
    import urllib.request

    env = dict(os.environ, PYTHONUNBUFFERED="1")
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "chorale", "studio", "--port", "0", *args],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        line = child.stdout.readline()
        found = re.search(r"http://\S+/", line)
        if not found:
            child.wait(timeout)
            raise RuntimeError(f"chorale studio did not start: {line}{child.stdout.read()}")
        url = found.group(0)
        while True:
            try:
                with urllib.request.urlopen(url, timeout=timeout) as response:
                    response.read()
                break
            except OSError:
                if time.perf_counter() - start > timeout or child.poll() is not None:
                    raise
                time.sleep(0.05)
        yield url, time.perf_counter() - start
    finally:
        child.terminate()
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        child.stdout.close()
