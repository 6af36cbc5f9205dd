"""The chat web UI: `python app.py [--host H] [--port N] [--docs DIR] [--persist DIR]`.

Opens the index in persist_dir (building it from docs_dir on first start, with progress in
the page), then serves a chat whose answers cite passages you can open in context. Calls the
public rag API, rag.viewer (HTML) and rag.serving (the shared index, logins, messages); the
styles and scripts are in static/. The Gradio API endpoint `/ask` returns Answer.to_dict().

Exposure. It binds 127.0.0.1 unless told otherwise (--host, RAG_HOST). Before serving on
another address set RAG_UI_AUTH ("user:password[,user2:password2]", or the path of a file
with one user:password a line): the page, its events and the API then need a login (send
`auth=(user, password)` from gradio_client); without it the app logs a warning. Gradio's
/file= route serves only its own upload cache (no allowed_paths): documents are read only
through the source viewer, which shows files of the index and nothing else. Uploads: .txt,
.md, .pdf up to RAG_MAX_FILE_BYTES, checked before they reach the documents folder.

Queue. At most ANSWER_LIMIT answers run at once, the chat and the API sharing one limit:
answering is CPU-bound (the embedding model already uses every core, the local model has one
slot), so more at once only adds contention. Measured with benchmarks/load.py, 20 users
asking non-stop on a shared 2-core machine: limits 1 / 2 / 4 gave 2.0 / 2.8 / 2.6 answers/s
(p50 8.6 / 6.5 / 6.4 s); with a full rebuild running the whole minute, limit 2 gave p50
7.6 s, p95 15 s, no errors. (A remote OpenAI endpoint waits on the network instead: raise the
limit there.) Opening a passage never waits behind an answer; one index build runs at a time
while the old index keeps answering. Up to QUEUE_SIZE events wait (3x the 20 users tested,
about 25 s of answers here); past that a caller is told "Queue is full" at once instead of
waiting without end.
"""

from __future__ import annotations

import os

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # before importing gradio: it must not call home

import argparse
import logging
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import gradio as gr

from rag import Answer, RagError, Settings, Turn, serving, viewer
from rag.serving import Runtime
from rag.viewer import ChatTurn

log = logging.getLogger("rag.app")

ANSWER_LIMIT = 2  # answers at once (see the docstring)
QUEUE_SIZE = 64  # events waiting at most; more get "Queue is full" at once
STREAM_EVERY = 0.05  # seconds between re-renders of a streaming answer
STARTUP_WAIT = 60.0  # a question asked while the index opens waits this long for it, then says so
STATIC = Path(__file__).resolve().parent / "static"
EXAMPLES = {  # questions the seeds answer, shown when their file is indexed
    "001_73f464f2a544a250.txt": "When did Aliyev and Putin sign the declaration on allied interaction, and where?",
    "004_0d75783bdc352dae.txt": "Which summit meeting did Ilham Aliyev skip in October 2023, and where was it held?",
    "000_c138998a30d41faa.txt": "Which member of the French cabinet publicly blamed Azerbaijan for the New Caledonia insurgency?",
    "003_d8b061254c31fc03.txt": "How much water can drip irrigation save, according to studies cited in the Aghali essay?",
}
# Gradio's bundled Source Sans Pro SemiBold (600) holds only 55 glyphs, so semibold text came
# out in a mix of fonts: declare the complete Bold face instead.
THEME = gr.themes.Default(
    primary_hue="indigo",
    font=[gr.themes.LocalFont("Source Sans Pro", weights=(400, 700)), "ui-sans-serif", "system-ui", "sans-serif"],
)
IDLE_INPUT = gr.update(submit_btn="Ask", stop_btn=False)
NO_PASSAGE = '<div class="rg-viewer rg-dim">Click a citation to read the passage in its file.</div>'
_esc = viewer.escape


def _js(*names: str) -> str:
    """The scripts static/<name>.js, one after the other (for a component's js_on_load)."""
    return "\n".join((STATIC / f"{name}.js").read_text(encoding="utf-8") for name in names)


def _position(evt: gr.EventData) -> tuple[int, int] | None:
    """(turn, marker) of a clicked citation; None for anything but two small whole numbers."""
    data = evt._data if isinstance(evt._data, dict) else {}  # whatever the client sent
    values = [data.get("turn"), data.get("marker")]
    if all(type(v) is int or (type(v) is str and v.isascii() and v.isdigit() and len(v) < 6) for v in values):
        return int(values[0]), int(values[1])  # type: ignore[arg-type]
    log.info("ignored a citation click with turn=%.40r marker=%.40r", *values)
    return None


