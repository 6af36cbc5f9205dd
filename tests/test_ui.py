"""The chat web UI: rag.viewer on real documents, and app.py in headless Chromium and over gradio_client."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest

from rag import REFUSAL, Answer, Citation, Index, Settings
from rag import viewer
from rag.viewer import ChatTurn
from fake_llm_server import FakeLLMServer
from ui_app import CHROMIUM, ROOT, ask, chromium, collapse, run_app

SEEDS = ROOT / "seeds"
QUESTION = "When did Aliyev and Putin sign the declaration on allied interaction, and where?"
OFF_TOPIC = "What is the best recipe for lasagna?"
NEW_FACT = "The Zorblat accord on river shipping was signed in Quillonville on 3 March 1911 by nine mayors."


def dehyphenate(text: str) -> str:
    """A raw quote as the cleaned text reads: line-break hyphens joined, whitespace collapsed."""
    return collapse(re.sub(r"(\w)-[ \t]*\r?\n\s*(\w)", r"\1\2", text))


# ---- rag.viewer without a browser -----------------------------------------------------


def test_clean_span_maps_back_to_the_raw_span_across_a_line_break_hyphen(seeds_index: Index) -> None:
    doc = seeds_index.document("003_d8b061254c31fc03.txt")
    assert doc is not None
    m = re.search(r"\w+-\n\w+", doc.raw)  # a word hyphenated across lines, which cleaning joins
    assert m, "the journal seed has hyphenated line breaks"
    start = doc.raw.rfind("\n", 0, m.start()) + 1
    end = len(doc.raw[: doc.raw.find("\n", m.end())].rstrip())  # spans of citations end on text
    cs, ce = viewer.clean_span(doc, start, end)
    assert doc.raw_span(cs, ce) == (start, end)
    offsets = np.asarray(doc.offsets)
    assert all(start <= offsets[i] < end for i in range(cs, ce))
    assert collapse(doc.clean[cs:ce]) == dehyphenate(doc.raw[start:end]) != collapse(doc.raw[start:end])


def test_passage_html_marks_exactly_the_cited_span(seeds_index: Index) -> None:
    answer = seeds_index.ask(QUESTION)
    c = answer.citations[0]
    html = viewer.passage_html(seeds_index, c)
    m = re.search(r'<mark id="rg-mark"[^>]*data-start="(\d+)" data-end="(\d+)"[^>]*>(.*?)</mark>', html, re.S)
    assert m and (int(m[1]), int(m[2])) == (c.start, c.end)
    assert collapse(m[3]) == dehyphenate(c.quote)
    before, after = html.split("<mark", 1)[0], html.split("</mark>", 1)[1]
    assert len(re.sub(r"<[^>]+>", "", before)) > 100 and len(re.sub(r"<[^>]+>", "", after)) > 100  # context
    whole = viewer.passage_html(seeds_index, c, paragraphs=None)
    doc = seeds_index.document(c.file)
    assert doc is not None and len(whole) > len(doc.clean)


def test_answer_html_escapes_text_links_markers_and_flags_unsupported_sentences() -> None:
    c = Citation(marker=1, file="a.txt", start=0, end=5, quote="<b>x", line_start=1, line_end=1)
    answer = Answer(question="q", text="Tags like <script> are text [1]. Nothing backs this.", citations=[c],
                    unsupported=["Nothing backs this."])
    html = viewer.answer_html(answer, turn=3)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'data-turn="3" data-marker="1"' in html
    assert re.search(r'class="rg-unsupported"[^>]*>Nothing backs this\.<span class="rg-flag">', html)
    assert "Tags like" not in html.split('class="rg-unsupported"', 1)[1]
    refused = viewer.transcript_html([ChatTurn("q", Answer(question="q", text=REFUSAL, refused=True))])
    assert REFUSAL in refused and "data-marker" not in refused
    md = viewer.answer_markdown(answer)
    assert "[1]" in md and "`a.txt`, lines 1–1" in md and "> <b>x" in md


@pytest.mark.parametrize(
    ("name", "safe"),
    [("../../etc/passwd.txt", "passwd.txt"), ("C:\\x\\Report (final).PDF", "Report_final.pdf"),
     (".hidden.md", "hidden.md"), ("ünïcode notes.md", "ünïcode_notes.md"), ("...", "upload")],
)
def test_safe_file_name(name: str, safe: str) -> None:
    assert viewer.safe_file_name(name) == safe


def test_check_upload_rejects_wrong_types_binary_and_oversized_files(tmp_path: Path) -> None:
    ok = tmp_path / "a.md"
    ok.write_text("Some notes.\n", encoding="utf-8")
    binary = tmp_path / "b.txt"
    binary.write_bytes(b"abc\x00\x01\x02")
    fake_pdf = tmp_path / "c.pdf"
    fake_pdf.write_text("not really", encoding="utf-8")
    assert viewer.check_upload(ok, "a.md", 1000) == ""
    assert "expected .txt, .md, .pdf" in viewer.check_upload(ok, "a.exe", 1000)
    assert "binary" in viewer.check_upload(binary, "b.txt", 1000)
    assert "not a PDF" in viewer.check_upload(fake_pdf, "c.pdf", 1000)
    assert "limit" in viewer.check_upload(ok, "a.md", 5)


def test_host_and_port_come_from_settings_env_and_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("rag_app_under_test", ROOT / "app.py")
    assert spec and spec.loader
    app_module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(app_module)
    assert os.environ["GRADIO_ANALYTICS_ENABLED"] == "False"
    default = app_module.parse_args([])
    assert (default.host, default.port) == ("127.0.0.1", 7860)
    monkeypatch.setenv("RAG_HOST", "0.0.0.0")
    monkeypatch.setenv("RAG_PORT", "7999")
    assert (app_module.parse_args([]).host, app_module.parse_args([]).port) == ("0.0.0.0", 7999)
    flagged = app_module.parse_args(["--host", "127.0.0.2", "--port", "8001"])
    assert (flagged.host, flagged.port) == ("127.0.0.2", 8001)


def test_rag_serve_help_lists_host_and_port() -> None:
    out = subprocess.run([sys.executable, "-m", "rag", "serve", "--", "--help"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "--host" in out.stdout and "--port" in out.stdout


# ---- the running app ------------------------------------------------------------------


@pytest.fixture(scope="module")
def app(seeds_index_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """app.py on a free loopback port over temp copies of the seeds and of their index."""
    tmp = tmp_path_factory.mktemp("ui")
    docs, persist = tmp / "docs", tmp / "index"
    shutil.copytree(SEEDS, docs)
    shutil.copytree(seeds_index_dir, persist)
    llm = FakeLLMServer(reply="Aliyev went to Moscow [1]. He signed a declaration there [1].")
    try:
        with run_app(docs, persist, tmp / "app.log", env={"RAG_OPENAI_BASE_URL": llm.base_url}) as (url, seconds):
            yield {"url": url, "docs": docs, "persist": persist, "log": tmp / "app.log", "startup": seconds,
                   "llm": llm}
    finally:
        llm.close()


@pytest.fixture(scope="module")
def index_copy(app: dict[str, Any]) -> Index:
    """The app's index opened in the test process, to compute what the page must show."""
    return Index.open(Settings(docs_dir=str(SEEDS), persist_dir=str(app["persist"])))


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail("CI is set but /usr/bin/chromium is missing: scripts/test.sh installs it with apt-get")
        pytest.skip("browser tests need Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)")
    with chromium(tmp_path_factory.mktemp("chromium-profile")) as ctx:
        yield ctx


