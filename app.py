"""The chat web UI: `python app.py [--host H] [--port N] [--docs DIR] [--persist DIR]`.

Opens the index in persist_dir (building it from docs_dir on first start, with progress in
the page), then serves a chat whose answers cite passages you can open in context. Calls only
the public rag API and rag.viewer. The Gradio API endpoint `/ask` returns Answer.to_dict().
"""

from __future__ import annotations

import os

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # before importing gradio: it must not call home

import argparse
import logging
import queue
import shutil
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence, TypeVar

import gradio as gr

from rag import Answer, Index, IndexNotFoundError, RagError, Settings, Turn, viewer
from rag.viewer import ChatTurn

log = logging.getLogger("rag.app")

# Concurrency: two answers at a time (generation is CPU-bound and the local model has one
# slot, so more would only queue inside the backend); opening passages never waits behind
# them; one index build at a time.
ANSWER_LIMIT = 2
STREAM_EVERY = 0.05  # seconds between re-renders of a streaming answer
TICK = 0.2  # seconds between steps of an answering event while the backend is silent
T = TypeVar("T")
EXAMPLES = {  # questions the seeds answer, shown when their file is indexed
    "001_73f464f2a544a250.txt": "When did Aliyev and Putin sign the declaration on allied interaction, and where?",
    "004_0d75783bdc352dae.txt": "Which summit meeting did Ilham Aliyev skip in October 2023, and where was it held?",
    "000_c138998a30d41faa.txt": "Which member of the French cabinet publicly blamed Azerbaijan for the New Caledonia insurgency?",
    "003_d8b061254c31fc03.txt": "How much water can drip irrigation save, according to studies cited in the Aghali essay?",
}
OPENING = "opening the index"
# Gradio's bundled Source Sans Pro SemiBold (600) holds only 55 glyphs, so semibold text came
# out in a mix of fonts: declare the complete Bold face instead.
THEME = gr.themes.Default(
    primary_hue="indigo",
    font=[gr.themes.LocalFont("Source Sans Pro", weights=(400, 700)), "ui-sans-serif", "system-ui", "sans-serif"],
)
IDLE_INPUT = gr.update(submit_btn="Ask", stop_btn=False)
NO_PASSAGE = '<div class="rg-viewer rg-dim">Click a citation to read the passage in its file.</div>'


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
            self.error = _message(exc)
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
        return f'<div class="rg-progress" role="status"><div>{_esc(what)}…</div>{bar}</div>'


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _message(exc: BaseException) -> str:
    """What a person sees for an error: the RagError's message, never a stack trace."""
    if isinstance(exc, RagError):
        return str(exc)
    log.error("unexpected error", exc_info=exc)
    return f"unexpected {type(exc).__name__}: {exc} (the server log has the details)"


def _ticking(items: Iterator[T]) -> Iterator[T | None]:
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


def _in_thread(work: Callable[[], None]) -> Iterator[None]:
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