def build_ui(runtime: Runtime) -> gr.Blocks:
    """The Blocks app: chat and sources on the Chat tab, files and uploads on the Corpus tab."""
    settings = runtime.settings

    def message(exc: BaseException) -> str:
        return serving.message(exc, settings)

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
        return viewer.header_html(runtime.index, runtime.indexed_at)

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
            viewer.generators_html(runtime.generators),
            gr.update(choices=file_choices(), value=[]),
            corpus(),
            status_html(),
        )

    def chat_turn(
        question: str, turns: list[ChatTurn], generator: str | None, k: float, files: list[str] | None
    ) -> Iterator[tuple[Any, ...]]:
        question = question if isinstance(question, str) else ""
        history = [Turn(t.question, t.answer.text) for t in turns if t.answer is not None]
        wait = "Searching the documents…"
        if generator == "local":
            wait += " (the local model reads the passages before it writes: a minute or more on a CPU)"
        turns = [*turns, ChatTurn(question, note=wait)]
        yield viewer.transcript_html(turns), gr.skip(), turns, gr.update(value="", submit_btn=False, stop_btn="Stop")
        partial, shown, last, answer = "", "", 0.0, None
        try:
            if runtime.index is None and not runtime.error:
                runtime.ready.wait(STARTUP_WAIT)  # opening takes seconds: answer then, not an error now
            index = runtime.index
            if index is None:
                raise RagError(runtime.error or "the index is still being built: wait for the progress bar to finish")
            n, name, only = serving.check_request(index, runtime.generators, k, generator, files)
            stream = index.stream(question, k=n, history=history, files=only, generator=name)
            for item in serving.ticking(stream):
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
            turns[-1] = ChatTurn(question, error=message(exc))
        yield viewer.transcript_html(turns), viewer.sources_html(turns), turns, IDLE_INPUT

    def open_citation(turns: list[ChatTurn], whole: bool, evt: gr.EventData) -> tuple[str, str, Any]:
        return show(turns, whole, _position(evt))

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
        data = evt._data if isinstance(evt._data, dict) else {}
        return str(data.get("question") or "")

    def clear() -> tuple[Any, ...]:
        return viewer.transcript_html([], examples()), viewer.sources_html([]), NO_PASSAGE, [], None

    def reindex(rebuild: bool) -> Iterator[tuple[Any, ...]]:
        yield from _indexing(lambda: runtime.build(rebuild is True), str)

    def _indexing(work: Callable[[], None], note: Callable[[], str]) -> Iterator[tuple[Any, ...]]:
        if runtime.building.locked():
            yield '<p class="rg-warn">An index build is already running; wait for it to finish.</p>', *(gr.skip(),) * 4
            return
        try:
            for _ in serving.in_thread(work):
                yield runtime.progress_html(), *(gr.skip(),) * 4
            msg = f'<div class="rg-ok">{note()}Index updated: {len(runtime.index.files) if runtime.index else 0} files.</div>'
        except Exception as exc:
            msg = f'<div class="rg-warn">{note()}Indexing failed: {_esc(message(exc))}</div>'
        banner = gr.skip() if runtime.error else gr.update(value="", visible=False)  # a startup error is fixed
        yield msg, corpus(), gr.update(choices=file_choices()), status_html(), banner

    def upload(paths: Sequence[str] | None) -> Iterator[tuple[Any, ...]]:
        accepted, notes = [], []
        for p in paths or ():
            name, why = serving.store_upload(Path(p), settings.docs_path, settings.max_file_bytes)
            if why:
                notes.append(f"<li>Rejected <code>{_esc(Path(p).name)}</code>: {_esc(why)}</li>")
            else:
                accepted.append(name)
                notes.append(f"<li>Added <code>{_esc(name)}</code></li>")
        if not accepted:
            yield f'<div class="rg-warn"><ul>{"".join(notes)}</ul></div>' if notes else "No file received.", \
                *(gr.skip(),) * 4, None
            return

        def work() -> None:
            runtime.build()
            for file, reason in list(runtime.skipped):  # the indexer could not read it after all
                if file in accepted:
                    (settings.docs_path / file).unlink(missing_ok=True)
                    runtime.skipped.remove((file, reason))
                    notes[notes.index(f"<li>Added <code>{_esc(file)}</code></li>")] = \
                        f"<li>Rejected <code>{_esc(file)}</code>: {_esc(reason)}</li>"

        for out in _indexing(work, lambda: f"<ul>{''.join(notes)}</ul>"):
            yield *out, None

    def api_ask(question: str, k: int = 0, generator: str = "", files: list[str] | None = None) -> dict[str, Any]:
        """Answer a question from the indexed documents: Answer.to_dict() with verified citations."""
        if not runtime.ready.wait(600) or runtime.index is None:
            raise gr.Error(runtime.error or "the index is not ready", print_exception=False)
        index = runtime.index
        try:
            n, name, only = serving.check_request(index, runtime.generators, k, generator, files)
            answer = index.ask(question, k=n, files=only, generator=name)
        except Exception as exc:
            raise gr.Error(message(exc), print_exception=False) from None
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
                            chat = gr.HTML(viewer.transcript_html([]), elem_id="rg-chat", js_on_load=_js("cite", "chat"))
                            question = gr.Textbox(
                                show_label=False, placeholder="Ask a question about the documents…",
                                lines=1, max_lines=6, submit_btn="Ask", stop_btn=False, elem_id="rg-question",
                                autofocus=True,
                            )
                            with gr.Row(elem_id="rg-controls", equal_height=False):
                                generator = gr.Dropdown(["extractive"], value="extractive", label="Generator",
                                                        filterable=False, scale=2, min_width=140,
                                                        elem_id="rg-generator")
                                k = gr.Slider(1, serving.MAX_K, value=settings.top_k, step=1, label="Passages",
                                              buttons=[], scale=2, min_width=180)
                                files = gr.Dropdown([], value=[], multiselect=True, label="Only these files",
                                                    scale=4, min_width=220)
                                clear_btn = gr.Button("Clear chat", size="sm", scale=0, min_width=100,
                                                      variant="secondary", elem_id="rg-clear")
                        with gr.Column(scale=5, min_width=360, elem_id="rg-side"):
                            sources = gr.HTML(viewer.sources_html([]), elem_id="rg-sources",
                                              js_on_load=_js("cite", "sources"))
                            with gr.Row(elem_id="rg-viewer-bar"):
                                gr.HTML('<div class="rg-panel-title">Passage in context</div>')
                                whole = gr.Checkbox(False, label="Show the whole file", scale=0, min_width=170,
                                                    container=False, elem_id="rg-whole")
                            passage = gr.HTML(NO_PASSAGE, elem_id="rg-passage", js_on_load=_js("viewer"))
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
                        f"{viewer.size_text(settings.max_file_bytes)} each)",
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


