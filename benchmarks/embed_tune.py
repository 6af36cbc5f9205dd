"""The embedding model alone: raw throughput at our chunk size, and the onnxruntime settings sweep.

    .venv/bin/python -m benchmarks.embed_tune [--sample 64] [--rounds 2]

Every configuration (intra-op threads 1 or 2, busy-wait spinning on or off, batch 8/16/32/64)
embeds the same sample of real seed chunks (length-sorted batches, as in indexing); rounds are
interleaved so that a burst of load on the shared machine hits every configuration alike. Also
measures single-question latency per thread setting (what retrieval pays). Writes
benchmarks/results/embed_tune.json.
"""

from __future__ import annotations

import argparse
import itertools
import time
from typing import Any, Sequence

import numpy as np

from .common import RESULTS, SEEDS, cpu_seconds, log, machine, median, percentiles, questions, write_json


def seed_chunk_texts() -> list[str]:
    """What indexing the seeds hands the embedder: embed_text of every chunk."""
    from rag import Settings
    from rag.chunking import chunk_document, embed_text
    from rag.documents import load_folder

    s = Settings(docs_dir=str(SEEDS))
    docs, _ = load_folder(s.docs_path, s.max_file_bytes)
    return [embed_text(c) for d in docs for c in chunk_document(d, s.chunk_tokens, s.chunk_overlap)]


def raw_throughput(embedder: Any, texts: Sequence[str]) -> dict[str, float]:
    """Embed texts once (uncached) and time it: the floor any indexing of them can reach."""
    if hasattr(embedder, "cache_clear"):
        embedder.cache_clear()
    c0, t0 = cpu_seconds(), time.perf_counter()
    embedder.embed(list(texts))
    wall, cpu = time.perf_counter() - t0, cpu_seconds() - c0
    return {"passages": len(texts), "seconds": round(wall, 3), "passages_per_s": round(len(texts) / wall, 2),
            "cpu_seconds": round(cpu, 3)}


def sweep(texts: Sequence[str], rounds: int, batches: Sequence[int] = (8, 16, 32, 64)) -> list[dict[str, Any]]:
    """Passages/s of each (threads, spinning, batch) on the same texts, rounds interleaved."""
    from rag.embedding import MiniLMEmbedder

    sessions = {(1, False): MiniLMEmbedder(threads=1), (2, False): MiniLMEmbedder(threads=2),
                (2, True): MiniLMEmbedder(threads=2, spinning=True)}
    configs = list(itertools.product(sessions, batches))
    walls: dict[tuple[Any, int], list[float]] = {c: [] for c in configs}
    cpus: dict[tuple[Any, int], list[float]] = {c: [] for c in configs}
    qs = questions(40)
    qlat: dict[Any, list[float]] = {k: [] for k in sessions}
    for emb in sessions.values():
        emb.embed(list(texts[:4]))  # warm-up
    for r in range(rounds):
        order = configs if r % 2 == 0 else configs[::-1]
        for (key, batch) in order:
            emb = sessions[key]
            emb.batch_size = batch
            got = raw_throughput(emb, texts)
            walls[(key, batch)].append(got["seconds"])
            cpus[(key, batch)].append(got["cpu_seconds"])
            log(f"  threads={key[0]} spinning={key[1]} batch={batch}: {got['passages_per_s']} passages/s")
        for key, emb in sessions.items():
            emb.cache_clear()
            for q in qs:
                t = time.perf_counter()
                emb.embed([q])
                qlat[key].append(time.perf_counter() - t)
    rows = []
    for (key, batch) in configs:
        wall = median(walls[(key, batch)])
        rows.append({
            "threads": key[0], "spinning": key[1], "batch": batch,
            "passages_per_s": round(len(texts) / wall, 2),
            "cpu_ms_per_passage": round(median(cpus[(key, batch)]) / len(texts) * 1e3, 1),
            "runs_s": [round(x, 2) for x in walls[(key, batch)]],
            "question_latency": percentiles(qlat[key]),
        })
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    """Run the sweep, print it, write results/embed_tune.json."""
    ap = argparse.ArgumentParser(prog="rag bench embed", description=__doc__.splitlines()[0])
    ap.add_argument("--sample", type=int, default=64, help="seed chunks per measurement")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args(argv)
    texts = seed_chunk_texts()
    rng = np.random.default_rng(0)
    sample = [texts[i] for i in sorted(rng.choice(len(texts), min(args.sample, len(texts)), replace=False))]
    log(f"sweep over {len(sample)} of {len(texts)} seed chunks, {args.rounds} rounds")
    rows = sweep(sample, args.rounds)
    best = max(rows, key=lambda r: r["passages_per_s"])
    cheapest = min(rows, key=lambda r: r["cpu_ms_per_passage"])
    print(f"{'threads':>7} {'spin':>5} {'batch':>5} {'passages/s':>10} {'cpu ms/p':>8} {'q p50 ms':>8}")
    for r in rows:
        print(f"{r['threads']:>7} {str(r['spinning']):>5} {r['batch']:>5} {r['passages_per_s']:>10} "
              f"{r['cpu_ms_per_passage']:>8} {r['question_latency'].get('p50_ms', 0):>8}")
    print(f"fastest by wall clock: threads={best['threads']} spinning={best['spinning']} batch={best['batch']}; "
          f"least CPU per passage (steadier on a shared machine): threads={cheapest['threads']} "
          f"spinning={cheapest['spinning']} batch={cheapest['batch']}")
    write_json(RESULTS / "embed_tune.json", {"machine": machine(), "sample": len(sample), "rows": rows,
                                             "fastest": best, "least_cpu": cheapest})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