def build_ui(runtime: Runtime) -> gr.Blocks:
    """The Blocks app: chat and sources on the Chat tab, files and uploads on the Corpus tab."""
    settings = runtime.settings

    def examples() -> list[str]:
        index = runtime.index
        if index is None:
            return []
        indexed = set(index.files)
        picked = [q for f, q in EXAMPLES.items() if f in indexed]
        titles = dict.fromkeys(c.title for c in index.chunks if c.title and c.file not in EXAMPLES)
        picked += [f"What is “{t}” about?" for t in list(titles)[: max(0, 3 - len(picked))]]
        return picked

    def status_html() -> str:
        index = runtime.index
        files = f"{len(index.files)} files · {len(index.chunks)} chunks" if index else "no index"
        return (
            '<div class="rg-header"><span class="rg-logo">rag</span><span class="rg-tag">cited answers from '
            f'your documents</span><span class="rg-status">{_esc(files)} · indexed {_esc(runtime.indexed_at)}'
            ' · <a href="?view=api" title="Call the ask endpoint from Python with gradio_client">API</a></span></div>'
        )

    def file_choices() -> list[tuple[str, str]]:
        index = runtime.index
        if index is None:
            return []
        titles = {c.file: c.title for c in index.chunks}
        return [(f"{titles.get(f, '')[:50] or f} ({f})", f) for f in index.files]

    def corpus() -> str:
        index = runtime.index
        if index is None:
            return f'<p class="rg-warn">{_esc(runtime.error or "The index is not ready yet.")}</p>'
        return viewer.corpus_html(index, runtime.indexed_at, runtime.skipped)

    def generator_note() -> str:
        rows = "".join(
            f'<tr><td><b>{n}</b></td><td>{"available" if not why else "unavailable: " + _esc(why)}</td></tr>'
            for n, why in runtime.generators.items()
        )
        return f'<div class="rg-panel-title">Generators</div><table class="rg-table rg-gens">{rows}</table>'

    # ---- events ----------------------------------------------------------------------
    def on_load() -> Iterator[tuple[Any, ...]]:
        while not runtime.ready.wait(0.25):
            yield (gr.update(value=runtime.progress_html()),) + (gr.skip(),) * 7
        available = [n for n, why in runtime.generators.items() if not why]
        chosen = settings.generator if settings.generator in available else "extractive"
        error = (f'<div class="rg-a rg-error" role="alert"><strong>The index is not available:</strong> '
                 f"{_esc(runtime.error)}. Fix that, then use Re-index or add documents in the Corpus tab.</div>"
                 if runtime.error else "")
        yield (
            gr.update(value=error, visible=bool(error)),
            gr.update(visible=True),
            viewer.transcript_html([], examples()),
            gr.update(choices=available, value=chosen),
            generator_note(),
            gr.update(choices=file_choices(), value=[]),
            corpus(),
            status_html(),
        )

    def chat_turn(
        question: str, turns: list[ChatTurn], generator: str | None, k: float, files: list[str] | None
    ) -> Iterator[tuple[Any, ...]]:
        question = question or ""
        history = [Turn(t.question, t.answer.text) for t in turns if t.answer is not None]
        wait = "Searching the documents…"
        if generator == "local":
            wait += " (the local model reads the passages before it writes: a minute or more on a CPU)"
        turns = [*turns, ChatTurn(question, note=wait)]
        yield viewer.transcript_html(turns), gr.skip(), turns, gr.update(value="", submit_btn=False, stop_btn="Stop")
        partial, shown, last, answer = "", "", 0.0, None
        try:
            index = runtime.index
            if index is None:
                raise RagError(runtime.error or "the index is still being built: wait for the progress bar to finish")
            stream = index.stream(question, k=int(k), history=history, files=files or (), generator=generator)
            for item in _ticking(stream):
                if isinstance(item, Answer):
                    answer = item
                    continue
                partial += item or ""
                if partial != shown and time.monotonic() - last >= STREAM_EVERY:
                    last, shown = time.monotonic(), partial
                    turns[-1] = ChatTurn(question, partial=partial)
                    yield viewer.transcript_html(turns), gr.skip(), turns, gr.skip()
                elif item is None:
                    yield (gr.skip(),) * 4  # hand control back to Gradio, so Stop can cancel us
            quotes = viewer.readable_quotes(index, answer) if answer else {}
            turns[-1] = ChatTurn(question, answer=answer, quotes=quotes)
        except Exception as exc:
            turns[-1] = ChatTurn(question, error=_message(exc))
        yield viewer.transcript_html(turns), viewer.sources_html(turns), turns, IDLE_INPUT

    def open_citation(turns: list[ChatTurn], whole: bool, evt: gr.EventData) -> tuple[str, str, Any]:
        try:
            turn, marker = int(evt.turn), int(evt.marker)
            return show(turns, whole, (turn, marker))
        except Exception as exc:
            return f'<div class="rg-viewer rg-error">{_esc(_message(exc))}</div>', gr.skip(), gr.skip()

    def show(turns: list[ChatTurn], whole: bool, focus: tuple[int, int] | None) -> tuple[str, str, Any]:
        if focus is None:
            return NO_PASSAGE, gr.skip(), None
        turn, marker = focus
        answer = turns[turn].answer if 0 <= turn < len(turns) else None
        citation = next((c for c in answer.citations if c.marker == marker), None) if answer else None
        index = runtime.index
        if citation is None or index is None:
            return NO_PASSAGE, gr.skip(), None
        html = viewer.passage_html(index, citation, None if whole else viewer.CONTEXT_PARAGRAPHS)
        return html, viewer.sources_html(turns, turn, marker), focus

    def stop(turns: list[ChatTurn]) -> tuple[Any, ...]:
        if turns and turns[-1].answer is None and not turns[-1].error:
            turns = [*turns[:-1], ChatTurn(turns[-1].question, partial=turns[-1].partial, stopped=True)]
        return viewer.transcript_html(turns), turns, IDLE_INPUT

    def pick_example(evt: gr.EventData) -> str:
        return str(evt.question)

    def clear() -> tuple[Any, ...]:
        return viewer.transcript_html([], examples()), viewer.sources_html([]), NO_PASSAGE, [], None

    def reindex(rebuild: bool) -> Iterator[tuple[Any, ...]]:
        yield from _indexing(lambda: runtime.build(rebuild), str)

    def _indexing(work: Callable[[], None], note: Callable[[], str]) -> Iterator[tuple[Any, ...]]:
        if runtime.building.locked():
            yield '<p class="rg-warn">An index build is already running; wait for it to finish.</p>', *(gr.skip(),) * 4
            return
        try:
            for _ in _in_thread(work):
                yield runtime.progress_html(), *(gr.skip(),) * 4
            msg = f'<div class="rg-ok">{note()}Index updated: {len(runtime.index.files) if runtime.index else 0} files.</div>'
        except Exception as exc:
            msg = f'<div class="rg-warn">{note()}Indexing failed: {_esc(_message(exc))}</div>'
        banner = gr.skip() if runtime.error else gr.update(value="", visible=False)  # a startup error is fixed
        yield msg, corpus(), gr.update(choices=file_choices()), status_html(), banner

    def upload(paths: Sequence[str] | None) -> Iterator[tuple[Any, ...]]:
        accepted, notes = [], []
        docs = settings.docs_path
        for p in paths or ():
            path = Path(p)
            name = viewer.safe_file_name(path.name)
            why = viewer.check_upload(path, name, settings.max_file_bytes)
            target = docs / name
            n = 1
            while not why and target.exists():
                if target.read_bytes() == path.read_bytes():
                    why = f"the same file is already in the corpus as {target.name}"
                n += 1
                target = docs / f"{Path(name).stem}-{n}{Path(name).suffix}"
            if why:
                notes.append(f"<li>Rejected <code>{_esc(path.name)}</code>: {_esc(why)}</li>")
                continue
            docs.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            accepted.append(target.name)
            notes.append(f"<li>Added <code>{_esc(target.name)}</code></li>")
        if not accepted:
            yield f'<div class="rg-warn"><ul>{"".join(notes)}</ul></div>' if notes else "No file received.", \
                *(gr.skip(),) * 4, None
            return

        def work() -> None:
            runtime.build()
            for file, reason in list(runtime.skipped):  # the indexer could not read it after all
                if file in accepted:
                    (docs / file).unlink(missing_ok=True)
                    runtime.skipped.remove((file, reason))
                    notes[notes.index(f"<li>Added <code>{_esc(file)}</code></li>")] = \
                        f"<li>Rejected <code>{_esc(file)}</code>: {_esc(reason)}</li>"

        for out in _indexing(work, lambda: f"<ul>{''.join(notes)}</ul>"):
            yield *out, None

    def api_ask(question: str, k: int = 0, generator: str = "", files: list[str] | None = None) -> dict[str, Any]:
        """Answer a question from the indexed documents: Answer.to_dict() with verified citations."""
        if not runtime.ready.wait(600) or runtime.index is None:
            raise gr.Error(runtime.error or "the index is not ready", print_exception=False)
        try:
            answer = runtime.index.ask(question, k=int(k) or None, files=files or (), generator=generator or None)
        except Exception as exc:
            raise gr.Error(_message(exc), print_exception=False) from None
        return answer.to_dict()

    # ---- layout ------------------------------------------------------------------------
    with gr.Blocks(title="rag — cited answers", fill_width=True) as demo:
        turns = gr.State([])
        focus = gr.State(None)
        header = gr.HTML(status_html(), elem_id="rg-header")
        startup = gr.HTML(runtime.progress_html(), elem_id="rg-startup")
        with gr.Column(visible=False, elem_id="rg-main") as main:
            with gr.Tabs():
                with gr.Tab("Chat", id="chat"):
                    with gr.Row(equal_height=False):
                        with gr.Column(scale=6, min_width=420):
                            chat = gr.HTML(viewer.transcript_html([]), elem_id="rg-chat", js_on_load=CHAT_JS)
                            question = gr.Textbox(
                                show_label=False, placeholder="Ask a question about the documents…",
                                lines=1, max_lines=6, submit_btn="Ask", stop_btn=False, elem_id="rg-question",
                                autofocus=True,
                            )
                            with gr.Row(elem_id="rg-controls", equal_height=False):
                                generator = gr.Dropdown(["extractive"], value="extractive", label="Generator",
                                                        filterable=False, scale=2, min_width=140,
                                                        elem_id="rg-generator")
                                k = gr.Slider(1, 20, value=settings.top_k, step=1, label="Passages", buttons=[],
                                              scale=2, min_width=180)
                                files = gr.Dropdown([], value=[], multiselect=True, label="Only these files",
                                                    scale=4, min_width=220)
                                clear_btn = gr.Button("Clear chat", size="sm", scale=0, min_width=100,
                                                      variant="secondary", elem_id="rg-clear")
                        with gr.Column(scale=5, min_width=360, elem_id="rg-side"):
                            sources = gr.HTML(viewer.sources_html([]), elem_id="rg-sources", js_on_load=SOURCES_JS)
                            with gr.Row(elem_id="rg-viewer-bar"):
                                gr.HTML('<div class="rg-panel-title">Passage in context</div>')
                                whole = gr.Checkbox(False, label="Show the whole file", scale=0, min_width=170,
                                                    container=False, elem_id="rg-whole")
                            passage = gr.HTML(NO_PASSAGE, elem_id="rg-passage", js_on_load=VIEWER_JS)
                with gr.Tab("Corpus", id="corpus"):
                    corpus_box = gr.HTML("", elem_id="rg-corpus")
                    gen_note = gr.HTML("", elem_id="rg-generators")
                    with gr.Row():
                        reindex_btn = gr.Button("Re-index", variant="primary", scale=0, min_width=140)
                        rebuild = gr.Checkbox(False, label="Rebuild from scratch", scale=0, min_width=200)
                    index_status = gr.HTML("", elem_id="rg-index-status")
                    uploads = gr.File(
                        file_count="multiple", file_types=list(viewer.UPLOAD_SUFFIXES), elem_id="rg-upload", height=150,
                        label=f"Add documents ({', '.join(viewer.UPLOAD_SUFFIXES)}, up to "
                        f"{settings.max_file_bytes // 2**20} MB each)",
                    )

        private: dict[str, Any] = {"api_visibility": "private"}
        demo.load(on_load, None, [startup, main, chat, generator, gen_note, files, corpus_box, header],
                  concurrency_limit=None, show_progress="hidden", **private)
        asking = dict(fn=chat_turn, inputs=[question, turns, generator, k, files], outputs=[chat, sources, turns, question],
                      concurrency_id="answer", concurrency_limit=ANSWER_LIMIT, show_progress="hidden", **private)
        submitted = question.submit(**asking)
        picked = chat.select(pick_example, None, question, queue=False, **private).then(**asking)
        question.stop(stop, turns, [chat, turns, question], cancels=[submitted, picked], queue=False, **private)
        viewing = dict(outputs=[passage, sources, focus], concurrency_limit=None, show_progress="hidden", **private)
        chat.click(open_citation, [turns, whole], **viewing)
        sources.click(open_citation, [turns, whole], **viewing)
        whole.change(show, [turns, whole, focus], **viewing)
        clear_btn.click(clear, None, [chat, sources, passage, turns, focus], queue=False, **private)
        indexing = dict(outputs=[index_status, corpus_box, files, header, startup], concurrency_id="index",
                        concurrency_limit=1, show_progress="hidden", **private)
        reindex_btn.click(reindex, rebuild, **indexing)
        uploads.upload(upload, uploads, **{**indexing, "outputs": [*indexing["outputs"], uploads]})
        gr.api(api_ask, api_name="ask", concurrency_id="answer", concurrency_limit=ANSWER_LIMIT)  # type: ignore[attr-defined]
    return demo  # type: ignore[no-any-return]