def parse_args(argv: Sequence[str] | None) -> Settings:
    """Settings from RAG_* variables, overridden by the command line."""
    parser = argparse.ArgumentParser(prog="rag serve", description="Start the chat web UI.")
    parser.add_argument("--host", help="address to bind (default 127.0.0.1, or RAG_HOST); "
                        "set RAG_UI_AUTH before using another")
    parser.add_argument("--port", type=int, help="port (default 7860, or RAG_PORT)")
    parser.add_argument("--docs", help="folder of documents (default seeds, or RAG_DOCS_DIR)")
    parser.add_argument("--persist", help="index folder (default .rag, or RAG_PERSIST_DIR)")
    parser.add_argument("--generator", choices=["extractive", "local", "openai"], help="default generator")
    args = parser.parse_args(argv)
    return Settings.from_env(host=args.host, port=args.port, docs_dir=args.docs, persist_dir=args.persist,
                             generator=args.generator)


def main(argv: Sequence[str] | None = None) -> int:
    """Start the UI and serve until interrupted."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for name in ("rag.app", "rag.serving"):  # startup and indexing progress
        logging.getLogger(name).setLevel(logging.INFO)
    settings = Settings()
    try:
        settings = parse_args(argv)
        auth = serving.parse_ui_auth(settings.ui_auth)
        if not auth and not serving.is_loopback(settings.host):
            log.warning("serving on %s without a login: anyone who reaches it can read the documents, upload "
                        "and re-index; set RAG_UI_AUTH=user:password (see the README)", settings.host)
        runtime = Runtime(settings)
        runtime.start()
        demo = build_ui(runtime)
        demo.queue(default_concurrency_limit=ANSWER_LIMIT, max_size=QUEUE_SIZE)
        demo.launch(
            server_name=settings.host, server_port=settings.port, auth=auth,
            auth_message="Log in to read and ask about the indexed documents." if auth else None,
            css_paths=[STATIC / "app.css"], theme=THEME, footer_links=["api"],
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