@pytest.fixture()
def page(context: Any, app: dict[str, Any]) -> Iterator[Any]:
    """A fresh tab (a fresh Gradio session) with the chat ready; fails on any request off loopback."""
    page = context.new_page()
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(("http://127.0.0.1", "data:", "blob:")) else None)
    t0 = time.perf_counter()
    page.goto(app["url"])
    page.locator("#rg-question textarea").wait_for(state="visible", timeout=120_000)
    page.usable_after = time.perf_counter() - t0  # type: ignore[attr-defined]
    yield page
    page.close()
    assert outside == [], f"the page reached outside the machine: {outside}"


@pytest.mark.browser
def test_streamed_answer_and_citation_opens_the_passage_in_context(
    page: Any, app: dict[str, Any], index_copy: Index, tmp_path: Path
) -> None:
    expected = index_copy.ask(QUESTION)
    assert expected.citations, "the seeds answer this question"
    page.evaluate(
        """() => { window.rgStates = []; new MutationObserver(() => {
             const a = document.querySelector('#rg-chat .rg-turn:last-child .rg-a');
             if (a) window.rgStates.push([a.className, a.innerText.trim()]);
           }).observe(document.querySelector('#rg-chat'), {subtree: true, childList: true, characterData: true}); }"""
    )
    answer = ask(page, QUESTION)
    states = page.evaluate("window.rgStates")
    opening = collapse(expected.text)[:20]
    streamed = [i for i, (cls, text) in enumerate(states) if "rg-streaming" in cls and text.startswith(opening)]
    done = [i for i, (cls, _) in enumerate(states) if "rg-done" in cls]
    assert streamed and done and streamed[0] < done[0], f"expected partial text before the final answer: {states}"

    assert collapse(answer.locator(".rg-text").inner_text()).startswith(collapse(expected.text.split("[")[0]))
    footnotes = answer.locator(".rg-footnotes li")
    assert footnotes.count() == len(expected.citations)
    c = expected.citations[0]
    first = collapse(footnotes.first.inner_text())
    where = f"line {c.line_start}" if c.line_start == c.line_end else f"lines {c.line_start}–{c.line_end}"
    assert c.file in first and where in first and dehyphenate(c.quote) in first
    card = page.locator("#rg-sources .rg-card").first
    assert c.file in card.inner_text() and dehyphenate(c.quote) in collapse(card.inner_text())

    answer.locator(".rg-ref a").first.click()
    mark = page.locator("#rg-passage #rg-mark")
    mark.wait_for(timeout=30_000)
    assert (mark.get_attribute("data-file"), int(mark.get_attribute("data-start")), int(mark.get_attribute("data-end"))) \
        == (c.file, c.start, c.end)
    doc = index_copy.document(c.file)
    assert doc is not None
    cs, ce = viewer.clean_span(doc, c.start, c.end)
    assert (int(mark.get_attribute("data-clean-start")), int(mark.get_attribute("data-clean-end"))) == (cs, ce)
    assert doc.raw_span(cs, ce) == (c.start, c.end)
    shown = collapse(mark.inner_text())
    assert shown == collapse(doc.clean[cs:ce]) == dehyphenate(c.quote)
    page.wait_for_timeout(300)  # the viewer scrolls after rendering
    body = page.locator("#rg-passage .rg-viewer-body").bounding_box()
    box = mark.bounding_box()
    assert body and box and body["y"] <= box["y"] and box["y"] + min(box["height"], 40) <= body["y"] + body["height"]
    shot = tmp_path / "ui-answer.png"
    page.screenshot(path=str(shot))
    print(f"screenshot: {shot}; page usable {page.usable_after:.2f} s after navigation; "
          f"app up {app['startup']:.2f} s after start")

    page.locator("#rg-whole input").check()  # the whole file, still marked and in view
    page.wait_for_function("document.querySelectorAll('#rg-passage .rg-cut').length === 0")
    assert collapse(page.locator("#rg-passage #rg-mark").inner_text()) == shown


