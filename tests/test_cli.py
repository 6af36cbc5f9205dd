"""The CLI's exit codes, output and JSON, run as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import ROOT, SEEDS


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    return subprocess.run([sys.executable, "-m", "rag", *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=300)


def test_index_then_ask_json(small_corpus: Path, tmp_path: Path) -> None:
    persist = str(tmp_path / "idx")
    r = run("index", "--docs", str(small_corpus), "--persist", persist)
    assert r.returncode == 0, r.stderr
    assert "3 files" in r.stdout and "chunks" in r.stdout
    r = run("ask", "--persist", persist, "--json", "When was the Harbour Accord signed?")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert set(data) >= {"text", "citations", "passages", "refused"}
    assert not data["refused"]
    c = data["citations"][0]
    assert set(c) >= {"marker", "file", "start", "end", "quote", "line_start", "line_end", "section", "author"}
    raw = (small_corpus / c["file"]).read_text(encoding="utf-8")
    assert raw[c["start"] : c["end"]] == c["quote"]
    assert "3 March 2019" in " ".join(c["quote"].split())

    r = run("ask", "--persist", persist, "When was the Harbour Accord signed?")
    assert r.returncode == 0 and "[1]" in r.stdout and "alpha.txt:" in r.stdout


def test_ask_builds_the_index_on_first_use(small_corpus: Path, tmp_path: Path) -> None:
    persist = tmp_path / "fresh"
    r = run("ask", "--docs", str(small_corpus), "--persist", str(persist), "--json", "When was the Harbour Accord signed?")
    assert r.returncode == 0, r.stderr
    assert f"no index in {persist} yet: indexing {small_corpus} first" in r.stderr
    c = json.loads(r.stdout)["citations"][0]
    assert (small_corpus / c["file"]).read_text(encoding="utf-8")[c["start"]:c["end"]] == c["quote"]
    r = run("ask", "--docs", str(small_corpus), "--persist", str(persist), "When was the Harbour Accord signed?")
    assert r.returncode == 0 and "no index" not in r.stderr and "alpha.txt:" in r.stdout  # opened, not rebuilt


def test_errors_exit_1_with_message(tmp_path: Path) -> None:
    r = run("ask", "--docs", str(tmp_path / "no-such-folder"), "--persist", str(tmp_path / "missing"), "anything?")
    assert r.returncode == 1
    assert "\nerror: expected a folder of documents at" in r.stderr and "no-such-folder" in r.stderr
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "missing").exists()  # no empty index left to be mistaken for a killed build

    r = run("index", "--docs", str(tmp_path / "no-such-folder"), "--persist", str(tmp_path / "i"))
    assert r.returncode == 1 and r.stderr.startswith("error: ")
    assert not (tmp_path / "i").exists()


def test_empty_question_exit_1(small_corpus: Path, tmp_path: Path) -> None:
    persist = str(tmp_path / "idx")
    assert run("index", "--docs", str(small_corpus), "--persist", persist).returncode == 0
    r = run("ask", "--persist", persist, "   ")
    assert r.returncode == 1 and "empty" in r.stderr


def test_console_script_exists() -> None:
    exe = Path(sys.executable).parent / "rag"
    assert exe.exists()
    r = subprocess.run([str(exe), "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "index" in r.stdout and "ask" in r.stdout
    _ = SEEDS
