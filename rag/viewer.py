"""What the web UI shows: answers with footnotes, sources, cited passages in context, corpus.

Pure functions from rag objects to HTML fragments; every piece of document or answer text
is HTML-escaped. A clickable citation is any element with `data-turn` and `data-marker` (the
answer's index in the conversation and the citation's marker): app.py turns a click on one
into a call of `passage_html`. Also the few checks the UI makes (generators, uploads).
"""

from __future__ import annotations

import html
import re
import unicodedata
from bisect import bisect_left
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Sequence

from .config import Settings
from .errors import ConfigError
from .index import Index
from .types import Answer, Citation, Document, Passage

__all__ = [
    "ChatTurn",
    "answer_html",
    "answer_markdown",
    "check_upload",
    "clean_span",
    "corpus_html",
    "escape",
    "generator_status",
    "generators_html",
    "header_html",
    "passage_html",
    "printable",
    "readable_quotes",
    "safe_file_name",
    "size_text",
    "sources_html",
    "transcript_html",
]

CONTEXT_PARAGRAPHS = 2  # paragraphs shown before and after a cited span
CONTEXT_CHARS = 2500  # at most this much text on either side of it
QUESTION_CHARS = 600  # a longer question is shown cut, with its length
_MARKER = re.compile(r"\s*\[(\d+)\]")
_UNSUPPORTED_ON, _UNSUPPORTED_OFF = "\ue000", "\ue001"  # private-use sentinels, never in answers


@dataclass(frozen=True)
class ChatTurn:
    """One exchange as the UI shows it: the question and its answer, partial text or error."""

    question: str
    answer: Answer | None = None
    partial: str = ""  # streamed text so far, while the answer is not complete
    error: str = ""
    note: str = ""  # shown while waiting for the first words
    stopped: bool = False  # the user stopped it: `partial` is all there is
    quotes: dict[int, str] = field(default_factory=dict)  # marker -> quote as the cleaned text reads

    def quote(self, c: Citation) -> str:
        """The citation's quote for reading: cleaned text if known, else the raw quote on one line."""
        return self.quotes.get(c.marker) or " ".join(c.quote.split())


# ---- cited passages -----------------------------------------------------------------


def readable_quotes(index: Index, answer: Answer) -> dict[int, str]:
    """Each citation's span as the cleaned text reads (line-break hyphens joined, one line)."""
    out: dict[int, str] = {}
    for c in answer.citations:
        doc = index.document(c.file)
        if doc is not None:
            cs, ce = clean_span(doc, c.start, c.end)
            out[c.marker] = " ".join(doc.clean[cs:ce].split())
    return out


def clean_span(doc: Document, start: int, end: int) -> tuple[int, int]:
    """The span of doc.clean made of the characters whose raw offset lies in [start, end)."""
    offsets = doc.offsets[: len(doc.clean)]
    return bisect_left(offsets, start), bisect_left(offsets, end)


def _context(text: str, start: int, end: int, paragraphs: int | None) -> tuple[int, int, bool, bool]:
    """Bounds of the paragraphs around [start, end), and whether text was cut before/after."""
    if paragraphs is None:
        return 0, len(text), False, False
    lo = start
    for _ in range(paragraphs + 1):
        k = text.rfind("\n\n", 0, lo)
        if k < 0:
            lo = -2
            break
        lo = k
    lo += 2
    hi = k = end
    for _ in range(paragraphs + 1):
        k = text.find("\n\n", hi)
        if k < 0:
            break
        hi = k + 2
    hi = len(text) if k < 0 else k
    if start - lo > CONTEXT_CHARS:  # one huge paragraph: cut at a word boundary
        lo = text.find(" ", start - CONTEXT_CHARS, start) + 1 or start - CONTEXT_CHARS
    if hi - end > CONTEXT_CHARS:
        hi = text.rfind(" ", end, end + CONTEXT_CHARS) if " " in text[end : end + CONTEXT_CHARS] else end + CONTEXT_CHARS
    return lo, hi, lo > 0, hi < len(text)


