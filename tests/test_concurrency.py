"""One writer at a time across processes; readers keep answering during a re-index and see the
old or the new index, never a half-written one. Real processes, real Chroma (both modes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any, Callable

import pytest
from filelock import FileLock

from rag import Index, Settings
from rag.chunking import chunk_document
from rag.citations import verify
from rag.documents import load_folder
from rag.store import lock_path

from chroma_server import chroma_server  # noqa: F401  (a fixture)
from conftest import ROOT

MakeSettings = Callable[..., Settings]
SETTINGS_FIELDS = ("docs_dir", "persist_dir", "local_cache_dir", "chroma_url", "collection")

# Rewrites the corpus to each state in turn and re-indexes it after each rewrite.
WRITER = r"""
import json, os, sys
from pathlib import Path
from rag import Index, Settings
job = json.loads(sys.argv[1])
settings = Settings(**job["settings"])
docs = Path(settings.docs_dir)
print("ready", flush=True)
for state in job["states"]:
    files = job["versions"][state]
    for p in docs.iterdir():
        if p.name not in files:
            p.unlink()
    for name, text in files.items():
        tmp = docs / ("." + name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, docs / name)
    r = Index.build(settings).report
    print(json.dumps({"state": state, "seconds": r.seconds, "embedded": r.embedded}), flush=True)
