"""How the studio handles a request, whatever it asks for: who may ask (`Guard`), reading
the body within the limits (`read`), the fields as the API takes them, uploads, the
answer to any error (one line, 4xx for the client's, no server path in it), and the
work itself (`Job`): admitted to a lane once its size is known, cancelled when the
client leaves.

Only the studio's own page may drive it. A foreign page's requests carry its Origin (a
sandboxed frame's is "null") or a Sec-Fetch-Site other than same-origin, and are refused;
the JSON endpoints take only application/json, which no page can send across origins
without the browser asking first (and the studio never says yes); on a loopback address
the Host must be a loopback name, so a page cannot reach the studio through a DNS name of
its own (DNS rebinding).
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from chorale import ChoraleError, checks
from chorale.limits import (STUDIO_LIGHT_WORK, STUDIO_MAX_BODY, STUDIO_MAX_FIELDS, STUDIO_MAX_FILES,
                            STUDIO_MAX_JSON_DEPTH, STUDIO_MAX_UPLOAD)

MUSIC_SUFFIXES = (".mid", ".midi", ".musicxml", ".xml", ".mxl", ".csv")
UNEXPECTED = "something went wrong in the studio's server (the terminal running `chorale studio` has the details)"
FOREIGN = "the studio answers its own page only"
log = logging.getLogger("chorale.studio")


class ClientError(Exception):
    """A request the client must change: `status` (400, 403, 413, 415) and one line."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


class Cancelled(Exception):
    """The client left: its work stops at the next token."""


def too_large() -> ClientError:
    return ClientError(f"the file is too large: the studio takes music files up to "
                       f"{STUDIO_MAX_UPLOAD // (1024 * 1024)} MB", 413)


# ---------------------------------------------------------------------------- who may ask
class Guard:
    """ASGI middleware in front of every route: the Host allow-list (when given) and, for
    anything but GET and HEAD, the Origin and Sec-Fetch-Site checks."""

    def __init__(self, app, allowed_hosts=None):
        self.app = app
        self.allowed = None if allowed_hosts is None else {h.lower() for h in allowed_hosts}

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", ())}
            refusal = self.refusal(scope, headers)
            if refusal is not None:
                status, text = refusal
                response = (JSONResponse({"error": text}, status_code=status) if scope["path"].startswith("/api/")
                            else Response(text, status_code=status, media_type="text/plain"))
                return await response(scope, receive, send)
        await self.app(scope, receive, send)

    def refusal(self, scope, headers: dict) -> tuple[int, str] | None:
        host = headers.get("host", "")
        if self.allowed is not None and host_name(host) not in self.allowed:
            return 400, "Invalid host header"
        if scope.get("method") in ("GET", "HEAD"):
            return None
        origin = headers.get("origin")
        if origin is not None:
            parts = urlsplit(origin) if origin != "null" else None
            if parts is None or parts.scheme not in ("http", "https") or parts.netloc.lower() != host.lower():
                return 403, FOREIGN
        if headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
            return 403, FOREIGN
        return None


def host_name(host: str) -> str:
    """The name in a Host header, without its port: 'localhost:8000' -> 'localhost',
    '[::1]:8000' -> '::1'."""
    host = host.strip().lower()
    name, port = (host[1:].split("]", 1) if host.startswith("[") and "]" in host
                  else host.rsplit(":", 1) if host.count(":") == 1 else (host, ""))
    if port.startswith(":") and host.startswith("["):
        port = port[1:]
    return name if not port or (port.isascii() and port.isdigit()) else host


# ---------------------------------------------------------------------------- reading
FORMS = ("multipart/form-data", "application/x-www-form-urlencoded")


