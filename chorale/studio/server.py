"""The studio's web server: a Starlette app over the Python API (`chorale.api`), its
routes and endpoints, and `serve` (uvicorn on a loopback address unless told otherwise).

The server is stateless. Every answer that makes music returns the piece as JSON
(`chorale.studio.pieces`); the page keeps the versions of its session (for undo and redo)
and posts the current one back when it wants audio, sheet music, a download or a
regeneration. The only state here is the model, loaded once, and the two lanes its
sampler runs in (`chorale.studio.handling`: who may ask, reading requests, errors, jobs).

Endpoints (all JSON errors are {"error": "one line"}: 4xx for what the client can fix,
with the same text as the CLI (400; 403 for another page; 413 for a body over the limit;
415 for JSON not sent as application/json); 500, with a generic line, for anything
unexpected, whose traceback goes to the server's log and never to the page; no answer
names a path on the server):

    GET  /                      the page
    GET  /api/info              model, features (plan, regenerate, sheet, fluidsynth), limits, downloads
    POST /api/generate          form or JSON: seed, bars, key, fermatas, temperature, primer, file -> piece
    POST /api/harmonize         form: file, voice, candidates, seed, temperature, key, fermatas -> piece
    POST /api/regenerate        JSON: piece, bars [first, last], voices, candidates, seed, temperature -> piece
    POST /api/audio             JSON: piece -> audio/wav (FluidSynth when installed, else built in)
    POST /api/sheet             JSON: piece -> image/png (MuseScore)
    POST /api/export/{format}   JSON: piece -> the file in any format of chorale.registry.FORMATS, as an attachment

Sampling work is checked against limits.STUDIO_MAX_WORK before it starts, and stops when
the client goes away. Uploads are read with a size limit, written only inside a fresh
temporary folder under a name the server picks (only the client's suffix is kept, from
a fixed list), and deleted after use; every other file the API writes goes to such a
folder too.
"""

from __future__ import annotations

import asyncio
import re
import inspect
import shutil
import threading
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

import chorale
from chorale import ChoraleError, __version__, checks, defaults
from chorale.limits import (MAX_LIST_CHARS, STUDIO_MAX_BARS, STUDIO_MAX_BODY, STUDIO_MAX_CANDIDATES, STUDIO_MAX_UPLOAD,
                            STUDIO_MAX_WORK)
from chorale.studio.handling import (MUSIC_SUFFIXES, UNEXPECTED, Guard, Job, Lanes, answer, header_safe, named,
                                     number, read, save_upload, text, upload_folder, whole)
from chorale.studio.pieces import piece_from, piece_json

STATIC = Path(__file__).resolve().parent / "static"
MAX_UPLOAD, MAX_BODY = STUDIO_MAX_UPLOAD, STUDIO_MAX_BODY  # the names the tests and docs use
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
__all__ = ["create_app", "serve", "serving", "piece_json", "UNEXPECTED", "MUSIC_SUFFIXES"]