def passage_html(index: Index, citation: Citation, paragraphs: int | None = CONTEXT_PARAGRAPHS) -> str:
    """The cleaned text around a citation with the cited span in <mark id="rg-mark">.

    `paragraphs` is how many paragraphs to show on either side; None shows the whole file.
    """
    head = _source_head(citation, _title(index, citation.file))
    # only ever a file of the index (a name like ../x never reaches the disk)
    doc = index.document(citation.file) if citation.file in index.hashes else None
    if doc is None:
        return (
            f'<div class="rg-viewer">{head}<p class="rg-warn">{_e(citation.file)} is missing or changed '
            "since it was indexed, so it cannot be shown in context: re-index in the Corpus tab. "
            f'The cited text was:</p><blockquote class="rg-quote">{_e(citation.quote)}</blockquote></div>'
        )
    cs, ce = clean_span(doc, citation.start, citation.end)
    lo, hi, cut_before, cut_after = _context(doc.clean, cs, ce, paragraphs)
    section = doc.section_at(cs)
    shown = {citation.section, _title(index, citation.file)}
    where = f'<div class="rg-where">in {_e(section.title)}</div>' if section and section.title not in shown else ""
    body = (
        ('<span class="rg-cut">…</span>' if cut_before else "")
        + _e(doc.clean[lo:cs])
        + f'<mark id="rg-mark" data-file="{_e(doc.file)}" data-start="{citation.start}" '
        f'data-end="{citation.end}" data-clean-start="{cs}" data-clean-end="{ce}">{_e(doc.clean[cs:ce])}</mark>'
        + _e(doc.clean[ce:hi])
        + ('<span class="rg-cut">…</span>' if cut_after else "")
    )
    return f'<div class="rg-viewer">{head}{where}<div class="rg-viewer-body">{body}</div></div>'


def _title(index: Index, file: str) -> str:
    for chunk in index.chunks:
        if chunk.file == file:
            return chunk.title
    return ""


def _source_head(c: Citation, title: str = "", turn: int | None = None, active: bool = False) -> str:
    who = " — ".join(_e(x) for x in (c.section, c.author) if x)
    lines = f"line {c.line_start}" if c.line_start == c.line_end else f"lines {c.line_start}–{c.line_end}"
    data = f' data-turn="{turn}" data-marker="{c.marker}"' if turn is not None else ""
    return (
        f'<div class="rg-src-head{" rg-active" if active else ""}"{data}>'
        f'<span class="rg-badge">{c.marker}</span>'
        f'<span class="rg-src-title">{_e(title or c.file)}</span>'
        + (f'<span class="rg-src-who">{who}</span>' if who else "")
        + f'<span class="rg-src-file">{_e(c.file)} · {lines}</span></div>'
    )


# ---- answers ------------------------------------------------------------------------


def _e(text: str) -> str:
    return html.escape(text, quote=True)


escape = _e


def printable(text: str) -> str:
    """Text safe to put in a page: no control or format characters, no lone surrogates (which
    cannot be sent as UTF-8); newlines and tabs kept, other spaces made plain."""
    return "".join(ch if ch.isprintable() or ch in "\n\t" else " " if ch.isspace() else "" for ch in text)


def _mark_unsupported(text: str, sentences: Sequence[str]) -> str:
    """Wrap each unsupported sentence in sentinels; its markers may sit before the final stop."""
    for sentence in sentences:
        body = sentence.rstrip()
        m = re.search(r"[.!?][\"”’)]*$", body)
        stop = m.group(0) if m else ""
        words = body[: len(body) - len(stop)].split()
        if not words:
            continue
        pattern = r"\s+".join(map(re.escape, words)) + r"(?:\s*\[\d+\])*" + re.escape(stop)
        found = re.search(pattern, text)
        if found:
            text = text[: found.start()] + _UNSUPPORTED_ON + found.group(0) + _UNSUPPORTED_OFF + text[found.end() :]
    return text