@pytest.mark.browser
def test_off_topic_question_is_refused_without_citations(page: Any) -> None:
    answer = ask(page, OFF_TOPIC)
    assert "rg-refused" in (answer.get_attribute("class") or "")
    assert collapse(answer.locator(".rg-text").inner_text()) == REFUSAL
    assert answer.locator("[data-marker]").count() == 0
    assert "do not answer" in page.locator("#rg-sources").inner_text()
    assert page.locator("#rg-sources [data-marker]").count() == 0


@pytest.mark.browser
def test_empty_question_is_an_error_message_and_the_app_still_answers(page: Any) -> None:
    answer = ask(page, "   ")
    assert "rg-error" in (answer.get_attribute("class") or "")
    assert "question is empty" in answer.inner_text()
    assert "Traceback" not in page.content()
    after = ask(page, QUESTION)
    assert "rg-done" in (after.get_attribute("class") or "") and after.locator(".rg-ref a").count() >= 1


@pytest.mark.browser
def test_example_follow_up_copy_and_clear(page: Any, context: Any, app: dict[str, Any]) -> None:
    page.locator(".rg-example", has_text="summit").click()
    first = page.locator("#rg-chat .rg-turn").nth(0).locator(".rg-a.rg-done")
    first.wait_for(timeout=120_000)
    follow = ask(page, "Where was it held?")
    assert "searched for:" in follow.locator(".rg-meta").inner_text()  # the question used the history
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=app["url"].rstrip("/"))
    first.locator(".rg-copy").click()
    page.wait_for_function("document.querySelector('#rg-chat .rg-copy').textContent === 'Copied'")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith("> Which summit meeting") and "Sources:" in copied and "- [1]" in copied
    page.locator("#rg-clear").click()
    page.locator("#rg-chat .rg-example").first.wait_for()
    assert page.locator("#rg-chat .rg-turn").count() == 0


def pick_generator(page: Any, name: str) -> None:
    """Choose a generator in the dropdown; skip the test when the app does not offer it."""
    page.locator("#rg-generator input").click()
    options = page.get_by_role("option")
    options.first.wait_for()
    offered = [o.strip() for o in options.all_inner_texts()]
    if name not in offered:
        pytest.skip(f"the {name} generator is not offered (offered: {offered})")
    page.get_by_role("option", name=name).click()


