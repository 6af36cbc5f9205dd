"""The benchmark suite: our pipeline against LlamaIndex's default one, measured in the same run.

    rag bench [--runs 3] [--queries 200] [--asks 40] [--local] [--server] [--quick]
    rag bench embed ...    the embedding model alone (benchmarks/embed_tune.py)
    rag bench scale ...    1k / 10k / 100k chunks (benchmarks/scale.py)

Every cold build runs in a fresh process into a temp folder (medians over --runs), then one
process per pipeline measures open, retrieve (--queries distinct questions, question
embeddings uncached) and ask latency. Prints a table; writes benchmarks/results/bench.json
and bench.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import socket
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any, Sequence

from .common import RESULTS, ROOT, log, machine, markdown_table, median, write_json


def run_worker(name: str, job: dict[str, Any], timeout: float = 3600) -> dict[str, Any]:
    """Run one measurement in a fresh Python process; its result is the last stdout line."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench", "--worker", name, json.dumps(job)],
        cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark worker {name} failed:\n{proc.stderr[-4000:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def med(runs: Sequence[dict[str, Any]], *path: str) -> float:
    """Median over runs of the value at path (e.g. "cold", "total")."""
    vals = []
    for r in runs:
        v: Any = r
        for p in path:
            v = v.get(p) if isinstance(v, dict) else None
        if isinstance(v, (int, float)):
            vals.append(float(v))
    return median(vals)


def ratio(a: float, b: float) -> float | str:
    if a != a or b != b or not b:  # NaN or zero
        return ""
    return round(a / b, 2)


def summarize(ours: list[dict[str, Any]], theirs: list[dict[str, Any]], oq: dict[str, Any],
              tq: dict[str, Any]) -> list[tuple[str, float, float, str]]:
    """(metric, ours, theirs, note) rows; NaN where a figure does not apply."""
    nan = float("nan")
    rows: list[tuple[str, float, float, str]] = [
        ("cold index, total (s)", med(ours, "cold", "total"), med(theirs, "cold", "total"), "median of runs"),
        ("  read + clean (s)", med(ours, "cold", "read"), med(theirs, "cold", "read"), ""),
        ("  chunk (s)", med(ours, "cold", "chunk"), med(theirs, "cold", "chunk"), ""),
        ("  embed (s)", med(ours, "cold", "embed"), med(theirs, "cold", "embed"), ""),
        ("  store writes (s)", med(ours, "cold", "write"), med(theirs, "cold", "write"), "theirs: build - embed - chunk"),
        ("  open after build (s)", med(ours, "cold", "open"), nan, "BM25 + snapshot"),
        ("chunks embedded", med(ours, "chunks"), med(theirs, "chunks"), "theirs: 1024-token nodes, truncated at 256 word pieces"),
        ("raw embedding of our chunks (s)", med(ours, "raw_embed", "seconds"), nan, "the model alone"),
        ("model load (s)", med(ours, "model_load_s"), med(theirs, "model_load_s"), "same model"),
        ("unchanged re-index (s)", med(ours, "unchanged", "total"), med(theirs, "unchanged", "total"), "theirs: refresh_ref_docs"),
        ("one file changed re-index (s)", med(ours, "changed", "total"), med(theirs, "changed", "total"), "theirs: refresh_ref_docs"),
        ("open (s)", oq.get("open_s", nan), tq.get("open_s", nan), "fresh process"),
        ("retrieve p50 (ms)", oq["retrieve"]["p50_ms"], tq["retrieve"]["p50_ms"], "ours: hybrid k=5; theirs: dense k=5"),
        ("retrieve p95 (ms)", oq["retrieve"]["p95_ms"], tq["retrieve"]["p95_ms"], ""),
        ("retrieve p95, CPU time (ms)", oq["retrieve_cpu"]["p95_ms"], tq["retrieve_cpu"]["p95_ms"], "less sensitive to load"),
        ("retrieve p95, single-part questions (ms)", oq["retrieve_single_part"]["p95_ms"], tq["retrieve"]["p95_ms"],
         f"{oq['retrieve_single_part']['n']} of {oq['retrieve']['n']}; multi-part ones embed each part"),
        ("ask p50 (ms), extractive vs MockLLM", oq["ask_extractive"]["p50_ms"], tq["ask_mockllm"]["p50_ms"], "theirs has no model: framework only"),
        ("ask p95 (ms), extractive vs MockLLM", oq["ask_extractive"]["p95_ms"], tq["ask_mockllm"]["p95_ms"], ""),
    ]
    if "ask_local" in oq:
        rows += [
            ("ask p50 (s), local model", oq["ask_local"]["p50_ms"] / 1e3, tq["ask_local"]["p50_ms"] / 1e3, "same llama.cpp model"),
            ("ask p95 (s), local model", oq["ask_local"]["p95_ms"] / 1e3, tq["ask_local"]["p95_ms"] / 1e3, ""),
            ("first token p50 (s), local", oq["first_token_local"]["p50_ms"] / 1e3, tq["first_token_local"]["p50_ms"] / 1e3, "from the question"),
            ("first token p95 (s), local", oq["first_token_local"]["p95_ms"] / 1e3, tq["first_token_local"]["p95_ms"] / 1e3, ""),
        ]
    rows += [
        ("peak RSS, build process (MB)", med(ours, "peak_rss_mb"), med(theirs, "peak_rss_mb"), "ru_maxrss"),
        ("peak RSS, query process (MB)", oq["peak_rss_mb"], tq["peak_rss_mb"], "ru_maxrss"),
        ("index on disk (MB)", med(ours, "index_mb"), med(theirs, "index_mb"), ""),
    ]
    return rows


def render(rows: list[tuple[str, float, float, str]]) -> tuple[str, str]:
    """(plain-text table, markdown table)."""
    def fmt(x: float) -> str:
        return "n/a" if x != x else (f"{x:.3g}" if abs(x) < 1000 else f"{x:,.0f}")

    header = ("metric", "ours", "LlamaIndex default", "ours/theirs", "note")
    body = [(m, fmt(a), fmt(b), str(ratio(a, b)), n) for m, a, b, n in rows]
    widths = [max(len(str(r[i])) for r in [header, *body]) for i in range(5)]
    text = "\n".join("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip() for r in [header, *body])
    return text, markdown_table(header, body)


def server_mode(tmp: Path, common: dict[str, Any]) -> dict[str, Any]:
    """One cold build and the query run of our pipeline against a real `chroma run` server."""
    chroma = Path(sys.executable).with_name("chroma")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([str(chroma), "run", "--path", str(tmp / "server"), "--host", "127.0.0.1",
                             "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=2).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"`chroma run` did not answer on {url}") from None
                time.sleep(0.3)
        store = {"chroma_url": url, "collection": "bench", "local_cache_dir": str(tmp / "cache")}
        log("server mode: cold build ...")
        cold = run_worker("ours_cold", {"dir": str(tmp / "server-run"), "run": 0, "store": store})
        log("server mode: queries ...")
        queries = run_worker("ours_queries", {**common, "docs": str(tmp / "server-run" / "docs"),
                                              "persist": str(tmp / "server-run" / "index"), "store": store})
        return {"cold": cold, "queries": queries}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def suite(args: argparse.Namespace) -> int:
    """Run everything, print the table, write bench.json / bench.md."""
    started = time.perf_counter()
    info = machine()
    tmp = Path(tempfile.mkdtemp(prefix="rag-bench-"))
    try:
        ours, theirs = [], []
        for i in range(args.runs):  # interleaved, so a burst of load hits both pipelines
            log(f"run {i + 1}/{args.runs}: our cold build ...")
            ours.append(run_worker("ours_cold", {"dir": str(tmp / f"ours{i}"), "run": i}))
            log(f"  {ours[-1]['cold']['total']:.1f} s (raw embedding {ours[-1]['raw_embed']['seconds']:.1f} s); "
                "LlamaIndex cold build ...")
            theirs.append(run_worker("llamaindex_cold", {"dir": str(tmp / f"li{i}"), "run": i}))
            log(f"  {theirs[-1]['cold']['total']:.1f} s")
        common = {"queries": args.queries, "asks": args.asks, "local": args.local,
                  "local_questions": args.local_questions}
        log(f"our queries ({args.queries} retrieve, {args.asks} ask{', local' if args.local else ''}) ...")
        oq = run_worker("ours_queries", {**common, "docs": str(tmp / "ours0" / "docs"),
                                         "persist": str(tmp / "ours0" / "index")})
        log("LlamaIndex queries ...")
        tq = run_worker("llamaindex_queries", {**common, "persist": str(tmp / "li0" / "index")})
        server = server_mode(tmp, {**common, "local": False}) if args.server else None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    rows = summarize(ours, theirs, oq, tq)
    nan = float("nan")
    if server:
        rows += [
            ("server mode: cold index (s)", server["cold"]["cold"]["total"], nan, "ours, `chroma run` on loopback"),
            ("server mode: open (s)", server["queries"]["open_s"], nan, ""),
            ("server mode: retrieve p50 (ms)", server["queries"]["retrieve"]["p50_ms"], nan, ""),
            ("server mode: retrieve p95 (ms)", server["queries"]["retrieve"]["p95_ms"], nan, ""),
        ]
    text, md = render(rows)
    cold_over_raw = [r["cold"]["total"] / r["raw_embed"]["seconds"] for r in ours]
    raw_rate = med(ours, "raw_embed", "passages_per_s")
    verdict = (
        f"cold index / raw embedding of the same chunks: median {median(cold_over_raw):.3f}x "
        f"(runs: {', '.join(f'{x:.3f}' for x in cold_over_raw)}); raw throughput {raw_rate:.1f} passages/s "
        f"at our chunk size; retrieve p95 {oq['retrieve']['p95_ms']:.1f} ms"
    )
    print(text)
    print()
    print(verdict)
    loadavg = os.getloadavg()
    print(f"load average {info['loadavg']} at start, {[round(x, 2) for x in loadavg]} at the end; "
          f"{time.perf_counter() - started:.0f} s in all")
    data = {"machine": {**info, "loadavg_end": [round(x, 2) for x in loadavg]}, "args": vars(args),
            "table": [{"metric": m, "ours": a, "llamaindex": b, "ratio": ratio(a, b), "note": n}
                      for m, a, b, n in rows],
            "cold_over_raw_embed": cold_over_raw, "ours_runs": ours, "llamaindex_runs": theirs,
            "ours_queries": oq, "llamaindex_queries": tq, "server_mode": server}
    out = Path(args.out)
    write_json(out / "bench.json", json.loads(json.dumps(data, default=str).replace("NaN", "null")))
    (out / "bench.md").write_text(
        f"# rag vs LlamaIndex default: seeds/\n\n{md}\n\n{verdict}\n\nMachine: {info}\n", encoding="utf-8"
    )
    log(f"wrote {out / 'bench.json'} and {out / 'bench.md'}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """`rag bench` entry point (also `python -m benchmarks.bench`)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--worker"]:
        from .pipelines import WORKERS

        print(json.dumps(WORKERS[argv[1]](json.loads(argv[2]))))
        return 0
    if argv[:1] == ["embed"]:
        from . import embed_tune

        return embed_tune.main(argv[1:])
    if argv[:1] == ["scale"]:
        from . import scale

        return scale.main(argv[1:])
    ap = argparse.ArgumentParser(prog="rag bench", description="Benchmark against LlamaIndex's default pipeline.")
    ap.add_argument("--runs", type=int, default=3, help="cold builds per pipeline (medians)")
    ap.add_argument("--queries", type=int, default=200, help="distinct retrieve questions")
    ap.add_argument("--asks", type=int, default=40, help="extractive / MockLLM asks")
    ap.add_argument("--local", action="store_true", help="also ask the local LLM (minutes)")
    ap.add_argument("--local-questions", type=int, default=5)
    ap.add_argument("--server", action="store_true", help="also measure ours against a `chroma run` server")
    ap.add_argument("--quick", action="store_true", help="1 run, 40 queries, 8 asks")
    ap.add_argument("--out", default=str(RESULTS), help="folder for bench.json / bench.md")
    args = ap.parse_args(argv)
    if args.quick:
        args.runs, args.queries, args.asks = 1, min(args.queries, 40), min(args.asks, 8)
    return suite(args)


if __name__ == "__main__":
    raise SystemExit(main())
