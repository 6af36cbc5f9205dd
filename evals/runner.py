"""The eval runner: gold items -> per-item results of every config (and the baseline) -> figures.

Our pipeline is evaluated through its public API only (Index.build, index.retrieve,
index.ask). The dense/bm25 ablation alone calls the internal `index.retriever.retrieve(...,
mode=...)`, which the public API does not expose. Retrieval runs separately at every k
(the top 2 of a top-5 list need not be the top-2 list: hybrid retrieval may merge neighbours).
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from evals import metrics as M
from evals.check_gold import load_gold, locate_loose
from rag import Answer, Index, Settings
from rag.citations import parse_claims
from rag.documents import iter_files, read_document
from rag.errors import ConfigError, DocumentError, RagError
from rag.retrieval import Mode

log = logging.getLogger(__name__)

MODES: tuple[Mode, ...] = ("hybrid", "dense", "bm25")
BASE_KS = (2, 5)
STAGES = ("retrieve", "evidence", "first_token", "generate", "cite", "total")
Record = dict[str, Any]
Tick = Callable[[], None]
BuildProgress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Config:
    """A named variant of the pipeline's settings."""

    name: str
    settings: Settings

    @property
    def ks(self) -> tuple[int, ...]:
        """The cut-offs retrieval is scored at: 2, 5 and the config's top_k."""
        return tuple(sorted({*BASE_KS, self.settings.top_k}))


class RawFiles:
    """Original file texts of the docs folder, as offsets index them (UTF-8, no newline translation)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._cache: dict[str, str | None] = {}

    def get(self, file: str) -> str | None:
        """The raw text of a file, or None when it cannot be read."""
        if file not in self._cache:
            path = self.root / file
            try:
                if path.suffix.lower() in (".txt", ".md"):
                    self._cache[file] = path.read_bytes().decode("utf-8")
                else:  # PDF/HTML: the text the pipeline extracts is what offsets index
                    self._cache[file] = read_document(path, self.root).raw
            except (OSError, UnicodeDecodeError, DocumentError) as exc:
                log.warning("cannot read %s: %s", path, exc)
                self._cache[file] = None
        return self._cache[file]

    def resolve(self, file: str) -> str | None:
        """The docs-relative name a gold file refers to, or None when no file of the folder fits.

        A gold set written elsewhere may name files as the seeds folder lists them ("000_x.txt"),
        with the folder in front ("seeds/000_x.txt", "./seeds/000_x.txt"), as an absolute path
        inside the folder, or by a bare name unique in the folder (a file in a subfolder);
        every one of these means the same file."""
        path = Path(file)
        if not path.is_absolute() and (self.root / file).is_file():
            return file
        if path.is_absolute():
            try:
                rel = path.resolve().relative_to(self.root.resolve())
            except ValueError:
                return None
            return rel.as_posix() if (self.root / rel).is_file() else None
        parts = [p for p in path.parts if p not in (".", "")]
        for n in range(1, len(parts)):  # "seeds/000_x.txt": drop leading folders until one fits
            tail = Path(*parts[n:])
            if (self.root / tail).is_file():
                return tail.as_posix()
        named = [p for p in iter_files(self.root) if p.name == path.name]
        return named[0].relative_to(self.root).as_posix() if len(named) == 1 else None

    def all(self) -> dict[str, str]:
        """Every supported file of the folder."""
        files = (p.relative_to(self.root).as_posix() for p in iter_files(self.root))
        return {f: raw for f in files if (raw := self.get(f)) is not None}


def load_items(gold: Path, split: str | None, limit: int | None = None) -> list[Record]:
    """Gold items of a split ("dev", "test", any other name a file uses, or "all"), in file
    order, at most `limit`.

    No split given (None): the "dev" items, or every item when the file has none marked "dev"
    (a held-out set is one split, with or without a "split" field). A split the file does not
    have is a ConfigError naming the ones it has. An item without a "type" is typed
    "unanswerable" when it has no evidence, else "untyped"."""
    try:
        raw = load_gold(gold)
    except ValueError as exc:  # a line that is not a JSON object: its number and the parser's reason
        raise ConfigError(f"{exc}; expected one JSON object per line (see evals/README.md)") from exc
    for n, item in enumerate(raw, 1):
        missing = [k for k in ("question", "evidence") if k not in item]
        if missing:
            raise ConfigError(
                f"{gold}: item {item.get('id', n)} has no {' or '.join(missing)}: expected JSON lines with "
                "id, question, answer, type, evidence=[{file, quote}] (see evals/README.md)"
            )
    split = resolve_split(raw, split, gold)
    items = [{"id": f"item{n}", "answer": "", **i,
              "type": i.get("type") or ("untyped" if i["evidence"] else "unanswerable")}
             for n, i in enumerate(raw, 1) if split == "all" or i.get("split") == split]
    return items[:limit] if limit else items


def resolve_split(raw: Sequence[Record], split: str | None, gold: Path | str = "gold file") -> str:
    """The split `load_items` runs: `split` itself, "all" for a file whose items carry no split,
    and for None "dev", or "all" when the file has no dev items (a held-out set). A split the
    file does not have is a ConfigError naming those it has."""
    have = sorted({str(i["split"]) for i in raw if "split" in i})
    if split == "all" or (split is None and "dev" not in have) or not have:
        if split != "all":
            log.info("%s has no %s split: evaluating all %d items", gold, split or "dev", len(raw))
        return "all"
    if split is None:
        return "dev"
    if split not in have:
        raise ConfigError(f"{gold} has no {split!r} items: its splits are {', '.join(have)} "
                          "(pass one of them, or --split all)")
    return split


def gold_spans(item: Record, raws: RawFiles) -> list[M.Span]:
    """The item's evidence quotes located in the original files (see `check_items`)."""
    spans = []
    for ev in item["evidence"]:
        raw = raws.get(ev["file"])
        if raw is None:
            raise DocumentError(
                f"gold item {item['id']} cites {ev['file']}, which is not in {raws.root}: "
                "evaluate against the folder the gold set was written for (--docs)"
            )
        spans.append(M.Span(ev["file"], *locate_loose(ev["quote"], raw)))
    return spans


