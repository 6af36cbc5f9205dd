"""The web UI's server side that is not Gradio: the shared index, threads, logins, messages.

app.py lays out the page and wires its events; this module holds what those events share:
the `Runtime` (the open index, swapped whole after a re-index), running blocking work in a
thread so that Gradio can cancel between steps, reading RAG_UI_AUTH, and turning an
exception into a message a person can read (no stack trace, no API key).
"""

from __future__ import annotations

import ipaddress
import logging
import queue
import shutil
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence, TypeVar

from . import viewer
from .config import Settings
from .errors import ConfigError, IndexNotFoundError, QuestionError, RagError
from .index import Index

__all__ = [
    "MAX_K",
    "OPENING",
    "Runtime",
    "check_request",
    "in_thread",
    "is_loopback",
    "message",
    "parse_ui_auth",
    "store_upload",
    "ticking",
]

log = logging.getLogger(__name__)

OPENING = "opening the index"
TICK = 0.2  # seconds between steps of an answering event while the backend is silent
MAX_K = 20  # passages per answer at most (the UI's slider goes this far)
T = TypeVar("T")


class Runtime:
    """The open index shared by every session, and the progress of (re)building it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.index: Index | None = None
        self.error = ""
        self.stage, self.done, self.total = OPENING, 0, 0
        self.indexed_at = "never"
        self.skipped: list[tuple[str, str]] = []
        self.generators: dict[str, str] = {"extractive": ""}
        self.ready = threading.Event()
        self.building = threading.Lock()

    def start(self) -> None:
        """Open (or first build) the index in the background; the page shows the progress."""
        threading.Thread(target=self._startup, name="rag-startup", daemon=True).start()

    def _startup(self) -> None:
        try:
            self.generators = viewer.generator_status(self.settings)
            try:
                self.index = Index.open(self.settings)
                # the index does not record when it was built (the store's files change on open)
                self.indexed_at = f"before {time.strftime('%Y-%m-%d %H:%M')} (when the app opened it)"
            except IndexNotFoundError:
                log.info("no index in %s yet: indexing %s", self.settings.persist_path, self.settings.docs_path)
                self.build()
            assert self.index is not None
            self.index.retrieve("warm up", k=1)  # load the embedding model before the first question
            log.info("index ready: %d files, %d chunks", len(self.index.files), len(self.index.chunks))
        except Exception as exc:  # shown in the page; the app stays up so the user can fix and re-index
            self.error = message(exc, self.settings)
        finally:
            self.ready.set()

    def progress(self, stage: str, done: int, total: int) -> None:
        """Index.build progress callback."""
        self.stage, self.done, self.total = stage, done, total
        if total and (done == total or done % max(1, total // 10) < 32):
            log.info("indexing: %s %d/%d", stage, done, total)

    def build(self, rebuild: bool = False) -> None:
        """Build or update the index and swap it in; the old one serves questions until then."""
        with self.building:
            self.stage, self.done, self.total = "reading and chunking files", 0, 0
            index = Index.build(self.settings, progress=self.progress, rebuild=rebuild)
            self.index, self.error = index, ""  # one assignment: a running answer keeps its index
            self.indexed_at = time.strftime("%Y-%m-%d %H:%M")
            report = index.report
            self.skipped = [(s.file, s.reason) for s in report.skipped] if report else []
            self.stage = "done"

    def progress_html(self) -> str:
        """A progress bar for the current build step."""
        what = f"Indexing {self.settings.docs_path}: {self.stage}"
        if self.index is None and self.stage == OPENING:
            what = f"Opening the index in {self.settings.persist_path}"
        if self.total:
            what += f" — {self.done} of {self.total} chunks"
            bar = f'<progress max="{self.total}" value="{self.done}"></progress>'
        else:
            bar = "<progress></progress>"
        return f'<div class="rg-progress" role="status"><div>{viewer.escape(what)}…</div>{bar}</div>'


def check_request(
    index: Index, generators: dict[str, str], k: Any, generator: Any, files: Any
) -> tuple[int | None, str | None, tuple[str, ...]]:
    """The UI's or an API caller's k, generator and file filter, checked: (k, generator, files).

    The page only sends values from its own controls, but anyone can post to the event and
    API routes: say what is wrong rather than fail deep inside, or read a file by name.
    """
    if k in (None, 0, ""):
        k = None
    elif isinstance(k, bool) or not isinstance(k, (int, float)) or not 1 <= k <= MAX_K or k != int(k):
        raise QuestionError(f"k must be a whole number of passages from 1 to {MAX_K}, found {str(k)[:40]!r}")
    if generator in (None, ""):
        generator = None
    elif not isinstance(generator, str) or generator not in generators:
        raise QuestionError(f"unknown generator {str(generator)[:40]!r}: expected one of {', '.join(generators)}")
    elif generators[generator]:
        raise QuestionError(f"the {generator} generator is unavailable here: {generators[generator]}")
    if files in (None, "", [], ()):
        files = ()
    if isinstance(files, str) or not isinstance(files, Sequence) or not all(isinstance(f, str) for f in files):
        raise QuestionError("files must be a list of file names from the Corpus tab")
    unknown = [f for f in files if f not in index.hashes]
    if unknown:
        shown = ", ".join(repr(f[:80]) for f in unknown[:3])
        raise QuestionError(f"not an indexed file: {shown}; expected names as the Corpus tab lists them, "
                            f"e.g. {index.files[0] if index.files else '(the index is empty)'}")
    return (int(k) if k else None), generator, tuple(files)


def store_upload(path: Path, docs: Path, max_bytes: int) -> tuple[str, str]:
    """Copy an uploaded file into the documents folder: (its name there, "") or ("", why not).

    The name is made safe (no folders: "../x.txt" becomes x.txt) and never replaces a file or
    follows a link already in the folder; the same content under another name is refused.
    """
    name = viewer.safe_file_name(path.name)
    why = viewer.check_upload(path, name, max_bytes)
    if why:
        return "", why
    target, n = docs / name, 1
    while target.exists() or target.is_symlink():
        if target.is_file() and not target.is_symlink() and target.read_bytes() == path.read_bytes():
            return "", f"the same file is already in the corpus as {target.name}"
        n += 1
        target = docs / f"{Path(name).stem}-{n}{Path(name).suffix}"
    docs.mkdir(parents=True, exist_ok=True)
    with path.open("rb") as src, target.open("xb") as dst:  # "x": fails rather than write through a link
        shutil.copyfileobj(src, dst)
    return target.name, ""


def message(exc: BaseException, settings: Settings) -> str:
    """What a person sees for an error: the RagError's message, never a stack trace or a secret."""
    if isinstance(exc, RagError):
        text = str(exc)
    else:
        log.error("unexpected error", exc_info=exc)
        text = f"unexpected {type(exc).__name__}: {exc} (the server log has the details)"
    if len(settings.openai_api_key) >= 4:  # a backend may echo the Authorization header
        text = text.replace(settings.openai_api_key, "***")
    return viewer.printable(text)