"""

QUESTIONS = (
    "What fee per container did the Harbour Accord set?",
    "How long will the Brenner Base Tunnel be?",
    "What is the most serious threat to bee colonies in Europe?",
    "When does the Danube ferry run in winter?",
)


@pytest.fixture(params=["embedded", "server"])
def make_settings(request: pytest.FixtureRequest, tmp_path: Path) -> MakeSettings:
    extra: dict[str, Any] = {"persist_dir": str(tmp_path / "idx"), "local_cache_dir": str(tmp_path / "cache")}
    if request.param == "server":
        extra["chroma_url"] = request.getfixturevalue("chroma_server")
        extra["collection"] = f"c{uuid.uuid4().hex[:12]}"

    def make(docs: Path, **over: Any) -> Settings:
        return Settings(docs_dir=str(docs), **{**extra, **over})

    return make


def versions(small: Path) -> dict[str, dict[str, str]]:
    """Two states of a corpus: A is tests/data/small; B changes two files, drops one, adds one."""
    a = {p.name: p.read_text(encoding="utf-8") for p in sorted(small.iterdir())}
    b = dict(a)
    b["alpha.txt"] = a["alpha.txt"].replace("twelve euros", "fifteen euros")
    b["gamma.txt"] = a["gamma.txt"] + "\nWax moths damage stored combs in warm summers.\n" * 3
    del b["beta.md"]
    b["delta.txt"] = (
        "The Danube ferry\n\nThe ferry between Vidin and Calafat runs every two hours in winter "
        "and every hour in summer. A crossing takes twenty minutes.\n"
    )
    return {"A": a, "B": b}


def reference(files: dict[str, str], tmp: Path, settings: Settings) -> tuple[dict[str, str], Counter[str]]:
    """(file -> sha256, file -> chunk count) of a state, computed without any index."""
    tmp.mkdir(parents=True)
    for name, text in files.items():
        (tmp / name).write_text(text, encoding="utf-8")
    docs, _ = load_folder(tmp)
    counts: Counter[str] = Counter()
    for d in docs:
        counts[d.file] = len(chunk_document(d, settings.chunk_tokens, settings.chunk_overlap))
    return {d.file: d.sha256 for d in docs}, counts


def start_writer(settings: Settings, job: dict[str, Any]) -> subprocess.Popen[str]:
    job = {**job, "settings": {k: getattr(settings, k) for k in SETTINGS_FIELDS}}
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, json.dumps(job)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def test_readers_see_old_or_new_never_half(make_settings: MakeSettings, small_corpus: Path, tmp_path: Path) -> None:
    settings = make_settings(small_corpus)
    states = versions(small_corpus)
    refs = {s: reference(files, tmp_path / f"ref-{s}", settings) for s, files in states.items()}
    raws: dict[tuple[str, str], str] = {}  # (file, sha256) -> raw text of that version
    for s, (hashes, _) in refs.items():
        for f, sha in hashes.items():
            raws[(f, sha)] = states[s][f]

    first = Index.build(settings)
    assert first.hashes == refs["A"][0]
    errors: list[BaseException] = []
    seen: Counter[str] = Counter()
    cited = 0
    stop = threading.Event()

    def check(index: Index, question: str) -> None:
        nonlocal cited
        answer = index.ask(question)
        for p in answer.passages:
            raw = raws[(p.file, index.hashes[p.file])]
            assert 0 <= p.start < p.end <= len(raw)
        for c in answer.citations:
            raw = raws[(c.file, index.hashes[c.file])]  # the version this index holds
            assert verify(c, raw), (c, index.hashes[c.file])
            cited += 1

    def reader(fresh: bool) -> None:
        held = Index.open(settings)
        i = 0
        try:
            while not stop.is_set():
                index = Index.open(settings) if fresh else held
                state = [s for s, (hashes, _) in refs.items() if index.hashes == hashes]
                assert len(state) == 1, f"half-written index: {index.hashes}"
                assert Counter(c.file for c in index.chunks) == refs[state[0]][1]
                seen[state[0] + ("-open" if fresh else "-held")] += 1
                check(index, QUESTIONS[i % len(QUESTIONS)])
                i += 1
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=reader, args=(fresh,), daemon=True) for fresh in (True, False)]
    for t in threads:
        t.start()
    writer = start_writer(settings, {"states": ["B", "A", "B", "A", "B"], "versions": states})
    out, err = writer.communicate(timeout=600)
    time.sleep(1.0)  # let the readers open the final state
    stop.set()
    for t in threads:
        t.join(timeout=120)
    assert writer.returncode == 0, err[-3000:]
    assert not errors, repr(errors[0])
    builds = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert [b["state"] for b in builds] == ["B", "A", "B", "A", "B"]
    assert seen["A-held"] > 0 and seen["B-open"] > 0, seen
    assert cited > 0
    final = Index.open(settings)
    assert final.hashes == refs["B"][0]
    assert final.store.count() == len(final.chunks) == sum(refs["B"][1].values())


def test_one_writer_at_a_time_across_processes(make_settings: MakeSettings, small_corpus: Path) -> None:
    settings = make_settings(small_corpus)
    Index.build(settings)
    lock = FileLock(str(lock_path(settings)))
    with lock:
        writer = start_writer(settings, {"states": ["A"], "versions": {"A": versions(small_corpus)["A"]}})
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "ready"
        time.sleep(2.0)
        assert writer.poll() is None, "the writer must wait for the lock"
    out, err = writer.communicate(timeout=300)
    assert writer.returncode == 0, err[-3000:]
    report = json.loads(out.strip().splitlines()[-1])
    assert report["seconds"]["lock"] >= 1.5


def test_embedded_reader_survives_a_write_by_another_process(small_corpus: Path, tmp_path: Path) -> None:
    """Chroma's per-process vector index goes stale when another process writes: an Index opened
    before still answers (filters too), and one opened after sees the new vectors."""
    settings = Settings(docs_dir=str(small_corpus), persist_dir=str(tmp_path / "idx"))
    old = Index.build(settings)
    old.retrieve("bees", files=["gamma.txt"], mode="dense")
    states = versions(small_corpus)
    writer = start_writer(settings, {"states": ["B"], "versions": states})
    _, err = writer.communicate(timeout=300)
    assert writer.returncode == 0, err[-3000:]

    got = old.retrieve("Harbour Accord fee", k=3, files=["alpha.txt"], mode="dense")
    assert all(p.file == "alpha.txt" for p in got)
    new = Index.open(settings)
    hits = new.retrieve("Wax moths damage stored combs", k=2, mode="dense")
    assert hits and hits[0].file == "gamma.txt" and "Wax moths" in hits[0].text
    assert new.retrieve("Danube ferry crossing", k=1, mode="dense")[0].file == "delta.txt"