# ---------------------------------------------------------------------------- the app
def create_app(model_dir=None, *, model=None, warm: bool = False, allowed_hosts=None) -> Starlette:
    """The studio's Starlette app over `model` (a chorale.Model), else the model in
    `model_dir`, else the bundled model (loaded on the first request that needs it).
    warm: at startup, load the model and the music libraries in the background, so that
    the first Generate is as fast as the next ones. allowed_hosts: the Host names it
    answers (None: any); `serve` gives the loopback names on a loopback address, so that
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
        Route("/api/generate", studio.endpoint(studio.generate, forms=True), methods=["POST"]),
        Route("/api/harmonize", studio.endpoint(studio.harmonize, forms=True), methods=["POST"]),
        Route("/api/regenerate", studio.endpoint(studio.regenerate), methods=["POST"]),
        Route("/api/audio", studio.endpoint(studio.audio), methods=["POST"]),
        Route("/api/sheet", studio.endpoint(studio.sheet), methods=["POST"]),
        Route("/api/export/{format}", studio.endpoint(studio.export), methods=["POST"]),
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(routes=routes, lifespan=lifespan, middleware=[Middleware(Guard, allowed_hosts=allowed_hosts)],
                    exception_handlers={HTTPException: _http_error, Exception: _unexpected})
    app.state.studio = studio
    return app


async def _http_error(request: Request, exc: HTTPException) -> Response:
    """404 and 405 as one-line JSON under /api, as plain text elsewhere."""
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code)
    return Response(exc.detail, status_code=exc.status_code, media_type="text/plain")


async def _unexpected(request: Request, exc: Exception) -> Response:
    return answer(exc, request)


def downloads() -> dict:
    """Format name -> (suffix, media type): every row of the one output-format table."""
    from chorale.registry import FORMATS

    return {f.name: (f.suffixes[0], f.media_type) for f in FORMATS}


class _Studio:
    """The endpoints, around one model and the lanes its sampler runs in."""

    def __init__(self, model_dir, model):
        self.model_dir, self._model = model_dir, model
        self._loading, self.lanes = threading.Lock(), Lanes()

    @property
    def model(self):
        with self._loading:
            if self._model is None:
                self._model = chorale.load_model(self.model_dir)
            return self._model

    def warm(self) -> None:
        """Load the model and what the first piece needs (NumPy, music21 for its key)."""
        try:
            import chorale.io.midi  # noqa: F401  (music21: the key of every piece)

            with self.lanes.light:
                self.model.generate(seed=0, bars=1, primer="none").key  # noqa: B018
        except Exception:  # a broken model shows itself on the first real request
            from chorale.studio.handling import log

            log.debug("warm-up failed", exc_info=True)

    # ------------------------------------------------------------------ plumbing
    def endpoint(self, work, forms: bool = False):
        """An async endpoint that reads the request (within the limits; forms only where
        `forms`), runs `work` (request data, job -> Response or JSON-able) in a worker
        thread, cancels it if the client leaves meanwhile, and turns errors into one-line
        JSON answers."""

        async def handle(request: Request) -> Response:
            data = {}
            job = Job(self.lanes)
            try:
                data = await read(request, forms)
                task = asyncio.ensure_future(run_in_threadpool(work, data, job))
                while not task.done():
                    await asyncio.wait({task}, timeout=0.2)
                    if not task.done() and await request.is_disconnected():
                        job.cancel()  # the work stops at its next token; its answer goes nowhere
                result = task.result()
                return result if isinstance(result, Response) else JSONResponse(result)
            except Exception as e:  # noqa: BLE001  (ChoraleError: 400; a bug: logged, one generic line)
                return answer(e, request)
            finally:
                for value in data.values():
                    if isinstance(value, UploadFile):
                        await value.close()

        return handle

    async def page(self, request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    # ------------------------------------------------------------------ endpoints
    def info(self, data: dict, job: Job) -> dict:
        from chorale.encoding import STEPS_PER_BAR, VOICES
        from chorale.io.files import bundled
        from chorale.io.render import _musescore, _soundfont

        model = self.model
        name = "bundled" if Path(model.path) == bundled("model") else Path(model.path).name
        return {
            "version": __version__,
            "model": {"name": name, "architecture": model.card.get("architecture"),
                      "parameters": model.card.get("parameters")},
            "voices": list(VOICES),
            "steps_per_bar": STEPS_PER_BAR,
            "defaults": {"bars": defaults.BARS, "temperature": defaults.TEMPERATURE,
                         "candidates": defaults.CANDIDATES, "voice": defaults.VOICE, "tempo": defaults.TEMPO},
            "limits": {"bars": STUDIO_MAX_BARS, "candidates": STUDIO_MAX_CANDIDATES, "upload_bytes": STUDIO_MAX_UPLOAD,
                       "work": STUDIO_MAX_WORK, "suffixes": list(MUSIC_SUFFIXES)},
            "downloads": list(downloads()),
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

    def _running(self, job: Job):
        return job.running(STUDIO_MAX_WORK, "STUDIO_MAX_WORK")

    def generate(self, data: dict, job: Job) -> dict:
        seed = whole(data, "seed")
        bars = whole(data, "bars", defaults.BARS)
        if checks.is_whole(bars) and bars > STUDIO_MAX_BARS:
            raise ChoraleError(f"bars must be at most {STUDIO_MAX_BARS} in the studio, got {bars}")
        temperature = number(data, "temperature", defaults.TEMPERATURE)
        options = {name: value for name in ("key", "fermatas") if (value := text(data, name, MAX_LIST_CHARS))}
        primer = text(data, "primer") or "default"
        with upload_folder() as folder:
            if primer == "upload":
                path, name = save_upload(data, folder, what="primer")
                primer_value = str(path)
            elif primer == "default":
                primer_value, name = None, None
            else:  # 'none' or SPLIT:N (checked as the CLI checks it); never a path on the server
                primer_value, name = checks.primer(primer), None
                split, colon, _ = primer_value.partition(":")
                if primer_value != "none" and not (colon and split in checks.SPLITS):
                    raise ChoraleError(f"unknown primer '{primer[:40]}' (choose default, none, test:N or upload)")
            with self._running(job), named(folder, name):
                piece = self.model.generate(seed=seed, bars=bars, temperature=temperature, primer=primer_value,
                                            progress=job.progress, **options)
        return piece_json(piece)

    def harmonize(self, data: dict, job: Job) -> dict:
        from chorale.encoding import VOICES

        voice = text(data, "voice") or defaults.VOICE
        if voice not in VOICES:
            raise ChoraleError(f"unknown voice '{voice[:40]}' (choose from {', '.join(VOICES)})")
        candidates = _candidates(data)
        seed, temperature = whole(data, "seed"), number(data, "temperature", defaults.TEMPERATURE)
        with upload_folder() as folder:
            path, name = save_upload(data, folder, what="melody")
            title = f"{Path(name).stem} (harmonized)"
            options = {name: value for name in ("key", "fermatas") if (value := text(data, name, MAX_LIST_CHARS))}
            with self._running(job), named(folder, name):
                piece = self.model.harmonize(str(path), voice=voice, candidates=candidates, seed=seed,
                                             temperature=temperature, title=title, progress=job.progress, **options)
        return piece_json(piece)

    def regenerate(self, data: dict, job: Job) -> dict:
        import json

        piece = piece_from(data)
        bars = data.get("bars")  # [first, last], a bar number or "5-6": the API checks them
        if isinstance(bars, list):
            if len(bars) != 2 or not all(checks.is_whole(b) for b in bars):
                raise ChoraleError(f"bars {json.dumps(bars)[:60]}: expected [first, last], such as [5, 6]")
            bars = tuple(bars)
        elif isinstance(bars, (bool, float, dict)):
            raise ChoraleError(f"bars {json.dumps(bars)[:60]}: expected [first, last], such as [5, 6]")
        elif bars is None:
            raise ChoraleError("no bars: select the bars to rewrite on the piano roll")
        voices = data.get("voices")  # a list or "alto,tenor"; None: all four (the API checks them)
        if voices is not None and not voices and voices != 0:
            raise ChoraleError("no voices: pick at least one voice to rewrite")
        candidates = _candidates(data)
        seed, temperature = whole(data, "seed"), number(data, "temperature", defaults.TEMPERATURE)
        model = self.model
        if not hasattr(model, "regenerate"):
            raise ChoraleError("this version of chorale cannot regenerate bars yet (it needs model.regenerate)")
        with self._running(job):
            new = model.regenerate(piece, bars=bars, voices=voices, candidates=candidates, seed=seed,
                                   temperature=temperature, progress=job.progress)
        return piece_json(new, like=piece)

    def audio(self, data: dict, job: Job) -> Response:
        from chorale.io.render import Style, check_lengths, write_wav

        piece = piece_from(data)
        check_lengths({"wav": Path("audio.wav")}, piece.steps, piece.tempo)
        with upload_folder() as folder:
            path = folder / "audio.wav"
            note = write_wav(path, piece.grid, Style(piece.title, piece.tempo))
            body = path.read_bytes()
        return Response(body, media_type="audio/wav",
                        headers={"X-Synthesizer": header_safe(note.split(";")[0]), "Cache-Control": "no-store"})

    def sheet(self, data: dict, job: Job) -> Response:
        piece = piece_from(data)
        with upload_folder() as folder:
            path = piece.save(folder / "sheet.png", format="sheet")
            body = path.read_bytes()
        return Response(body, media_type="image/png", headers={"Cache-Control": "no-store"})

    def export(self, data: dict, job: Job) -> Response:
        import re

        fmt, formats = data["format"], downloads()
        if fmt not in formats:
            raise ChoraleError(f"unknown download format '{fmt[:40]}' (choose from {', '.join(formats)})")
        suffix, media_type = formats[fmt]
        piece = piece_from(data)
        name = (re.sub(r"[^A-Za-z0-9]+", "-", piece.title).strip("-").lower() or "chorale")[:60] + suffix
        with upload_folder() as folder:
            path = piece.save(folder / f"export{suffix}", format=fmt)
            body = path.read_bytes()
        return Response(body, media_type=media_type,
                        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


def _candidates(data: dict):
    candidates = whole(data, "candidates", defaults.CANDIDATES)
    if checks.is_whole(candidates) and candidates > STUDIO_MAX_CANDIDATES:
        raise ChoraleError(f"candidates must be at most {STUDIO_MAX_CANDIDATES} in the studio, got {candidates}")
    return candidates


# ---------------------------------------------------------------------------- serving
def serve(host: str = "127.0.0.1", port: int = 8000, model_dir=None, open_browser: bool = False,
          echo=print) -> None:
    """Load the model, listen on host:port (0: a free port) and serve until Ctrl-C.

    On a loopback address (127.0.0.0/8, ::1, localhost) only loopback Host names are
    answered. Any other address must be named (a blank one is refused) and is served with
    a warning: every computer that reaches it can use the studio."""
    import socket
    import sys

    import uvicorn

    host = host.strip() if isinstance(host, str) else host
    if not host:
        raise ChoraleError("no address to listen on: give --host 127.0.0.1 (this computer only) or an interface's "
                           "address such as 0.0.0.0 (every interface)")
    model = chorale.load_model(model_dir)  # a bad --model: a one-line error before anything listens
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except (OSError, UnicodeError) as e:
        sock.close()
        raise ChoraleError(f"cannot listen on {host}:{port}: {getattr(e, 'strerror', None) or e} "
                           "(try another --port or --host)") from None
    sock.listen(128)
    sock.set_inheritable(True)
    port = sock.getsockname()[1]
    local = is_loopback(host)
    shown = {"0.0.0.0": "127.0.0.1", "::": "[::1]"}.get(host, f"[{host}]" if ":" in host else host)
    url = f"http://{shown}:{port}/"
    app = create_app(model=model, warm=True, allowed_hosts=[*LOOPBACK_NAMES, host] if local else None)
    config = uvicorn.Config(app, log_level="warning", access_log=False,
                            timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    echo(f"chorale studio: {url}  (Ctrl-C to stop)")
    if not local:
        print(f"Warning: listening on {host}, not only on this computer: anyone who can reach it on port {port} "
              "can use the studio (it has no password).", file=sys.stderr, flush=True)
    if open_browser:
        import webbrowser

        threading.Timer(0.5, webbrowser.open, args=(url,)).start()
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()


def is_loopback(host: str) -> bool:
    """Whether `host` is this computer only: localhost, 127.0.0.0/8, ::1 (or 127.x as IPv6)."""
    import ipaddress

    if host.lower() == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or bool(mapped and mapped.is_loopback)


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
