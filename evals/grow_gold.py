#!/usr/bin/env python3
"""Add newly written items to the gold set's dev split, dropping near-duplicates.

    python -m evals.grow_gold NEW.jsonl [--gold evals/gold.jsonl] [--write]

A new item is dropped when its question is near an existing one (packaged MiniLM cosine above
``--max-cosine``, 0.8) or when every one of its evidence quotes overlaps an existing item's
evidence span (the same facts asked again). Existing items of both splits are compared, but only
ids are printed, so the test split stays unread. Kept items get the next free ``g`` ids and
``split: dev``; with ``--write`` they are appended to the gold file, which is then checked.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from evals.check_gold import DEFAULT_GOLD, DEFAULT_SEEDS, _read_seeds, check_gold, load_gold, locate
from evals.metrics import Span, overlap
from rag.config import Settings
from rag.embedding import get_embedder

MAX_COSINE = 0.8


UNANSWERED = "Not answered in the documents."


def _spans(item: dict[str, Any], seeds: dict[str, str]) -> list[Span]:
    return [Span(ev["file"], *locate(ev["quote"], seeds[ev["file"]])) for ev in item["evidence"]]


def select(new: list[dict[str, Any]], old: list[dict[str, Any]], seeds: dict[str, str],
           max_cosine: float = MAX_COSINE) -> tuple[list[dict[str, Any]], list[str]]:
    """The new items to keep, and one line per dropped item saying why (ids only)."""
    embedder = get_embedder(Settings())
    old_vecs = embedder.embed([o["question"] for o in old])
    new_vecs = embedder.embed([n["question"] for n in new])
    old_spans = [s for o in old for s in _spans(o, seeds)]
    kept: list[dict[str, Any]] = []
    kept_vecs: list[np.ndarray] = []
    dropped: list[str] = []
    for n, (item, vec) in enumerate(zip(new, new_vecs), start=1):
        name = item.get("id") or f"new item {n}"  # a writer's items may come without ids
        sims = old_vecs @ vec
        near = int(np.argmax(sims)) if len(sims) else -1
        if near >= 0 and sims[near] > max_cosine:
            dropped.append(f"{name}: question near {old[near]['id']} (cosine {sims[near]:.2f})")
            continue
        if kept_vecs and max(float(v @ vec) for v in kept_vecs) > max_cosine:
            dropped.append(f"{name}: question near another new item")
            continue
        spans = _spans(item, seeds)
        if spans and all(any(overlap(s, o) for o in old_spans) for s in spans):
            dropped.append(f"{name}: every quote overlaps existing evidence")
            continue
        kept.append(item)
        kept_vecs.append(vec)
    return kept, dropped


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("new", type=Path)
    ap.add_argument("--gold", type=Path, default=DEFAULT_GOLD)
    ap.add_argument("--seeds", type=Path, default=DEFAULT_SEEDS)
    ap.add_argument("--max-cosine", type=float, default=MAX_COSINE)
    ap.add_argument("--write", action="store_true", help="append the kept items to the gold file")
    args = ap.parse_args(argv)
    seeds = _read_seeds(args.seeds)
    old = load_gold(args.gold)
    new = load_gold(args.new)
    kept, dropped = select(new, old, seeds, args.max_cosine)
    last = max(int(o["id"].lstrip("g")) for o in old if o["id"].lstrip("g").isdigit())
    kept = [{"id": f"g{n:03d}", **{k: v for k, v in item.items() if k not in ("id", "split")}, "split": "dev"}
            for n, item in enumerate(kept, start=last + 1)]  # the gold file's key order: id first
    for item in kept:  # an unanswerable item's gold answer says so, as the file's others do
        if item.get("type") == "unanswerable" and not item.get("answer"):
            item["answer"] = UNANSWERED
    print("\n".join(f"dropped {d}" for d in dropped))
    print(f"kept {len(kept)} of {len(new)}: {dict(Counter(item['type'] for item in kept))}")
    if args.write and kept:
        with args.gold.open("a", encoding="utf-8") as fh:
            for item in kept:
                fh.write(json.dumps(item, ensure_ascii=False) + "\n")
        problems = check_gold(args.gold, args.seeds)
        print("\n".join(problems) or f"{args.gold}: OK")
        return 1 if problems else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