def resolve_files(items: Sequence[Record], raws: RawFiles) -> list[Record]:
    """The items with each evidence file named as the docs folder names it (`RawFiles.resolve`),
    so that gold spans and retrieved passages compare by the same name. A name that fits no
    file is kept as written, for `check_items` to report."""
    out = []
    for item in items:
        evidence = item.get("evidence")
        if isinstance(evidence, list):
            evidence = [{**ev, "file": raws.resolve(ev["file"]) or ev["file"]}
                        if isinstance(ev, dict) and isinstance(ev.get("file"), str) else ev
                        for ev in evidence]
        out.append({**item, "evidence": evidence})
    return out


def check_items(items: Sequence[Record], raws: RawFiles) -> dict[str, str]:
    """Gold items whose evidence cannot be scored, by id, each with what is wrong: evidence
    that is not a list of {file, quote}, a file missing from the docs folder or unreadable, a
    quote not found in its file (after `locate_loose`). Run before any index is built, so a
    bad gold file fails in a second, not after the indexing."""
    bad: dict[str, str] = {}
    for item in items:
        evidence = item.get("evidence")
        if not isinstance(evidence, list):
            bad[str(item["id"])] = f"evidence is {type(evidence).__name__}, expected a list of {{file, quote}}"
            continue
        for n, ev in enumerate(evidence, 1):
            if not isinstance(ev, dict) or not isinstance(ev.get("file"), str) or not isinstance(ev.get("quote"), str):
                problem = f"evidence {n} is {json.dumps(ev)[:80]}, expected {{\"file\": ..., \"quote\": ...}}"
            elif (raw := raws.get(ev["file"])) is None:
                problem = f"evidence {n} cites {ev['file']}, which is not a readable file of {raws.root}"
            else:
                try:
                    locate_loose(ev["quote"], raw)
                    continue
                except ValueError:
                    problem = f"evidence {n}: quote not found in {ev['file']}: {ev['quote'][:70]!r}"
            bad[str(item["id"])] = problem
            break
    return bad


