"""Files -> Document: read .txt/.md/.pdf/.html, clean the text, find the sections.

The cleaning (and `offsets`, the map from cleaned characters back to raw ones) is in
rag.cleaning, finding titles, sections and authors in rag.structure; this module finds,
checks and decodes the files. clean_text is re-exported here.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import time
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from .cleaning import clean, clean_text
from .errors import DocumentError
from .structure import detect_structure
from .types import Document

__all__ = [
    "SUPPORTED_SUFFIXES", "Skipped", "clean_text", "display_name", "iter_files", "list_files", "load_folder",
    "read_document",
]

logger = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = (".txt", ".md", ".pdf", ".html", ".htm")
DEFAULT_MAX_BYTES = 50 * 1024 * 1024
_SNIFF_BYTES = 8192
_CONTROL_BYTES = bytes([*range(0x00, 0x08), 0x0E, *range(0x10, 0x1B), *range(0x1C, 0x20), 0x7F])
_MAX_CONTROL_RATIO = 0.10


@dataclass(frozen=True)
class Skipped:
    """A file load_folder could not read, and why."""

    file: str
    reason: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "file", display_name(self.file))


def display_name(rel: str) -> str:
    """A file name safe to print, log or store: bytes that are not UTF-8 (which os.walk hands
    over as lone surrogates) are shown as \\xNN escapes."""
    try:
        return os.fsencode(rel).decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate that did not come from the file system
        return rel.encode("utf-8", "backslashreplace").decode("utf-8")


# ---- files ------------------------------------------------------------------------


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _target(path: Path) -> Path | None:
    """Where a path resolves to; None for a symlink loop (Path.resolve raises RuntimeError
    for those before Python 3.13, OSError after)."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return None


def _walk(root: Path) -> tuple[list[Path], list[Path]]:
    """Supported files under root, and symlinks among them that resolve outside root."""
    real_root = root.resolve()
    files: list[Path] = []
    outside: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        base = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for d in dirnames:
            if (base / d).is_symlink():  # os.walk does not follow them; say so once
                logger.warning("not following symlinked folder %s", base / d)
        for name in filenames:
            path = base / name
            if name.startswith(".") or path.suffix.lower() not in SUPPORTED_SUFFIXES:
                continue
            if path.is_symlink() and not _inside(_target(path) or real_root.parent, real_root):
                outside.append(path)  # escaping or looping: read_document says why it is skipped
            else:
                files.append(path)
    key = lambda p: p.relative_to(root).as_posix()  # noqa: E731
    return sorted(files, key=key), sorted(outside, key=key)


def iter_files(root: Path) -> list[Path]:
    """Supported files under root, recursively and sorted; hidden ones and escaping symlinks left out."""
    return _walk(root)[0]


def list_files(root: Path) -> list[Path]:
    """Every supported file under root to hand to read_document, sorted: iter_files plus the
    symlinks that escape root (or loop), so that each is reported as skipped with its reason."""
    files, outside = _walk(root)
    return sorted(files + outside, key=lambda p: p.relative_to(root).as_posix())


def check_folder(root: Path) -> None:
    """DocumentError unless root is a folder (to index)."""
    if not root.is_dir():
        found = "a file" if root.exists() else "nothing"
        raise DocumentError(
            f"expected a folder of documents at {root}, found {found}; "
            f"pass a directory holding {', '.join(SUPPORTED_SUFFIXES)} files"
        )