# A click on anything with data-marker opens that citation; example chips fill the question;
# Copy puts the answer's Markdown on the clipboard (execCommand where the Clipboard API is
# unavailable, e.g. plain http on a LAN address).
CITE_JS = """
element.addEventListener('click', (e) => {
  const cite = e.target.closest('[data-marker]');
  if (cite) { e.preventDefault(); trigger('click', {turn: Number(cite.dataset.turn), marker: Number(cite.dataset.marker)}); }
});
"""
SOURCES_JS = CITE_JS + """
watch('value', () => element.querySelector('.rg-card.rg-active')?.scrollIntoView({block: 'nearest'}));
"""
CHAT_JS = CITE_JS + """
element.addEventListener('click', async (e) => {
  const ex = e.target.closest('.rg-example');
  if (ex) { e.preventDefault(); trigger('select', {question: ex.dataset.question}); return; }
  const copy = e.target.closest('.rg-copy');
  if (!copy) return;
  const text = copy.parentElement.querySelector('.rg-md').value;
  try { await navigator.clipboard.writeText(text); }
  catch (err) {
    const t = document.createElement('textarea'); t.value = text; document.body.appendChild(t);
    t.select(); document.execCommand('copy'); t.remove();
  }
  copy.textContent = 'Copied'; setTimeout(() => { copy.textContent = 'Copy'; }, 1500);
});
watch('value', () => { const c = element.querySelector('.rg-chat'); if (c) c.scrollTop = c.scrollHeight; });
"""
VIEWER_JS = """
const reveal = () => {
  const mark = element.querySelector('#rg-mark');
  const box = element.querySelector('.rg-viewer-body');
  if (mark && box) box.scrollTop = Math.max(0, mark.offsetTop - box.clientHeight / 3);
};
watch('value', reveal);
"""
CSS = """
.gradio-container { max-width: 100% !important; padding: 4px 20px 0 !important; }
#rg-chat, #rg-sources, #rg-passage, #rg-corpus, #rg-header { text-align: left; }
footer { display: none !important; }
.rg-header { display: flex; align-items: baseline; gap: 12px; padding: 2px 2px 0; }
.rg-logo { font-weight: 700; font-size: 1.35em; letter-spacing: .02em; }
.rg-tag { color: var(--body-text-color-subdued); }
.rg-status { margin-left: auto; color: var(--body-text-color-subdued); font-size: .9em; }
.rg-progress { padding: 24px; font-size: 1.05em; } .rg-progress progress { width: 100%; height: 12px; }
.rg-chat { height: calc(100vh - 375px); min-height: 320px; overflow-y: auto; padding: 4px 10px 4px 2px; }
.rg-empty { display: flex; flex-direction: column; justify-content: center; }
.rg-welcome { color: var(--body-text-color-subdued); max-width: 46em; }
.rg-examples { display: flex; flex-wrap: wrap; gap: 8px; margin-top: 10px; }
.rg-example { border: 1px solid var(--border-color-primary); border-radius: 16px; padding: 6px 12px;
  background: var(--background-fill-secondary); cursor: pointer; text-align: left; font-size: .92em;
  font-weight: 400; }
.rg-example:hover { border-color: var(--color-accent); }
.rg-turn { margin: 0 0 18px; }
.rg-q { margin-left: auto; width: fit-content; max-width: 80%; background: var(--color-accent-soft);
  border-radius: 12px 12px 2px 12px; padding: 8px 12px; font-weight: 400; }
.rg-a { margin-top: 8px; border-left: 3px solid var(--color-accent); padding: 2px 0 2px 12px; }
.rg-a .rg-text { margin: 0 0 6px; line-height: 1.6; }
.rg-refused, .rg-stopped { border-left-color: var(--border-color-primary); }
.rg-refusal { font-style: italic; color: var(--body-text-color-subdued); }
.rg-error { border-left-color: #d9534f; color: #b52b27; }
.rg-streaming { border-left-style: dashed; }
.rg-caret::after { content: '▍'; animation: rg-blink 1s steps(2) infinite; color: var(--color-accent); }
@keyframes rg-blink { 50% { opacity: 0; } }
.rg-ref { font-size: .72em; margin-left: 1px; }
.rg-ref a { text-decoration: none; font-weight: 700; padding: 0 3px; border-radius: 4px;
  background: var(--color-accent-soft); color: var(--color-accent); }
.rg-pending { color: var(--body-text-color-subdued); }
.rg-unsupported { text-decoration: underline dotted #d08000; text-underline-offset: 3px; }
.rg-flag { font-size: .7em; margin-left: 4px; padding: 0 4px; border-radius: 4px; background: #fff1d6;
  color: #8a5a00; vertical-align: middle; }
.rg-notice { font-size: .9em; background: #fff7e6; color: #7a4f00; padding: 4px 8px; border-radius: 4px; margin: 4px 0; }
.rg-footnotes { margin: 4px 0 0; padding-left: 0; list-style: none; font-size: .86em; }
.rg-footnotes li { margin: 2px 0; }
.rg-fn { display: block; text-decoration: none; color: inherit; padding: 3px 6px; border-radius: 6px; }
.rg-fn:hover, .rg-card a:hover { background: var(--background-fill-secondary); }
.rg-cite { text-align: left; }
.rg-fn-quote { display: block; color: var(--body-text-color-subdued); margin: 1px 0 0 2.1em; font-style: italic; }
.rg-src-head { display: flex; flex-wrap: wrap; align-items: baseline; gap: 2px 8px; }
.rg-badge { display: inline-block; min-width: 1.5em; text-align: center; font-weight: 700; font-size: .85em;
  border-radius: 4px; background: var(--color-accent-soft); color: var(--color-accent); }
.rg-src-title { font-weight: 700; } .rg-src-who { color: var(--body-text-color-subdued); }
.rg-src-file { color: var(--body-text-color-subdued); font-family: var(--font-mono); font-size: .82em; }
.rg-actions { display: flex; align-items: center; gap: 10px; margin-top: 4px; }
.rg-meta { color: var(--body-text-color-subdued); font-size: .78em; }
.rg-copy { font-size: .78em; border: 1px solid var(--border-color-primary); border-radius: 4px; padding: 0 8px;
  background: transparent; cursor: pointer; }
.rg-dim { color: var(--body-text-color-subdued); }
.rg-panel-title { font-weight: 700; font-size: .95em; margin: 2px 0 4px; }
.rg-sources { height: 28vh; overflow-y: auto; }
.main { padding: 8px 24px 0 !important; }
#rg-side { gap: 8px; } #rg-viewer-bar { gap: 8px; }
.rg-card a { display: block; text-decoration: none; color: inherit; padding: 6px 8px; border-radius: 6px;
  border: 1px solid var(--border-color-primary); margin-bottom: 6px; }
.rg-card.rg-active a { border-color: var(--color-accent); box-shadow: 0 0 0 1px var(--color-accent); }
#rg-whole { border: none !important; background: none !important; box-shadow: none !important; }
.rg-card .rg-quote, .rg-viewer .rg-quote { margin: 4px 0 0 !important; }
.rg-quote { margin: 4px 0 0; padding-left: 8px; border-left: 2px solid var(--border-color-primary);
  font-size: .9em; color: var(--body-text-color); }
.rg-viewer .rg-src-head { padding-bottom: 4px; }
.rg-where { color: var(--body-text-color-subdued); font-size: .85em; margin-bottom: 4px; }
.rg-viewer-body { position: relative; white-space: pre-wrap; overflow-y: auto; height: calc(72vh - 330px);
  min-height: 260px; padding: 10px 12px; border: 1px solid var(--border-color-primary); border-radius: 6px;
  background: var(--background-fill-secondary); font-family: Georgia, 'Times New Roman', serif; line-height: 1.55; }
.rg-viewer-body mark { background: #ffe58a; color: #1a1a1a; padding: 1px 0; border-radius: 2px; }
.rg-cut { color: var(--body-text-color-subdued); }
#rg-viewer-bar { align-items: center; justify-content: space-between; flex-wrap: nowrap; }
#rg-clear { align-self: center; }
.rg-table { width: 100%; border-collapse: collapse; font-size: .92em; }
.rg-table th, .rg-table td { text-align: left; padding: 4px 8px !important; border: none !important;
  border-bottom: 1px solid var(--border-color-primary) !important; }
.rg-table { border: none !important; margin: 4px 0 12px !important; }
.rg-gens td:first-child { width: 9em; }
.rg-num { text-align: right !important; } .rg-file { font-family: var(--font-mono); font-size: .9em; }
.rg-warn { color: #b52b27; } .rg-ok { color: #2e7d32; }
"""