def answer_html(answer: Answer, turn: int) -> str:
    """The answer text with [n] as footnote links and unsupported sentences marked."""
    if answer.refused:
        return f'<p class="rg-text rg-refusal">{_e(answer.text)}</p>'
    text = _e(_mark_unsupported(answer.text, answer.unsupported))
    known = {c.marker for c in answer.citations}

    def ref(m: re.Match[str]) -> str:
        n = int(m.group(1))
        if n not in known:
            return m.group(0)
        return (
            f'<sup class="rg-ref"><a href="#" class="rg-cite" data-turn="{turn}" data-marker="{n}" '
            f'title="Open source {n}">{n}</a></sup>'
        )

    text = _MARKER.sub(ref, text)
    text = text.replace(
        _UNSUPPORTED_ON, '<span class="rg-unsupported" title="No cited passage supports this sentence">'
    ).replace(_UNSUPPORTED_OFF, '<span class="rg-flag">unsupported</span></span>')
    return f'<p class="rg-text">{text}</p>'


def _footnotes(t: ChatTurn, answer: Answer, turn: int, titles: dict[str, str]) -> str:
    items = "".join(
        f'<li><a href="#" class="rg-cite rg-fn" data-turn="{turn}" data-marker="{c.marker}">'
        f'{_source_head(c, titles.get(c.file, ""))}'
        f'<span class="rg-fn-quote">{_e(t.quote(c))}</span></a></li>'
        for c in answer.citations
    )
    return f'<ol class="rg-footnotes">{items}</ol>' if items else ""


def _titles(passages: Sequence[Passage]) -> dict[str, str]:
    return {p.file: p.title for p in passages if p.title}


def answer_markdown(answer: Answer, quotes: dict[int, str] | None = None) -> str:
    """The answer and its sources as Markdown, for copying into notes or reports."""
    quotes = quotes or {}
    lines = [f"> {answer.question}", "", answer.text]
    titles = _titles(answer.passages)
    if answer.citations:
        lines += ["", "Sources:", ""]
    for c in answer.citations:
        who = " — ".join(x for x in (c.section, c.author) if x)
        where = f"`{c.file}`, lines {c.line_start}–{c.line_end}"
        head = ", ".join(x for x in (titles.get(c.file, ""), who) if x)
        lines.append(f"- [{c.marker}] {head + ': ' if head else ''}{where}")
        lines.append(f"  > {quotes.get(c.marker) or ' '.join(c.quote.split())}")
    return "\n".join(lines) + "\n"


def _meta(answer: Answer) -> str:
    seconds = sum(v for k, v in answer.timings.items() if k != "first_token")
    parts = [answer.generator, f"{len(answer.passages)} passages", f"{seconds:.1f} s"]
    if answer.standalone_question:
        parts.append(f"searched for: {answer.standalone_question}")
    return f'<div class="rg-meta">{_e(" · ".join(parts))}</div>'


def _question_html(question: str) -> str:
    shown = printable(question)
    if not shown.strip():
        return '<span class="rg-dim">(empty question)</span>'
    if len(shown) <= QUESTION_CHARS:
        return _e(shown)
    return f'{_e(shown[:QUESTION_CHARS])}<span class="rg-dim">… ({len(question):,} characters)</span>'


def _turn_html(t: ChatTurn, i: int) -> str:
    question = _question_html(t.question)
    out = [f'<div class="rg-turn" id="rg-turn-{i}"><div class="rg-q">{question}</div>']
    if t.stopped:
        out.append(f'<div class="rg-a rg-stopped"><p class="rg-text">{_e(t.partial)}</p>'
                   '<p class="rg-dim">Stopped before the answer was complete.</p></div>')
    elif t.error:
        partial = f'<p class="rg-text">{_e(t.partial)}</p>' if t.partial else ""
        out.append(f'<div class="rg-a rg-error" role="alert">{partial}<strong>Error:</strong> {_e(t.error)}</div>')
    elif t.answer is None:
        partial = _MARKER.sub(lambda m: f'<sup class="rg-ref rg-pending">{m.group(1)}</sup>', _e(t.partial))
        if not partial and t.note:
            partial = f'<span class="rg-dim">{_e(t.note)}</span>'
        out.append(f'<div class="rg-a rg-streaming"><p class="rg-text">{partial}<span class="rg-caret"></span></p></div>')
    else:
        a = t.answer
        state = "rg-refused" if a.refused else "rg-done"
        out.append(f'<div class="rg-a {state}" data-turn="{i}">{answer_html(a, i)}')
        if a.notice:
            out.append(f'<div class="rg-notice" role="status">{_e(a.notice)}</div>')
        if a.refused:
            out.append('<div class="rg-dim">No passage of the indexed files answers this; no sources cited.</div>')
        out.append(_footnotes(t, a, i, _titles(a.passages)))
        out.append(
            f'<div class="rg-actions">{_meta(a)}<button class="rg-copy" title="Copy the answer and its '
            f'sources as Markdown">Copy</button><textarea class="rg-md" hidden readonly>'
            f"{_e(answer_markdown(a, t.quotes))}</textarea></div></div>"
        )
    out.append("</div>")
    return "".join(out)


