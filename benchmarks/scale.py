"""Scale: how disk size, build, open time, query latency and memory grow from 1k to 10k to 100k chunks.

    rag bench scale [--sizes 1000,10000,100000] [--queries 200] [--keep]

How the large corpus is made (embedding 100k chunks with the model would take ~2 h here):
  * text: the real sentences of seeds/ recombined at random (fixed seed) into new documents,
    written once to benchmarks/.cache/scale/corpus/ (git-ignored); sizes are nested prefixes;
  * vectors: every distinct seed sentence is embedded for real by MiniLM (cached); a chunk's
    vector is the normalised mean of its sentences' vectors. A slice of chunks is also embedded
    for real and the cosine between the two is reported, so the approximation is on record;
  * indexing is the real Index.build (read, clean, chunk, bulk Chroma writes, commit, open) with
    an Embedder that composes those vectors; the index carries MiniLM's name and dimension, so
    queries open it with the real model and embed every question for real.
Each size is built, re-indexed unchanged, and queried in fresh processes (peak RSS per process).
Writes benchmarks/results/growth.json, growth.md and growth.png.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .common import (
    CACHE, RESULTS, ROOT, SEEDS, cpu_seconds, dir_size_mb, log, machine, markdown_table, peak_rss_mb,
    percentiles, questions, rss_mb, write_json,
)

HERE = CACHE / "scale"
CORPUS = HERE / "corpus"
SENTENCES = HERE / "sentences.npz"
MANIFEST = HERE / "corpus.json"
CORPUS_VERSION = 1


# ---- the corpus ------------------------------------------------------------------------
def seed_sentences() -> tuple[list[str], list[str]]:
    """(distinct sentences of the seeds, document titles), in file order."""
    from rag import Settings
    from rag.documents import load_folder
    from rag.text import sentence_spans

    docs, _ = load_folder(Settings(docs_dir=str(SEEDS)).docs_path)
    sents = [d.clean[a:b] for d in docs for a, b in sentence_spans(d.clean)]
    pool = list(dict.fromkeys(s for s in sents if len(s) >= 20))
    return pool, [d.title for d in docs]


def sentence_vectors(pool: list[str]) -> dict[str, np.ndarray]:
    """Real MiniLM vectors of every pool sentence (cached in benchmarks/.cache)."""
    key = hashlib.sha256("\n".join(pool).encode()).hexdigest()
    if SENTENCES.exists():
        got = np.load(SENTENCES, allow_pickle=False)
        if str(got["key"]) == key:
            return dict(zip(pool, got["vectors"]))
    from rag import Settings
    from rag.embedding import get_embedder

    log(f"embedding {len(pool)} seed sentences for real (once; cached in {SENTENCES}) ...")
    t = time.perf_counter()
    vecs = get_embedder(Settings()).embed(pool)
    log(f"  {time.perf_counter() - t:.0f} s")
    HERE.mkdir(parents=True, exist_ok=True)
    np.savez(SENTENCES, key=key, vectors=vecs)
    return dict(zip(pool, vecs))


def make_corpus(target_chunks: int) -> list[dict[str, Any]]:
    """Write recombined documents until they hold target_chunks chunks; [{file, chunks}] in order."""
    from rag import Settings
    from rag.chunking import chunk_document
    from rag.documents import read_document

    if MANIFEST.exists():
        got = json.loads(MANIFEST.read_text())
        if got["version"] == CORPUS_VERSION and sum(d["chunks"] for d in got["docs"]) >= target_chunks:
            return list(got["docs"])
    pool, titles = seed_sentences()
    s = Settings()
    rng = random.Random(20240601)
    shutil.rmtree(CORPUS, ignore_errors=True)
    CORPUS.mkdir(parents=True)
    docs: list[dict[str, Any]] = []
    total = 0
    log(f"writing a recombined corpus of >= {target_chunks:,} chunks to {CORPUS} (once) ...")
    while total < target_chunks:
        i = len(docs)
        paras = []
        for _ in range(rng.randint(12, 30)):
            paras.append(" ".join(rng.choice(pool) for _ in range(rng.randint(3, 7))))
        title = f"{rng.choice(titles)} (recombined brief {i})"
        path = CORPUS / f"doc_{i:06d}.txt"
        path.write_text(title + "\n\n" + "\n\n".join(paras) + "\n", encoding="utf-8")
        n = len(chunk_document(read_document(path, CORPUS), s.chunk_tokens, s.chunk_overlap))
        docs.append({"file": path.name, "chunks": n})
        total += n
        if i % 500 == 0:
            log(f"  {i} documents, {total:,} chunks")
    MANIFEST.write_text(json.dumps({"version": CORPUS_VERSION, "docs": docs}))
    return docs


def size_folder(docs: list[dict[str, Any]], n: int) -> tuple[Path, int, int]:
    """A folder with the first documents holding >= n chunks (hard links); (folder, files, chunks)."""
    folder = HERE / f"docs_{n}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    total = 0
    files = 0
    for d in docs:
        if total >= n:
            break
        os.link(CORPUS / d["file"], folder / d["file"])
        total += d["chunks"]
        files += 1
    return folder, files, total


class ComposedEmbedder:
    """MiniLM's name and dimension; a text's vector is the normalised mean of the real vectors of
    its seed sentences (real model calls only for texts with none)."""

    def __init__(self, vectors: dict[str, np.ndarray]) -> None:
        from rag.embedding import MiniLMEmbedder

        self.vectors = vectors
        self.name, self.dim = MiniLMEmbedder.name, MiniLMEmbedder.dim
        self.matched = 0
        self.sentences = 0
        self.fallback = 0

    def embed(self, texts: Sequence[str], progress: Any = None) -> np.ndarray:
        from rag.text import sentence_spans

        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        missing = []
        for i, text in enumerate(texts):
            spans = sentence_spans(text)
            hits = [self.vectors[v] for a, b in spans if (v := text[a:b]) in self.vectors]
            self.sentences += len(spans)
            self.matched += len(hits)
            if hits:
                m = np.mean(hits, axis=0)
                out[i] = m / max(float(np.linalg.norm(m)), 1e-12)
            else:
                missing.append(i)
        if missing:
            from rag import Settings
            from rag.embedding import get_embedder

            self.fallback += len(missing)
            out[missing] = get_embedder(Settings()).embed([texts[i] for i in missing])
        if progress is not None:
            progress(len(texts))
        return out


# ---- workers (fresh processes) -------------------------------------------------------------
def worker_build(job: dict[str, Any]) -> dict[str, Any]:
    """Index.build of one size with composed vectors; then the same build again (unchanged)."""
    from rag import Index, Settings
    from rag import index as index_module

    pool, _ = seed_sentences()
    emb = ComposedEmbedder(sentence_vectors(pool))
    setattr(index_module, "get_embedder", lambda settings: emb)  # the build's only model
    settings = Settings(docs_dir=job["docs"], persist_dir=job["persist"])
    c = cpu_seconds()
    built = Index.build(settings)
    cpu = cpu_seconds() - c
    assert built.report is not None
    unchanged = Index.build(settings).report
    assert unchanged is not None and unchanged.embedded == 0
    update = Index.update(settings)  # what `rag index` runs: no open afterwards
    assert update.embedded == 0
    out = {
        "chunks": built.report.chunks, "files": built.report.files,
        "build": {k: round(v, 2) for k, v in built.report.seconds.items()}, "build_cpu_s": round(cpu, 1),
        "unchanged": {k: round(v, 2) for k, v in unchanged.seconds.items()},
        "unchanged_update": {k: round(v, 2) for k, v in update.seconds.items()},
        "disk_mb": dir_size_mb(Path(job["persist"])),
        "composed_sentence_coverage": round(emb.matched / max(emb.sentences, 1), 3),
        "fallback_real_embeddings": emb.fallback, "peak_rss_mb": peak_rss_mb(),
    }
    if job.get("check"):
        from rag.chunking import embed_text
        from rag.embedding import get_embedder

        rng = random.Random(7)
        sample = rng.sample(built.chunks, min(job["check"], len(built.chunks)))
        texts = [embed_text(c) for c in sample]
        real = get_embedder(settings).embed(texts)
        composed = ComposedEmbedder(emb.vectors).embed(texts)
        cos = np.sum(real * composed, axis=1)
        out["composed_vs_real_cosine"] = {"n": len(texts), "mean": round(float(cos.mean()), 3),
                                          "p5": round(float(np.percentile(cos, 5)), 3)}
    return out


def worker_query(job: dict[str, Any]) -> dict[str, Any]:
    """Open with the real model and time retrieval: hybrid, filtered, each side alone, numpy dense."""
    from rag import Index, Settings
    from rag.embedding import get_embedder
    from rag.question import subqueries
    settings = Settings(docs_dir=job["docs"], persist_dir=job["persist"])
    emb: Any = get_embedder(settings)
    rss0 = rss_mb()
    t = time.perf_counter()
    index = Index.open(settings)
    open_s = time.perf_counter() - t
    rss_open = rss_mb()
    qs = questions(job["queries"])
    index.retrieve(qs[0])
    hybrid, cpu, single = [], [], []
    for q in qs:
        emb.cache_clear()
        c, t = cpu_seconds(), time.perf_counter()
        index.retrieve(q)
        hybrid.append(time.perf_counter() - t)
        cpu.append(cpu_seconds() - c)
        if not subqueries(q):
            single.append(hybrid[-1])
    one_file = [index.files[len(index.files) // 2]]
    filtered = []
    for q in qs[:50]:
        emb.cache_clear()
        t = time.perf_counter()
        index.retrieve(q, files=one_file)
        filtered.append(time.perf_counter() - t)
    qvecs = emb.embed(qs)
    chroma, bm25 = [], []
    for q, v in zip(qs, qvecs):
        t = time.perf_counter()
        index.store.query(v, settings.candidate_k)
        chroma.append(time.perf_counter() - t)
        t = time.perf_counter()
        index.retriever.lexical(q, settings.candidate_k)
        bm25.append(time.perf_counter() - t)
    # the alternative design: every vector in memory, exact search with numpy
    t = time.perf_counter()
    ids, rows = [], []
    offset = 0
    while True:
        got = index.store.collection.get(include=["embeddings"], limit=5000, offset=offset)
        ids += got["ids"]
        rows.append(np.asarray(got["embeddings"], dtype=np.float32))
        if len(got["ids"]) < 5000:
            break
        offset += 5000
    matrix = np.vstack(rows)
    load_vectors_s = time.perf_counter() - t
    numpy_lat = []
    for v in qvecs:
        t = time.perf_counter()
        sims = matrix @ v
        top = np.argpartition(-sims, settings.candidate_k)[: settings.candidate_k]
        top = top[np.argsort(-sims[top])]
        numpy_lat.append(time.perf_counter() - t)
    return {
        "open_s": round(open_s, 2), "rss_after_open_mb": rss_open, "rss_before_open_mb": rss0,
        "retrieve": percentiles(hybrid), "retrieve_cpu": percentiles(cpu),
        "retrieve_single_part": percentiles(single), "retrieve_one_file": percentiles(filtered),
        "dense_chroma": percentiles(chroma), "bm25": percentiles(bm25),
        "dense_numpy": percentiles(numpy_lat), "numpy_load_vectors_s": round(load_vectors_s, 2),
        "numpy_matrix_mb": round(matrix.nbytes / 2**20, 1), "peak_rss_mb": peak_rss_mb(),
        "loadavg_1min": round(os.getloadavg()[0], 2),
    }


WORKERS = {"build": worker_build, "query": worker_query}


def run(name: str, job: dict[str, Any]) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.scale", "--worker", name, json.dumps(job)],
        cwd=ROOT, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    if proc.returncode != 0:
        raise RuntimeError(f"scale worker {name} failed:\n{proc.stderr[-4000:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


# ---- report ------------------------------------------------------------------------------
def table(results: list[dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    header = ["chunks", "files", "disk MB", "build s", "write s", "write chunks/s", "open s",
              "RSS after open MB", "peak RSS query MB", "unchanged re-index s", "unchanged rag index s", "retrieve p50 ms",
              "retrieve p95 ms", "single-part p95 ms", "one-file filter p95 ms", "Chroma dense p50 ms",
              "numpy dense p50 ms", "BM25 p50 ms", "load avg (1 min)"]
    rows = []
    for r in results:
        b, q = r["build"], r["query"]
        rows.append([
            b["chunks"], b["files"], b["disk_mb"], b["build"]["total"], b["build"]["write"],
            round(b["chunks"] / max(b["build"]["write"], 1e-9)), q["open_s"], q["rss_after_open_mb"],
            q["peak_rss_mb"], b["unchanged"]["total"], b.get("unchanged_update", {}).get("total", ""),
            q["retrieve"]["p50_ms"], q["retrieve"]["p95_ms"],
            q["retrieve_single_part"]["p95_ms"], q["retrieve_one_file"]["p95_ms"], q["dense_chroma"]["p50_ms"],
            q["dense_numpy"]["p50_ms"], q["bm25"]["p50_ms"], q.get("loadavg_1min", ""),
        ])
    return header, rows


def plot(results: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = [r["build"]["chunks"] for r in results]
    panels = [
        ("index on disk (MB)", [r["build"]["disk_mb"] for r in results], {}),
        ("open time (s)", [r["query"]["open_s"] for r in results], {}),
        ("retrieve latency (ms)", [r["query"]["retrieve"]["p95_ms"] for r in results],
         {"p50": [r["query"]["retrieve"]["p50_ms"] for r in results]}),
        ("memory (MB)", [r["query"]["rss_after_open_mb"] for r in results],
         {"peak, build": [r["build"]["peak_rss_mb"] for r in results]}),
    ]
    fig, axes = plt.subplots(2, 2, figsize=(10, 7))
    for ax, (title, ys, extra) in zip(axes.flat, panels):
        label = "p95" if "latency" in title else ("after open" if "memory" in title else title)
        ax.plot(n, ys, "o-", label=label)
        for name, other in extra.items():
            ax.plot(n, other, "s--", label=name)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("chunks")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
        for x, y in zip(n, ys):
            ax.annotate(f"{y:.3g}", (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
    if len(results):
        fig.suptitle("rag index growth (recombined seed text; 2 shared cores)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--worker"]:
        print(json.dumps(WORKERS[argv[1]](json.loads(argv[2]))))
        return 0
    ap = argparse.ArgumentParser(prog="rag bench scale", description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,10000,100000", help="chunk counts, comma-separated")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--check", type=int, default=200, help="chunks embedded for real to check the vectors")
    ap.add_argument("--keep", action="store_true", help="keep the built indexes in benchmarks/.cache/scale")
    ap.add_argument("--out", default=str(RESULTS))
    args = ap.parse_args(argv)
    sizes = sorted(int(x) for x in args.sizes.split(","))
    started = time.perf_counter()
    info = machine()
    pool, _ = seed_sentences()
    sentence_vectors(pool)
    docs = make_corpus(sizes[-1])
    results: list[dict[str, Any]] = []
    for n in sizes:
        folder, files, chunks = size_folder(docs, n)
        persist = HERE / f"index_{n}"
        shutil.rmtree(persist, ignore_errors=True)
        log(f"{n:,}: building {chunks:,} chunks from {files} files ...")
        job = {"docs": str(folder), "persist": str(persist), "check": args.check if n == sizes[0] else 0}
        b = run("build", job)
        log(f"  built in {b['build']['total']:.1f} s (write {b['build']['write']:.1f} s), "
            f"unchanged re-index {b['unchanged']['total']:.1f} s; querying ...")
        q = run("query", {**job, "queries": args.queries})
        log(f"  open {q['open_s']:.1f} s, retrieve p95 {q['retrieve']['p95_ms']:.1f} ms")
        results.append({"size": n, "build": b, "query": q})
        if not args.keep:
            shutil.rmtree(persist, ignore_errors=True)
    header, rows = table(results)
    md = markdown_table(header, rows)
    print(md)
    check: Any = results[0]["build"].get("composed_vs_real_cosine")
    note = (f"Composed vs real chunk vectors (cosine, {check['n']} chunks): mean {check['mean']}, "
            f"5th percentile {check['p5']}." if check else "")
    out = Path(args.out)
    plot(results, out / "growth.png")
    write_json(out / "growth.json", {"machine": {**info, "loadavg_end": list(os.getloadavg())},
                                     "results": results, "seconds": round(time.perf_counter() - started)})
    (out / "growth.md").write_text(f"# Growth\n\n{md}\n\n{note}\n\n{__doc__}\n\nMachine: {info}\n", encoding="utf-8")
    print(note)
    log(f"wrote {out / 'growth.json'}, growth.md and growth.png in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