async def read(request: Request, forms: bool) -> dict:
    """The request's fields plus its path parameters: a JSON object (application/json), or
    with `forms` also a form (uploads as UploadFile). Refused past STUDIO_MAX_BODY, whether
    or not the client sent a Content-Length."""
    length = request.headers.get("content-length")
    if length is not None and length.isascii() and length.isdigit() and int(length) > STUDIO_MAX_BODY:
        raise too_large()
    data = dict(request.path_params)
    if request.method != "POST":
        return data
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if forms and media in FORMS:
        limited = Request(request.scope, _limited(request.receive))  # the body, counted as it comes
        try:
            form = await limited.form(max_files=STUDIO_MAX_FILES, max_fields=STUDIO_MAX_FIELDS)
        except HTTPException as e:  # Starlette's own refusals: too many files or fields, a field too large
            raise ClientError(f"the form cannot be read: {e.detail}", e.status_code) from None
        except (ValueError, UnicodeDecodeError, KeyError) as e:  # what the multipart parser lets through
            raise ClientError(f"the form cannot be read ({type(e).__name__})") from None
        data.update({k: v for k, v in form.multi_items()})
        return data
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > STUDIO_MAX_BODY:
            raise too_large()
    if not body.strip():
        return data
    if media != "application/json":
        raise ClientError("send JSON as application/json" + (" or a form" if forms else ""), 415)
    try:
        fields = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ClientError("the request's body is not JSON") from None
    if not isinstance(fields, dict):
        raise ClientError("the request's JSON must be an object")
    if _depth(fields) > STUDIO_MAX_JSON_DEPTH:
        raise ClientError(f"the request's JSON is nested more than {STUDIO_MAX_JSON_DEPTH} levels deep")
    data.update(fields)
    return data


def _limited(receive):
    seen = 0

    async def limited():
        nonlocal seen
        message = await receive()
        seen += len(message.get("body", b""))
        if seen > STUDIO_MAX_BODY:
            raise too_large()
        return message

    return limited


def _depth(value) -> int:
    """How deeply lists and objects nest in a parsed JSON value (without recursion)."""
    deepest, todo = 0, [(value, 1)]
    while todo:
        item, depth = todo.pop()
        if isinstance(item, (list, dict)):
            deepest = max(deepest, depth)
            if depth <= STUDIO_MAX_JSON_DEPTH:
                todo.extend((v, depth + 1) for v in (item.values() if isinstance(item, dict) else item))
    return deepest


# ---------------------------------------------------------------------------- fields
def text(data: dict, name: str, max_chars: int = 1000) -> str | None:
    value = data.get(name)
    if isinstance(value, UploadFile):
        raise ChoraleError(f"{name} must be a value, not a file")
    if value is None:
        return None
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise ChoraleError(f"{name} must be text, got {json.dumps(value)[:60]}")
    value = str(value).strip()
    if len(value) > max_chars:
        raise ChoraleError(f"{name} must be at most {max_chars:,} characters, got {len(value):,}")
    return value or None


def whole(data: dict, name: str, default=None):
    """A whole number from a form field or JSON (blank: the default). Anything else is
    passed on as it came, for the API to refuse with its own message."""
    value = data.get(name)
    if isinstance(value, str):
        value = value.strip()
        if not value:
            return default
        digits = value.lstrip("+-")
        return int(value) if value[:1] in "+-0123456789" and digits.isascii() and digits.isdigit() \
            and len(digits) <= 20 else value
    return default if value is None else value


def number(data: dict, name: str, default: float):
    """A number from a form field or JSON (blank: the default); text that is no number is
    passed on as it came, for the API to refuse with its own message."""
    value = data.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    if isinstance(value, str) and len(value) <= 40:
        try:
            return float(value)
        except ValueError:
            return value
    return value