def index_dir(root: Path, s: Settings) -> Path:
    """A persist folder per docs folder, embedder and chunking settings, shared by configs that agree."""
    key = json.dumps([str(s.docs_path), s.embedder, s.embed_model if s.embedder != "minilm" else "",
                      s.chunk_tokens, s.chunk_overlap])
    return root / f"c{s.chunk_tokens}-o{s.chunk_overlap}-{hashlib.sha256(key.encode()).hexdigest()[:10]}"


def _passage(p: Any, rank: int) -> Record:
    return {"rank": rank, "file": p.file, "start": p.start, "end": p.end, "score": round(float(p.score), 6),
            "preview": " ".join(p.text.split())[:160]}


def _retrieval_scores(passages: Sequence[Any], gold: Sequence[M.Span], ks: Sequence[int]) -> Record:
    spans = [M.Span(p.file, p.start, p.end) for p in passages]
    out: Record = {}
    for k in ks:
        if gold:
            out[f"hit_all@{k}"] = M.hit_all(spans, gold, k)
            out[f"hit_any@{k}"] = M.hit_any(spans, gold, k)
            out[f"mrr@{k}"] = M.reciprocal_rank(spans, gold, k)
        out[f"context_tokens@{k}"] = M.context_tokens(p.text for p in passages[:k])
    return out


def _answer_record(item: Record, answer: Answer | None, error: str | None, wall: float,
                   gold: Sequence[M.Span], raws: RawFiles, judge: M.Judge | None) -> Record:
    if answer is None:
        return {"refused": True, "error": error, "wall": wall, "metrics": {}}
    cited = [M.Span(c.file, c.start, c.end) for c in answer.citations]
    cites = [{**c.to_dict(), "valid": M.citation_valid(s, c.quote, raws.get(c.file)),
              "overlaps_gold": any(M.overlap(s, g) > 0 for g in gold), "right_file": s.file in {g.file for g in gold}}
             for c, s in zip(answer.citations, cited)]
    m: Record = {"citations": len(cites), "valid": sum(c["valid"] for c in cites)}
    if gold and not answer.refused:
        m["precise"], _ = M.citation_precision(cited, gold)
        m["recalled"], m["gold_spans"] = M.evidence_recall(cited, gold)
        m["right_file"], _ = M.right_file(cited, gold)
        m["supported"], m["sentences"] = M.sentence_support(answer.text, answer.unsupported)
        m["key_token_recall"] = M.key_token_recall(item["answer"], answer.text)
        if judge is not None:
            quotes = {c.marker: c.quote for c in answer.citations}
            claims = [c for c in parse_claims(answer.text) if c.text and c.markers]
            m["judge_supported"] = sum(
                judge.supports(c.text, [quotes[n] for n in c.markers if n in quotes]) for c in claims)
            m["judge_sentences"] = len(claims)
            m["judge_correct"] = float(judge.correct(item["question"], item["answer"], answer.text))
    return {"text": answer.text, "refused": answer.refused, "error": error, "generator": answer.generator,
            "notice": answer.notice, "citations": cites, "unsupported": list(answer.unsupported),
            "dropped_markers": answer.dropped_markers, "timings": {**answer.timings, "total": wall},
            "wall": wall, "metrics": m}