def parse_ui_auth(spec: str) -> list[tuple[str, str]] | None:
    """RAG_UI_AUTH as (user, password) pairs: "user:pass[,user2:pass2]", or a file of user:pass lines.

    None when it is empty (no login). A file may hold blank lines and # comments, and its
    passwords may contain commas. Messages never quote a password.
    """
    spec = spec.strip()
    if not spec:
        return None
    path = Path(spec).expanduser()
    if path.is_file():
        where = f"RAG_UI_AUTH file {path}"
        lines = [(n, line.strip()) for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)]
        entries = [(f"line {n}", line) for n, line in lines if line and not line.startswith("#")]
    elif ":" not in spec:  # no pair in it, so it was meant as a file name
        raise ConfigError(
            f"RAG_UI_AUTH: there is no file {path}; expected user:password[,user2:password2] or the "
            "path of a file with one user:password a line"
        )
    else:
        where = "RAG_UI_AUTH"
        entries = [(f"entry {n}", e.strip()) for n, e in enumerate(spec.split(","), 1) if e.strip()]
    pairs: list[tuple[str, str]] = []
    for name, entry in entries:
        user, sep, password = entry.partition(":")
        if not sep or not user.strip() or not password:
            raise ConfigError(f"{where}, {name}: expected user:password with both parts non-empty")
        pairs.append((user.strip(), password))
    if not pairs:
        raise ConfigError(f"{where} lists no user: add a line user:password, or unset RAG_UI_AUTH")
    return pairs


def is_loopback(host: str) -> bool:
    """Whether an address to bind reaches only this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def ticking(items: Iterator[T]) -> Iterator[T | None]:
    """Iterate items in a thread, yielding None every TICK seconds while waiting for the next.

    Gradio cancels a generator (the Stop button) only between two of its steps, and a step
    blocked in a backend read (a stalled LLM stream, a long prompt) cannot be interrupted;
    this keeps every step short. The thread stops at the next item once we are closed.
    """
    box: queue.Queue[tuple[str, Any]] = queue.Queue()
    closed = threading.Event()

    def run() -> None:
        try:
            for item in items:
                box.put(("item", item))
                if closed.is_set():
                    break
        except BaseException as exc:
            box.put(("error", exc))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()  # e.g. ends the HTTP stream of an abandoned generation
            box.put(("end", None))

    threading.Thread(target=run, name="rag-answer", daemon=True).start()
    try:
        while True:
            try:
                kind, value = box.get(timeout=TICK)
            except queue.Empty:
                yield None
                continue
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        closed.set()


def in_thread(work: Callable[[], None]) -> Iterator[None]:
    """Run work in a thread, yielding every 0.3 s while it runs; re-raise what it raised."""
    failure: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    while thread.is_alive():
        thread.join(0.3)
        yield None
    if failure:
        raise failure[0]