def parse_args(argv: Sequence[str] | None) -> Settings:
    """Settings from RAG_* variables, overridden by the command line."""
    parser = argparse.ArgumentParser(prog="rag serve", description="Start the chat web UI.")
    parser.add_argument("--host", help="address to bind (default 127.0.0.1, or RAG_HOST)")
    parser.add_argument("--port", type=int, help="port (default 7860, or RAG_PORT)")
    parser.add_argument("--docs", help="folder of documents (default seeds, or RAG_DOCS_DIR)")
    parser.add_argument("--persist", help="index folder (default .rag, or RAG_PERSIST_DIR)")
    parser.add_argument("--generator", choices=["extractive", "local", "openai"], help="default generator")
    args = parser.parse_args(argv)
    return Settings.from_env(host=args.host, port=args.port, docs_dir=args.docs, persist_dir=args.persist,
                             generator=args.generator)


def _auth(spec: str) -> list[tuple[str, str]] | None:
    if not spec:
        return None
    path = Path(spec).expanduser()
    text = path.read_text(encoding="utf-8") if path.is_file() else spec
    pairs = [p.strip().split(":", 1) for p in text.replace("\n", ",").split(",") if p.strip()]
    if any(len(p) != 2 or not p[0] for p in pairs):
        raise RagError("RAG_UI_AUTH: expected user:password[,user2:password2] or a file of such lines")
    return [(p[0], p[1]) for p in pairs]


def main(argv: Sequence[str] | None = None) -> int:
    """Start the UI and serve until interrupted."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    log.setLevel(logging.INFO)
    try:
        settings = parse_args(argv)
        runtime = Runtime(settings)
        runtime.start()
        demo = build_ui(runtime)
        demo.queue(default_concurrency_limit=ANSWER_LIMIT, max_size=64)
        demo.launch(
            server_name=settings.host, server_port=settings.port, auth=_auth(settings.ui_auth),
            css=CSS, theme=THEME, footer_links=["api"],
            max_file_size=settings.max_file_bytes, show_error=False, ssr_mode=False, quiet=False,
        )
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # e.g. the port is taken
        print(f"error: cannot serve on {settings.host}:{settings.port}: {exc}; pick another with --port",
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