def evaluate_config(config: Config, items: Sequence[Record], raws: RawFiles, root: Path,
                    tick: Tick | None = None, build_progress: BuildProgress | None = None,
                    judge: M.Judge | None = None) -> tuple[list[Record], Record]:
    """Build (or update) the config's index, then retrieve in every mode and ask, per item."""
    settings = config.settings.replace(persist_dir=str(index_dir(root, config.settings)))
    index = Index.build(settings, progress=build_progress)
    build = {"persist_dir": settings.persist_dir, "chunks": len(index.chunks),
             "seconds": index.report.seconds if index.report else {}}
    records = []
    for item in items:
        gold = gold_spans(item, raws)
        rec: Record = {"retrieval": {}, "scores": {}}
        for mode in MODES:
            rec["retrieval"][mode], rec["scores"][mode] = {}, {}
            for k in config.ks:
                t = time.perf_counter()
                if mode == "hybrid":
                    passages = index.retrieve(item["question"], k=k)
                else:  # internal API, for this ablation only
                    passages = index.retriever.retrieve(item["question"], k, settings.candidate_k, (), mode)
                rec["retrieval"][mode][str(k)] = [_passage(p, r) for r, p in enumerate(passages, 1)]
                rec["scores"][mode].update(_retrieval_scores(passages, gold, [k]))
                rec["scores"][mode][f"seconds@{k}"] = time.perf_counter() - t
        t = time.perf_counter()
        answer, error = None, None
        try:
            answer = index.ask(item["question"], k=settings.top_k)
        except RagError as exc:  # recorded and counted as a refusal: the user got no answer
            error = f"{type(exc).__name__}: {exc}"
        rec["answer"] = _answer_record(item, answer, error, time.perf_counter() - t, gold, raws, judge)
        records.append(rec)
        if tick:
            tick()
    return records, build


def evaluate_baseline(items: Sequence[Record], raws: RawFiles, embedder: Any,
                      ks: Sequence[int] = BASE_KS, tick: Tick | None = None) -> tuple[list[Record], Record]:
    """The llama-index default pipeline's retrieval, with a separate retriever per k."""
    from evals.baseline import Baseline

    t = time.perf_counter()
    base = Baseline(raws.all(), embedder)
    build = {"chunks": base.chunks, "seconds": {"total": time.perf_counter() - t}}
    records = []
    for item in items:
        gold = gold_spans(item, raws)
        rec: Record = {"retrieval": {"baseline": {}}, "scores": {"baseline": {}}}
        for k in ks:
            passages = base.retrieve(item["question"], k)
            rec["retrieval"]["baseline"][str(k)] = [_passage(p, r) for r, p in enumerate(passages, 1)]
            rec["scores"]["baseline"].update(_retrieval_scores(passages, gold, [k]))
        records.append(rec)
        if tick:
            tick()
    return records, build