# ---------------------------------------------------------------------------- uploads
@contextmanager
def upload_folder():
    """A fresh private temporary folder, deleted with all it holds on the way out."""
    folder = Path(tempfile.mkdtemp(prefix="chorale-studio-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def save_upload(data: dict, folder: Path, what: str = "file") -> tuple[Path, str]:
    """Write the uploaded `file` into `folder` as upload<suffix> (the client's name gives
    only the suffix, from MUSIC_SUFFIXES) and return that path and a display name."""
    upload = data.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise ChoraleError(f"no {what} file: choose a MIDI, MusicXML or CSV file to upload")
    name = display_name(upload.filename)
    suffix = Path(name).suffix.lower()
    if suffix not in MUSIC_SUFFIXES:
        raise ChoraleError(f"{name}: not a music file (expected {', '.join(MUSIC_SUFFIXES)})")
    path = folder / f"upload{suffix}"
    size = 0
    with open(path, "wb") as out:
        while chunk := upload.file.read(64 * 1024):
            size += len(chunk)
            if size > STUDIO_MAX_UPLOAD:
                raise too_large()
            out.write(chunk)
    if not size:
        raise ChoraleError(f"{name}: the file is empty")
    return path, name


def display_name(filename: str) -> str:
    """The client's file name for messages and titles only: its last part, printable, short."""
    name = re.split(r"[\\/]", filename[-1000:])[-1]
    name = "".join(c for c in name if c.isprintable() and c not in "\"<>`").strip()
    suffix = Path(name).suffix[:10]
    return (name[:40] + "…" + suffix if len(name) > 60 else name) or "upload"


@contextmanager
def named(folder: Path, name: str | None):
    """Errors that name the temporary copy of an upload name the client's file instead."""
    try:
        yield
    except ChoraleError as e:
        text = str(e)
        if str(folder) in text:
            for path in sorted(folder.iterdir(), key=lambda p: -len(str(p))):
                text = text.replace(str(path), name or path.name)
            raise ChoraleError(text.replace(str(folder), "")) from None
        raise


# ---------------------------------------------------------------------------- answers
_PATH = re.compile(r"(?:(?<=^)|(?<=[\s'\"(=]))(?:[A-Za-z]:)?[\\/](?:[^\s'\"`<>|\\/]+[\\/])+([^\s'\"`<>|\\/]*)")


def one_line(error: Exception) -> str:
    """The error as one line, with every absolute path cut to its last part: no answer says
    where anything lives on the server."""
    text = " ".join(str(error)[:2000].split()) or error.__class__.__name__  # bounded: the scrub stays quick
    return _PATH.sub(lambda m: m.group(1) or "", text)


def answer(error: Exception, request: Request) -> Response:
    """The JSON answer to an error: 400 (or the ClientError's status) for what the client
    can fix, with the CLI's text; 500, with a generic line, for a bug (logged here)."""
    if isinstance(error, ClientError):
        return JSONResponse({"error": one_line(error)}, status_code=error.status)
    if isinstance(error, ChoraleError):
        return JSONResponse({"error": one_line(error)}, status_code=400)
    if isinstance(error, Cancelled):
        return JSONResponse({"error": "cancelled: the page left"}, status_code=499)
    log.error("unexpected error in %s %s", request.method, request.url.path, exc_info=error)
    return JSONResponse({"error": UNEXPECTED}, status_code=500)


def header_safe(text: str) -> str:
    return text.encode("ascii", "replace").decode()


# ---------------------------------------------------------------------------- the work
class Lanes:
    """Two queues for the sampler: requests up to STUDIO_LIGHT_WORK tokens of work take the
    light lane, bigger ones the heavy lane, one at a time each, so a small generate never
    waits behind a long harmonization; and while a light one runs, the heavy one pauses
    between tokens, so the small one is as quick as on an idle server."""

    def __init__(self):
        self.light, self.heavy = threading.Lock(), threading.Lock()

    def lane(self, work: int) -> threading.Lock:
        return self.light if work <= STUDIO_LIGHT_WORK else self.heavy


class Job:
    """One request's work, run in a worker thread: `admit` (called by chorale.checks.work
    once the size is known, before sampling) waits for its lane; `progress` (the API's
    progress callback) stops the work with Cancelled once `cancel()` was called."""

    def __init__(self, lanes: Lanes):
        self.lanes, self.held = lanes, None
        self.cancelled = threading.Event()

    def cancel(self) -> None:
        self.cancelled.set()

    def admit(self, work: int) -> None:
        if self.held is not None:
            return
        lane = self.lanes.lane(work)
        while not lane.acquire(timeout=0.1):
            if self.cancelled.is_set():
                raise Cancelled()
        self.held = lane

    def progress(self, done: int, total: int) -> None:
        if self.held is self.lanes.heavy:
            while self.lanes.light.locked() and not self.cancelled.is_set():
                time.sleep(0.002)  # a small request is running: let it have the processor
        if self.cancelled.is_set():
            raise Cancelled()

    def release(self) -> None:
        if self.held is not None:
            self.held.release()
            self.held = None

    @contextmanager
    def running(self, budget: int, limit: str):
        """Inside: the API's work checks use the studio's budget and admit this job."""
        try:
            with checks.work_budget(budget, limit, admit=self.admit):
                yield self
        finally:
            self.release()
