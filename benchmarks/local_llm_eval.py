"""Measure the local LLM backend (Qwen2.5-Coder-1.5B through llama.cpp) through the public API.

    .venv/bin/python benchmarks/local_llm_eval.py [--persist DIR] [--budgets 300,700,1500]

For each question of benchmarks/questions_local.jsonl (written from seeds/, with whether
the documents answer it) it calls Index.stream(..., generator="local") and records the
first-token and total latency, the context size, the share of answer sentences with a
verified citation, markers that pointed nowhere, and refusals. A second pass runs a few
answerable questions at several context budgets (Settings.context_tokens) to show how
first-token latency depends on it. Writes benchmarks/results/local_llm.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from rag import REFUSAL, Answer, BackendError, Index, IndexNotFoundError, Settings, Turn
from rag import prompts
from rag.citations import parse_claims
from rag.text import count_tokens

HERE = Path(__file__).resolve().parent
QUESTIONS = HERE / "questions_local.jsonl"
RESULTS = HERE / "results" / "local_llm.json"
WARMUP = "Which organisation published the essay on Azerbaijan's anti-Western positioning?"


def load_questions(path: Path) -> list[dict[str, Any]]:
    """The benchmark questions, in file order."""
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def open_index(settings: Settings) -> Index:
    """Open the index, building it first when it does not exist."""
    try:
        return Index.open(settings)
    except IndexNotFoundError:
        print(f"building the index of {settings.docs_path} in {settings.persist_path} ...", file=sys.stderr)
        return Index.build(settings)


def run_one(index: Index, question: str, history: Sequence[Turn] = ()) -> dict[str, Any]:
    """Ask one question through Index.stream; everything measured about the answer."""
    started = time.perf_counter()
    first: float | None = None
    raw: list[str] = []
    answer: Answer | None = None
    try:
        for item in index.stream(question, history=history, generator="local"):
            if isinstance(item, Answer):
                answer = item
            else:
                if first is None:
                    first = time.perf_counter() - started
                raw.append(item)
    except BackendError as exc:
        return {"question": question, "error": str(exc), "total_s": time.perf_counter() - started}
    total = time.perf_counter() - started
    assert answer is not None
    raw_text = "".join(raw)
    model_called = "first_token" in answer.timings
    context = prompts.build_context(answer.passages, index.settings.local_context_tokens)
    messages = prompts.answer_messages(answer.standalone_question or answer.question, context, REFUSAL,
                                       index.settings.max_answer_sentences)
    claims = [c for c in parse_claims(answer.text)] if not answer.refused else []
    raw_markers = sum(len(set(c.markers)) for c in parse_claims(raw_text)) if model_called else 0
    return {
        "question": question,
        "standalone_question": answer.standalone_question,
        "text": answer.text,
        "raw": raw_text,
        "refused": answer.refused,
        "refused_before_model": answer.refused and not model_called,
        "notice": answer.notice,
        "first_token_s": first if model_called else None,
        "model_first_token_s": answer.timings.get("first_token"),
        "total_s": total,
        "timings": answer.timings,
        "context_tokens": context.tokens if model_called else None,
        "prompt_tokens": sum(count_tokens(m["content"]) for m in messages) if model_called else None,
        "sources_shown": context.shown if model_called else None,
        "sentences": len(claims),
        "cited_sentences": sum(1 for c in claims if c.markers),
        "unsupported": answer.unsupported,
        "markers": raw_markers,
        "dropped_markers": answer.dropped_markers,
        "loadavg_1m": os.getloadavg()[0],  # other processes competing for the 2 cores
        "citations": [{"marker": c.marker, "file": c.file, "start": c.start, "end": c.end,
                       "quote": c.quote} for c in answer.citations],
    }


def pct(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile, None for no values."""
    return float(np.percentile(values, q)) if values else None


def share(num: int, den: int) -> float | None:
    """num/den, None when den is 0."""
    return num / den if den else None