def summarize(items: Sequence[Record], records: Sequence[Record]) -> Record:
    """Every figure of one system over these items (see evals/README.md for definitions)."""
    answerable = [(i, r) for i, r in zip(items, records) if i["evidence"]]
    unanswerable = [(i, r) for i, r in zip(items, records) if not i["evidence"]]
    out: Record = {"items": len(items), "answerable": len(answerable), "unanswerable": len(unanswerable)}
    for system, scores in (records[0]["scores"] if records else {}).items():
        for key in scores:
            if key.startswith("seconds"):
                continue
            pool = records if key.startswith("context_tokens") else [r for _, r in answerable]
            out[f"{system}.{key}"] = M.mean(r["scores"][system].get(key) for r in pool)
    if not records or "answer" not in records[0]:
        return out
    ans = [r["answer"] for r in records]
    got = [r["answer"]["metrics"] for _, r in answerable if not r["answer"]["refused"]]

    def pooled(hit: str, total: str) -> float | None:
        return M.rate(M.Count(m[hit], m[total]) for m in got if total in m)

    out["citation.validity"] = M.rate(M.Count(a["metrics"].get("valid", 0), a["metrics"].get("citations", 0))
                                      for a in ans)
    out["citation.precision"] = pooled("precise", "citations")
    out["citation.evidence_recall"] = pooled("recalled", "gold_spans")
    out["citation.right_file"] = pooled("right_file", "citations")
    out["answer.sentence_support"] = pooled("supported", "sentences")
    out["answer.key_token_recall"] = M.mean(m.get("key_token_recall") for m in got)
    out["answer.evidence_recall_incl_refused"] = M.rate(
        M.Count(r["answer"]["metrics"].get("recalled", 0), len(i["evidence"])) for i, r in answerable)
    if any("judge_sentences" in m for m in got):
        out["judge.citation_support"] = pooled("judge_supported", "judge_sentences")
        out["judge.correct"] = M.mean(m.get("judge_correct") for m in got)
    refused_u = sum(r["answer"]["refused"] for _, r in unanswerable)
    refused_a = sum(r["answer"]["refused"] for _, r in answerable)
    out["refusal.rate_unanswerable"] = refused_u / len(unanswerable) if unanswerable else None
    out["refusal.false_rate"] = refused_a / len(answerable) if answerable else None
    out["refusal.one_minus_false_rate"] = 1 - refused_a / len(answerable) if answerable else None
    out["answered_answerable"] = len(got)
    out["errors"] = sum(1 for a in ans if a.get("error"))
    for stage in STAGES:
        vals = [a["timings"][stage] for a in ans if stage in a.get("timings", {})]
        out[f"latency.{stage}.p50"] = M.percentile(vals, 50)
        out[f"latency.{stage}.p95"] = M.percentile(vals, 95)
    return out


def by_type(items: Sequence[Record], records: Sequence[Record]) -> dict[str, Record]:
    """summarize() per question type."""
    types = sorted({i["type"] for i in items})
    return {t: summarize(*zip(*[(i, r) for i, r in zip(items, records) if i["type"] == t])) for t in types}


def seed_everything(seed: int = 0) -> None:
    """Fix the seeds of the random generators anything in the pipeline might use."""
    import numpy as np

    random.seed(seed)
    np.random.seed(seed)


def run(configs: Sequence[Config], items: Sequence[Record], docs_dir: Path, index_root: Path,
        baseline: bool = True, judge: M.Judge | None = None, tick: Tick | None = None,
        build_progress: BuildProgress | None = None) -> Record:
    """Evaluate every config (and the baseline) on the same items; figures and per-item records."""
    from rag.embedding import get_embedder

    seed_everything()
    raws = RawFiles(docs_dir)
    items = resolve_files(items, raws)
    systems: dict[str, Record] = {}
    t0 = time.perf_counter()
    for c in configs:
        t = time.perf_counter()
        recs, build = evaluate_config(c, items, raws, index_root, tick, build_progress, judge)
        systems[c.name] = {"kind": "ours", "settings": c.settings.redacted(), "ks": list(c.ks), "build": build,
                           "seconds": time.perf_counter() - t, "records": recs,
                           "summary": summarize(items, recs), "by_type": by_type(items, recs)}
    if baseline:
        t = time.perf_counter()
        recs, build = evaluate_baseline(items, raws, get_embedder(configs[0].settings), tick=tick)
        systems["baseline"] = {"kind": "baseline", "ks": list(BASE_KS), "build": build,
                               "seconds": time.perf_counter() - t, "records": recs,
                               "settings": {"pipeline": "llama-index VectorStoreIndex + Chroma",
                                            "splitter": "SentenceSplitter(chunk_size=1024, chunk_overlap=200)",
                                            "embedder": getattr(get_embedder(configs[0].settings), "name", "")},
                               "summary": summarize(items, recs), "by_type": by_type(items, recs)}
    spans = {i["id"]: [{**ev, "start": s.start, "end": s.end} for ev, s in zip(i["evidence"], gold_spans(i, raws))]
             for i in items}
    return {"items": list(items), "gold_spans": spans, "systems": systems, "seconds": time.perf_counter() - t0}