def transcript_html(turns: Sequence[ChatTurn], examples: Sequence[str] = ()) -> str:
    """The whole conversation; with no turns, a welcome with example questions to click."""
    if not turns:
        chips = "".join(f'<button class="rg-example" data-question="{_e(q)}">{_e(q)}</button>' for q in examples)
        return (
            '<div class="rg-chat rg-empty"><p class="rg-welcome">Ask a question about the indexed documents. '
            "Every sentence of an answer cites the passage it comes from; click a citation to read it in "
            f'context.</p><div class="rg-examples">{chips}</div></div>'
        )
    return '<div class="rg-chat">' + "".join(_turn_html(t, i) for i, t in enumerate(turns)) + "</div>"


def sources_html(turns: Sequence[ChatTurn], turn: int | None = None, marker: int | None = None) -> str:
    """The citations of one answer (the latest by default) as clickable cards."""
    if turn is None:
        turn = next((i for i in range(len(turns) - 1, -1, -1) if turns[i].answer is not None), None)
    t = turns[turn] if turn is not None and 0 <= turn < len(turns) else ChatTurn("")
    answer = t.answer
    title = '<div class="rg-panel-title">Sources</div>'
    if answer is None:
        return f'<div class="rg-sources">{title}<p class="rg-dim">The sources of an answer appear here.</p></div>'
    if not answer.citations:
        return f'<div class="rg-sources">{title}<p class="rg-dim">No sources: the documents do not answer this question.</p></div>'
    titles = _titles(answer.passages)
    cards = "".join(
        f'<div class="rg-card{" rg-active" if c.marker == marker else ""}">'
        f'<a href="#" class="rg-cite" data-turn="{turn}" data-marker="{c.marker}">'
        f'{_source_head(c, titles.get(c.file, ""))}'
        f'<blockquote class="rg-quote">{_e(t.quote(c))}</blockquote></a></div>'
        for c in answer.citations
    )
    return f'<div class="rg-sources" data-turn="{turn}">{title}{cards}</div>'


# ---- corpus, backends, uploads ------------------------------------------------------

UPLOAD_SUFFIXES = (".txt", ".md", ".pdf")


def corpus_html(index: Index, indexed_at: str, skipped: Sequence[tuple[str, str]] = ()) -> str:
    """The indexed files with their titles and chunk counts, and the files that were skipped."""
    counts: dict[str, int] = {}
    titles: dict[str, str] = {}
    for c in index.chunks:
        counts[c.file] = counts.get(c.file, 0) + 1
        titles.setdefault(c.file, c.title)
    rows = "".join(
        f'<tr><td class="rg-file">{_e(f)}</td><td>{_e(titles.get(f, ""))}</td>'
        f'<td class="rg-num">{counts.get(f, 0)}</td></tr>'
        for f in index.files
    )
    skipped_rows = "".join(f"<li><code>{_e(f)}</code>: {_e(why)}</li>" for f, why in skipped)
    return (
        f'<div class="rg-corpus"><p class="rg-dim">{len(index.files)} files, {len(index.chunks)} chunks '
        f"from <code>{_e(str(index.docs_root))}</code>; last indexed {_e(indexed_at)}.</p>"
        '<table class="rg-table"><thead><tr><th>File</th><th>Title</th><th class="rg-num">Chunks</th></tr>'
        f"</thead><tbody>{rows}</tbody></table>"
        + (f'<p class="rg-warn">Skipped files:</p><ul>{skipped_rows}</ul>' if skipped_rows else "")
        + "</div>"
    )