def load_folder(root: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[list[Document], list[Skipped]]:
    """Read every supported file under root; a file that cannot be read is logged and skipped."""
    check_folder(root)
    t0 = time.perf_counter()
    docs: list[Document] = []
    skipped: list[Skipped] = []
    for path in list_files(root):
        try:
            docs.append(read_document(path, root, max_bytes))
        except DocumentError as exc:
            logger.warning("%s", exc)
            skipped.append(Skipped(path.relative_to(root).as_posix(), str(exc)))
    logger.info(
        "read %d documents from %s in %.2fs (%d skipped)", len(docs), root, time.perf_counter() - t0, len(skipped)
    )
    return docs, skipped


def read_document(path: Path, root: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> Document:
    """Read one file under root into a Document; DocumentError says why a file cannot be used."""
    try:
        rel = path.absolute().relative_to(root.absolute()).as_posix()
    except ValueError:
        raise DocumentError(
            f"{display_name(str(path))}: skipped: expected a file inside the indexed folder {root}; "
            "move it there or index its folder"
        ) from None
    if display_name(rel) != rel:  # Chroma, JSON and the terminal all need UTF-8 names
        raise DocumentError(
            f"{display_name(rel)}: skipped: expected a UTF-8 file name, found bytes that are not UTF-8; "
            "rename the file (e.g. convmv -f latin1 -t utf-8 --notest)"
        )
    if path.is_symlink():
        target = _target(path)
        if target is None:
            raise DocumentError(
                f"{rel}: skipped: expected a symlink to a file, found one that cannot be resolved "
                "(a symlink loop); remove or fix the link"
            )
        if not _inside(target, root.resolve()):
            raise DocumentError(
                f"{rel}: skipped: it is a symlink to {target}, outside the indexed folder {root}; "
                "copy the file into the folder or index its real location"
            )
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise DocumentError(
            f"{rel}: skipped: expected one of {', '.join(SUPPORTED_SUFFIXES)}, found {suffix or 'no suffix'}; "
            "convert it to text or PDF"
        )
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise DocumentError(
                f"{rel}: skipped: expected at most {max_bytes} bytes, found {size} bytes; "
                "split the file or raise the limit (RAG_MAX_FILE_BYTES)"
            )
        data = path.read_bytes()
    except OSError as exc:
        raise DocumentError(f"{rel}: skipped: cannot read it ({exc}); check that it exists and is readable") from exc
    heading: str | None = None
    if suffix == ".pdf":
        raw = _pdf_text(data, rel)
    else:
        _check_not_binary(data, rel)
        raw = _decode(data, rel)
        if suffix in (".html", ".htm"):
            raw, heading = _html_text(raw)
    cleaned = clean(raw)
    if not cleaned.text:
        raise DocumentError(
            f"{rel}: skipped: expected some text, found an empty or whitespace-only "
            f"{'PDF text layer (a scan? run OCR first)' if suffix == '.pdf' else 'file'}; add text or remove it"
        )
    title, sections = detect_structure(cleaned, Path(rel).stem, heading)
    return Document(
        file=rel,
        raw=raw,
        clean=cleaned.text,
        offsets=cleaned.offsets,
        title=title,
        sections=sections,
        sha256=hashlib.sha256(data).hexdigest(),
    )


def _check_not_binary(data: bytes, rel: str) -> None:
    head = data[:_SNIFF_BYTES]
    nul = head.find(b"\x00")
    if nul >= 0:
        raise DocumentError(
            f"{rel}: skipped: expected a text file, found binary data (a NUL byte at byte offset {nul}); "
            "remove it from the folder or export it as .txt/.pdf"
        )
    controls = len(head) - len(head.translate(None, _CONTROL_BYTES))
    if head and controls / len(head) > _MAX_CONTROL_RATIO:
        raise DocumentError(
            f"{rel}: skipped: expected a text file, found binary data ({controls} control bytes in the first "
            f"{len(head)}); remove it from the folder or export it as .txt/.pdf"
        )


def _decode(data: bytes, rel: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DocumentError(
            f"{rel}: skipped: expected UTF-8 text, found byte 0x{data[exc.start]:02x} at byte offset {exc.start} "
            "that is not valid UTF-8; re-save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)"
        ) from None


def _pdf_text(data: bytes, rel: str) -> str:
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        return "\n\n".join(page.extract_text() or "" for page in reader.pages)
    except Exception as exc:  # pypdf raises many types on damaged or encrypted files
        raise DocumentError(
            f"{rel}: skipped: expected a readable PDF, found {type(exc).__name__}: {exc}; "
            "repair or decrypt it, or export its text to .txt"
        ) from exc


_HTML_BLOCKS = frozenset(
    "address article aside blockquote br dd div dl dt figcaption figure footer form h1 h2 h3 h4 h5 h6 "
    "header hr li main nav ol p pre section table td th tr ul".split()
)
_HTML_SKIP = frozenset({"script", "style", "noscript", "template", "head"})


class _HTMLText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title: list[str] = []
        self._skip = 0
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        elif tag in _HTML_SKIP:
            self._skip += 1
        elif tag in _HTML_BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag in _HTML_SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag in _HTML_BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title.append(data)
        elif not self._skip:
            self.parts.append(data)


def _html_text(markup: str) -> tuple[str, str | None]:
    """Text of an HTML page (block elements become line breaks) and its <title>."""
    parser = _HTMLText()
    parser.feed(markup)
    parser.close()
    title = " ".join("".join(parser.title).split())
    return "".join(parser.parts), title or None