def summarise(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The headline numbers over the per-question rows."""
    ok = [r for r in rows if "error" not in r]
    called = [r for r in ok if r["first_token_s"] is not None]
    answered = [r for r in ok if not r["refused"]]
    ans_q = [r for r in ok if r["answerable"]]
    unans_q = [r for r in ok if not r["answerable"]]
    sentences = sum(r["sentences"] for r in answered)
    markers = sum(r["markers"] for r in called)
    return {
        "questions": len(rows),
        "errors": len(rows) - len(ok),
        "model_called": len(called),
        "first_token_p50_s": pct([r["first_token_s"] for r in called], 50),
        "first_token_p95_s": pct([r["first_token_s"] for r in called], 95),
        "total_p50_s": pct([r["total_s"] for r in called], 50),
        "total_p95_s": pct([r["total_s"] for r in called], 95),
        "context_tokens_mean": float(np.mean([r["context_tokens"] for r in called])) if called else None,
        "prompt_tokens_mean": float(np.mean([r["prompt_tokens"] for r in called])) if called else None,
        "answer_sentences": sentences,
        "cited_sentence_share": share(sum(r["cited_sentences"] for r in answered), sentences),
        "supported_sentence_share": share(sentences - sum(len(r["unsupported"]) for r in answered), sentences),
        "markers": markers,
        "dropped_marker_share": share(sum(r["dropped_markers"] for r in called), markers),
        "refused_unanswerable": share(sum(r["refused"] for r in unans_q), len(unans_q)),
        "refused_unanswerable_before_model": share(sum(r["refused_before_model"] for r in unans_q), len(unans_q)),
        "refused_answerable": share(sum(r["refused"] for r in ans_q), len(ans_q)),
        "correct_answerable": share(sum(bool(r.get("correct")) for r in ans_q), len(ans_q)),
    }


def fmt(v: Any, unit: str = "") -> str:
    """A number for the table."""
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.0%}" if unit == "%" else f"{v:.1f}{unit}"
    return f"{v}{unit}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and write the results file."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--docs", default="seeds")
    ap.add_argument("--persist", default=".rag", help="index folder (built if missing)")
    ap.add_argument("--questions", type=Path, default=QUESTIONS)
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--limit", type=int, default=0, help="only the first N questions")
    ap.add_argument("--budgets", default="400,1000,1500", help="context budgets for the latency sweep ('' = none)")
    ap.add_argument("--sweep-questions", type=int, default=4)
    ap.add_argument("--sweep-only", action="store_true",
                    help="only the budget sweep; keeps the per-question rows of the existing results file")
    args = ap.parse_args(argv)

    settings = Settings.from_env(docs_dir=args.docs, persist_dir=args.persist, generator="local",
                                 fallback_to_extractive=False)
    index = open_index(settings)
    items = load_questions(args.questions)
    if args.limit:
        items = items[: args.limit]

    load_before = os.getloadavg()
    t = time.perf_counter()
    warm = run_one(index, WARMUP)  # loads the model (and assembles the GGUF on first use)
    load_s = time.perf_counter() - t
    print(f"warm-up (model load + one answer): {load_s:.1f} s", file=sys.stderr)
    if "error" in warm:
        print(f"error: {warm['error']}", file=sys.stderr)
        return 1

    rows: list[dict[str, Any]] = []
    by_id: dict[str, dict[str, Any]] = {}
    previous = json.loads(args.out.read_text(encoding="utf-8")) if args.sweep_only else None
    for n, item in enumerate([] if previous else items, 1):
        history: list[Turn] = []
        if item.get("follows"):
            prev = by_id.get(item["follows"])
            if prev is not None and "error" not in prev:
                history = [Turn(prev["question"], prev["text"])]
        row = run_one(index, item["question"], history)
        row.update(id=item["id"], answerable=item["answerable"], follows=item.get("follows"))
        text = row.get("text", "").lower()
        row["correct"] = bool(item["answerable"] and not row.get("refused", True)
                              and any(e.lower() in text for e in item.get("expect_any", [])))
        rows.append(row)
        by_id[item["id"]] = row
        print(f"[{n}/{len(items)}] {item['id']} first={fmt(row.get('first_token_s'), 's')} "
              f"total={fmt(row.get('total_s'), 's')} refused={row.get('refused')} "
              f"correct={row['correct']} {row.get('error', '')}", file=sys.stderr)

    sweep: list[dict[str, Any]] = []
    budgets = [int(b) for b in args.budgets.split(",") if b.strip()]
    sweep_items = [i for i in items if i["answerable"] and not i.get("follows")][: args.sweep_questions]
    for budget in budgets:
        # llama.cpp's prompt cache would serve a budget's prompt from the prefix of an earlier,
        # longer one (sources come first): off, so every first token reads the whole prompt
        sub = Index.open(settings.replace(local_context_tokens=budget, local_prompt_cache=False))
        for item in sweep_items:
            row = run_one(sub, item["question"])
            sweep.append({"budget": budget, "id": item["id"], "first_token_s": row.get("first_token_s"),
                          "total_s": row.get("total_s"), "context_tokens": row.get("context_tokens"),
                          "prompt_tokens": row.get("prompt_tokens"), "sources_shown": row.get("sources_shown"),
                          "refused": row.get("refused"), "error": row.get("error")})
            print(f"budget {budget} {item['id']}: first={fmt(row.get('first_token_s'), 's')} "
                  f"context={row.get('context_tokens')}", file=sys.stderr)

    if previous:
        rows = previous["rows"]
    summary = summarise(rows)
    by_budget = []
    for budget in budgets:
        got = [s for s in sweep if s["budget"] == budget and s["first_token_s"] is not None]
        by_budget.append({
            "budget": budget,
            "context_tokens_mean": float(np.mean([s["context_tokens"] for s in got])) if got else None,
            "prompt_tokens_mean": float(np.mean([s["prompt_tokens"] for s in got])) if got else None,
            "first_token_p50_s": pct([s["first_token_s"] for s in got], 50),
            "first_token_mean_s": float(np.mean([s["first_token_s"] for s in got])) if got else None,
        })
    result = {
        "model": "Qwen2.5-Coder-1.5B-Instruct Q4_K_M (llama.cpp via xllamacpp)",
        # other work on the machine slows the model down: the load average says how much
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                    "loadavg_before": load_before, "loadavg_after": os.getloadavg()},
        "settings": {k: v for k, v in settings.redacted().items()
                     if k in {"top_k", "local_context_tokens", "max_new_tokens", "local_ctx", "local_threads",
                              "refusal_threshold", "max_answer_sentences"}},
        "machine_during_questions": previous.get("machine_during_questions", previous["machine"]) if previous else None,
        "warmup_s": previous["warmup_s"] if previous else load_s,
        "prompt_cache": {"questions": "on (llama.cpp default: a repeated prefix is not read again)",
                         "budget sweep": "off (cache_prompt=false)"},
        "summary": summary,
        "latency_by_budget": by_budget,
        "rows": rows,
        "sweep": sweep,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    s = summary
    print(f"\nlocal LLM benchmark: {s['questions']} questions ({s['errors']} errors), "
          f"model called for {s['model_called']}; results in {args.out}")
    table = [
        ("first-token latency p50 / p95", f"{fmt(s['first_token_p50_s'], ' s')} / {fmt(s['first_token_p95_s'], ' s')}"),
        ("total latency p50 / p95", f"{fmt(s['total_p50_s'], ' s')} / {fmt(s['total_p95_s'], ' s')}"),
        ("context tokens (mean); whole prompt", f"{fmt(s['context_tokens_mean'])}; {fmt(s['prompt_tokens_mean'])}"),
        ("answer sentences with a verified citation", fmt(s["cited_sentence_share"], "%")),
        ("answer sentences not flagged unsupported", fmt(s["supported_sentence_share"], "%")),
        ("markers that pointed nowhere", f"{fmt(s['dropped_marker_share'], '%')} of {s['markers']}"),
        ("refused, documents do not answer", fmt(s["refused_unanswerable"], "%")),
        ("  of which before calling the model", fmt(s["refused_unanswerable_before_model"], "%")),
        ("refused, documents answer", fmt(s["refused_answerable"], "%")),
        ("answerable: answered with the expected fact", fmt(s["correct_answerable"], "%")),
    ]
    width = max(len(k) for k, _ in table)
    for k, v in table:
        print(f"  {k:<{width}}  {v}")
    if by_budget:
        print("\n  context budget -> first-token latency (answerable questions)")
        print(f"  {'budget':>7} {'context':>8} {'prompt':>7} {'first p50':>10}")
        for b in by_budget:
            print(f"  {b['budget']:>7} {fmt(b['context_tokens_mean']):>8} {fmt(b['prompt_tokens_mean']):>7} "
                  f"{fmt(b['first_token_p50_s'], ' s'):>10}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