@pytest.mark.browser
def test_backend_down_is_a_message_and_the_app_still_answers(page: Any, app: dict[str, Any]) -> None:
    app["llm"].mode, app["llm"].status = "status", 503
    pick_generator(page, "openai")
    answer = ask(page, QUESTION)
    text = answer.inner_text()
    assert "rg-error" in (answer.get_attribute("class") or "") or answer.locator(".rg-notice").count() == 1, text
    assert "503" in text and "Traceback" not in text
    pick_generator(page, "extractive")
    after = ask(page, QUESTION)
    assert "rg-done" in (after.get_attribute("class") or "") and after.locator(".rg-notice").count() == 0


@pytest.mark.browser
def test_stop_ends_a_stalled_answer_at_once(page: Any, app: dict[str, Any]) -> None:
    app["llm"].mode, app["llm"].delay = "stall", 30  # streams a first piece, then hangs
    pick_generator(page, "openai")
    box = page.locator("#rg-question textarea")
    box.fill(QUESTION)
    box.press("Enter")
    page.wait_for_function("(() => { const t = document.querySelector('#rg-chat .rg-a.rg-streaming .rg-text');"
                           " return t && !t.querySelector('.rg-dim') && t.innerText.trim().length > 0; })",
                           timeout=60_000)
    t0 = time.perf_counter()
    page.get_by_role("button", name="Stop").click()
    page.locator("#rg-chat .rg-a.rg-stopped").wait_for(timeout=10_000)
    pick_generator(page, "extractive")
    after = ask(page, QUESTION)
    assert "rg-done" in (after.get_attribute("class") or "")
    assert time.perf_counter() - t0 < 20, "the stalled backend (30 s) held up the next question"


@pytest.mark.browser
def test_upload_rejects_bad_files_and_indexes_good_ones(page: Any, app: dict[str, Any], tmp_path: Path) -> None:
    bad = tmp_path / "scan.txt"
    bad.write_bytes(b"\x89PNG\x00\x00binary")
    broken = tmp_path / "broken.pdf"  # passes the upload check, fails when the indexer reads it
    broken.write_bytes(b"%PDF-1.4\nnot really a pdf\n")
    good = tmp_path / "Field notes (draft).md"
    good.write_text(f"# Field notes\n\n{NEW_FACT}\n", encoding="utf-8")
    page.get_by_role("tab", name="Corpus").click()
    page.locator("#rg-upload input[type=file]").set_input_files([str(bad), str(broken), str(good)])
    status = page.locator("#rg-index-status")
    status.locator(".rg-ok, .rg-warn").first.wait_for(timeout=120_000)
    text = status.inner_text()
    assert "Rejected scan.txt" in text and "binary" in text
    assert "Added Field_notes_draft.md" in text and "Index updated" in text
    assert "Rejected broken.pdf" in text and not (app["docs"] / "broken.pdf").exists()
    assert (app["docs"] / "Field_notes_draft.md").read_text(encoding="utf-8").endswith(NEW_FACT + "\n")
    assert not (app["docs"] / "scan.txt").exists()
    assert "Field_notes_draft.md" in page.locator("#rg-corpus").inner_text()
    page.get_by_role("tab", name="Chat").click()
    answer = ask(page, "Where was the Zorblat accord on river shipping signed?")
    assert "Field_notes_draft.md" in answer.locator(".rg-footnotes").inner_text()


# ---- the API --------------------------------------------------------------------------


def test_ask_endpoint_returns_the_answer_as_json(app: dict[str, Any]) -> None:
    from gradio_client import Client

    client = Client(app["url"], verbose=False)
    got = client.predict(question=QUESTION, api_name="/ask")
    assert got["question"] == QUESTION and not got["refused"] and got["citations"]
    for c in got["citations"]:
        raw = (SEEDS / c["file"]).read_text(encoding="utf-8")
        assert raw[c["start"] : c["end"]] == c["quote"]
    refused = client.predict(question=OFF_TOPIC, k=3, api_name="/ask")
    assert refused["refused"] and refused["text"] == REFUSAL and refused["citations"] == []
    with pytest.raises(Exception, match="question is empty"):
        client.predict(question=" ", api_name="/ask")


@pytest.mark.browser
def test_first_start_indexes_the_folder_then_opens_the_chat(context: Any, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    shutil.copytree(ROOT / "tests" / "data" / "small", docs)
    with run_app(docs, tmp_path / "fresh-index", tmp_path / "app.log") as (url, _):
        page = context.new_page()
        page.goto(url)
        page.locator("#rg-question textarea").wait_for(state="visible", timeout=120_000)
        assert "no index in" in (tmp_path / "app.log").read_text()
        assert page.locator("#rg-startup").is_hidden()
        page.get_by_role("tab", name="Corpus").click()
        corpus = page.locator("#rg-corpus").inner_text()
        assert all(name in corpus for name in ("alpha.txt", "beta.md", "gamma.txt"))
        page.close()