def header_html(index: Index | None, indexed_at: str) -> str:
    """The page header: the product, and what is indexed since when."""
    files = f"{len(index.files)} files · {len(index.chunks)} chunks" if index else "no index"
    return (
        '<div class="rg-header"><span class="rg-logo">rag</span><span class="rg-tag">cited answers from '
        f'your documents</span><span class="rg-status">{_e(files)} · indexed {_e(indexed_at)}'
        ' · <a href="?view=api" title="Call the ask endpoint from Python with gradio_client">API</a></span></div>'
    )


def generators_html(status: dict[str, str]) -> str:
    """Each generator and whether it can run here (generator_status)."""
    rows = "".join(
        f'<tr><td><b>{_e(n)}</b></td><td>{"available" if not why else "unavailable: " + _e(why)}</td></tr>'
        for n, why in status.items()
    )
    return f'<div class="rg-panel-title">Generators</div><table class="rg-table rg-gens">{rows}</table>'


def generator_status(settings: Settings) -> dict[str, str]:
    """Each generator mapped to "" when it can run here, else why it cannot."""
    from .generation import REGISTRY

    status = {"extractive": "", "local": "", "openai": ""}
    try:
        import xllamacpp  # noqa: F401
    except ImportError:
        status["local"] = "needs the llama.cpp runtime: pip install -e '.[local]'"
    if not status["local"]:
        if settings.local_model_path:
            if not Path(settings.local_model_path).expanduser().is_file():
                status["local"] = f"RAG_LOCAL_MODEL_PATH={settings.local_model_path} is not a file"
        else:
            from .local_llm import packaged_model_parts

            try:
                packaged_model_parts()
            except ConfigError as exc:
                status["local"] = str(exc)
    default_url = Settings.__dataclass_fields__["openai_base_url"].default
    if not settings.openai_api_key and settings.openai_base_url == default_url:
        status["openai"] = "needs OPENAI_API_KEY, or RAG_OPENAI_BASE_URL for a local OpenAI-compatible server"
    for name in status:
        if not status[name] and name not in REGISTRY:
            status[name] = "not built into this version of rag"
    return status


def safe_file_name(name: str) -> str:
    """A file name safe to create in the documents folder: no folders, no odd characters."""
    base = unicodedata.normalize("NFKC", PurePath(name.replace("\\", "/")).name)
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = re.sub(r"[^\w.-]+", "_", stem).strip("._-")[:80] or "upload"
    return f"{stem}.{suffix.lower()}" if suffix else stem


def size_text(n: int) -> str:
    """A file size for people: 50 MB, 1.5 MB, 293 KB."""
    if n >= 2**20:
        return f"{n / 2**20:.1f}".removesuffix(".0") + " MB"
    return f"{max(1, round(n / 2**10))} KB"


def check_upload(path: Path, name: str, max_bytes: int) -> str:
    """Why an uploaded file cannot be indexed ("" when it looks fine)."""
    suffix = PurePath(name).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        return f"expected {', '.join(UPLOAD_SUFFIXES)}, found {suffix or 'no extension'}; convert it to text or PDF"
    size = path.stat().st_size
    if size > max_bytes:
        return f"{size_text(size)} is over the {size_text(max_bytes)} limit (RAG_MAX_FILE_BYTES); split the file"
    if size == 0:
        return "the file is empty"
    with path.open("rb") as f:
        head = f.read(8192)
    if suffix == ".pdf":
        return "" if head.startswith(b"%PDF-") else "not a PDF (no %PDF- header); export it again as PDF"
    if b"\x00" in head:
        return "binary data, not text; save it as UTF-8 text"
    try:
        path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start}); re-save it as UTF-8"
    return ""
