#!/usr/bin/env python3
"""Validate the hand-written gold evaluation set (evals/gold.jsonl).

Usable as a script (``python evals/check_gold.py [gold.jsonl] [seeds_dir]``)
and as a module:

* ``load_gold(path)``            -> list of item dicts
* ``check_gold(path, seeds_dir)`` -> list of problem strings (empty = OK)
* ``locate(quote, raw_text)``    -> (start, end) span of the quote in the raw text
* ``locate_loose(quote, raw)``   -> the same, forgiving typographic quotes/dashes, case, hyphenation

Quotes are matched after collapsing every whitespace run to a single space on
both sides, so quotes taken from the PDF-extracted document (hard line wraps)
are written with their line breaks replaced by spaces. Stdlib only.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_GOLD = ROOT / "evals" / "gold.jsonl"
DEFAULT_SEEDS = ROOT / "seeds"

TYPES = ("factoid", "multi_passage", "cross_document", "contested", "unanswerable")
SPLITS = ("dev", "test")
REQUIRED_KEYS = ("id", "question", "answer", "type", "split", "evidence")
MIN_QUOTE_WORDS = 8
MAX_QUOTE_WORDS = 60

_WS = re.compile(r"\s+")


def collapse(text: str) -> str:
    """Collapse every whitespace run (incl. newlines, NBSP) to one space."""
    return _WS.sub(" ", text).strip()


def load_gold(path: str | Path) -> list[dict[str, Any]]:
    """Read a JSONL file of gold items (blank lines are ignored).

    Raises ValueError with the line number on malformed JSON or non-object lines.
    """
    items: list[dict[str, Any]] = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{lineno}: invalid JSON: {exc}") from exc
            if not isinstance(obj, dict):
                raise ValueError(f"{path}:{lineno}: not a JSON object")
            items.append(obj)
    return items


def locate(quote: str, raw_text: str) -> tuple[int, int]:
    """Return the (start, end) char span of ``quote`` in the ORIGINAL ``raw_text``.

    Matching is whitespace-flexible: the quote's words are escaped and joined
    with ``\\s+``, so line breaks / repeated spaces in the raw text match a
    single space in the quote. Raises ValueError if the quote is absent.
    """
    words = quote.split()
    if not words:
        raise ValueError("empty quote")
    pattern = r"\s+".join(re.escape(w) for w in words)
    m = re.search(pattern, raw_text)
    if m is None:
        raise ValueError(f"quote not found: {quote[:80]!r}")
    return m.start(), m.end()


# characters a quote typed by hand may spell differently from the file: typographic quotes and dashes
_LOOSE_CHARS = {
    "'": "['’‘`´]", "’": "['’‘`´]", "‘": "['’‘`´]", "`": "['’‘`´]",
    '"': '["“”„]', "“": '["“”„]', "”": '["“”„]', "„": '["“”„]',
    "-": "[-‐‑–—]", "–": "[-‐‑–—]", "—": "[-‐‑–—]",
}
_BREAK = r"(?:[-‐]\s+)?"  # a PDF line-end hyphenation inside a word: "posi- tion"


def locate_loose(quote: str, raw_text: str) -> tuple[int, int]:
    """`locate`, else the same search forgiving what a quote typed by hand or copied from a
    viewer spells differently from the original file: straight for typographic quotes and
    dashes, letter case, a word the file breaks across a line with a hyphen ("posi- tion"
    for "position"), and an ellipsis ("A … B", "A [...] B": the pieces in order, at most
    ELLIPSIS_GAP characters apart). For evaluating gold files written elsewhere (a held-out set); our own
    gold set is checked with the strict `locate`. Raises ValueError if still absent."""
    if not quote.split():
        raise ValueError("empty quote")
    try:
        return locate(quote, raw_text)
    except ValueError:
        pass  # not verbatim: try the forgiving pattern
    m = re.search(_loose_pattern(quote), raw_text, re.IGNORECASE)
    if m is not None:
        return m.start(), m.end()
    pieces = [p for p in _ELLIPSIS.split(quote) if p.split()]
    if len(pieces) > 1:  # "A … B": each piece in order, close together; the span runs from A to B
        start = end = -1
        for piece in pieces:
            m = re.compile(_loose_pattern(piece), re.IGNORECASE).search(raw_text, max(end, 0))
            if m is None or (end >= 0 and m.start() - end > ELLIPSIS_GAP):
                break
            start, end = (m.start() if start < 0 else start), m.end()
        else:
            return start, end
    raise ValueError(f"quote not found: {quote[:80]!r}")


ELLIPSIS_GAP = 1500  # characters an ellipsis of a quote may leave out
_ELLIPSIS = re.compile(r"\s*(?:\[\s*(?:…|\.\.\.)\s*\]|…|\.\.\.)\s*")


def _loose_pattern(quote: str) -> str:
    return r"\s+".join(_BREAK.join(_LOOSE_CHARS.get(ch, re.escape(ch)) for ch in w) for w in quote.split())


def _read_seeds(seeds_dir: Path) -> dict[str, str]:
    return {
        p.name: p.read_text(encoding="utf-8")
        for p in sorted(seeds_dir.iterdir())
        if p.is_file() and not p.name.startswith(".")
    }


def check_gold(path: str | Path = DEFAULT_GOLD,
               seeds_dir: str | Path = DEFAULT_SEEDS) -> list[str]:
    """Return a list of problems found in the gold file (empty list = OK)."""
    problems: list[str] = []
    try:
        items = load_gold(path)
    except (OSError, ValueError) as exc:
        return [str(exc)]
    if not items:
        return [f"{path}: no items"]

    seeds = _read_seeds(Path(seeds_dir))
    collapsed = {name: collapse(text) for name, text in seeds.items()}
    seen_ids: set[str] = set()

    for n, item in enumerate(items, 1):
        iid = item.get("id", f"<item #{n}>")
        tag = f"{iid}:"
        missing = [k for k in REQUIRED_KEYS if k not in item]
        if missing:
            problems.append(f"{tag} missing keys {missing}")
            continue
        if not isinstance(iid, str) or not iid:
            problems.append(f"item #{n}: id must be a non-empty string")
        elif iid in seen_ids:
            problems.append(f"{tag} duplicate id")
        else:
            seen_ids.add(iid)
        for key in ("question", "answer"):
            if not isinstance(item[key], str) or not item[key].strip():
                problems.append(f"{tag} {key} must be a non-empty string")
        qtype = item["type"]
        if qtype not in TYPES:
            problems.append(f"{tag} invalid type {qtype!r}")
        if item["split"] not in SPLITS:
            problems.append(f"{tag} invalid split {item['split']!r}")

        evidence = item["evidence"]
        if not isinstance(evidence, list):
            problems.append(f"{tag} evidence must be a list")
            continue
        if qtype == "unanswerable":
            if evidence:
                problems.append(f"{tag} unanswerable item must have empty evidence")
            continue
        if not evidence:
            problems.append(f"{tag} answerable item has no evidence")
            continue

        files: list[str] = []
        for k, ev in enumerate(evidence):
            etag = f"{tag} evidence[{k}]"
            if not isinstance(ev, dict) or set(ev) != {"file", "quote"}:
                problems.append(f"{etag} must be an object with exactly 'file' and 'quote'")
                continue
            fname, quote = ev["file"], ev["quote"]
            if not isinstance(fname, str) or not isinstance(quote, str):
                problems.append(f"{etag} file/quote must be strings")
                continue
            files.append(fname)
            nwords = len(quote.split())
            if not MIN_QUOTE_WORDS <= nwords <= MAX_QUOTE_WORDS:
                problems.append(
                    f"{etag} quote has {nwords} words "
                    f"(allowed {MIN_QUOTE_WORDS}-{MAX_QUOTE_WORDS})")
            if fname not in seeds:
                problems.append(f"{etag} unknown file {fname!r}")
                continue
            if collapse(quote) not in collapsed[fname]:
                problems.append(f"{etag} quote not found in {fname}: {quote[:70]!r}")

        if qtype == "cross_document" and len(set(files)) < 2:
            problems.append(f"{tag} cross_document needs quotes from 2+ distinct files")
        if qtype == "multi_passage":
            per_file = Counter(files)
            if not per_file or max(per_file.values()) < 2:
                problems.append(f"{tag} multi_passage needs 2+ quotes from one file")
            problems.extend(_overlaps(tag, evidence, collapsed))
    return problems


def _overlaps(tag: str, evidence: list[Any], collapsed: dict[str, str]) -> list[str]:
    """multi_passage quotes from one file must be distinct, non-overlapping passages."""
    spans: list[tuple[str, int, int]] = []
    for ev in evidence:
        if not isinstance(ev, dict):
            continue
        fname, quote = ev.get("file"), ev.get("quote")
        if not isinstance(fname, str) or not isinstance(quote, str) or fname not in collapsed:
            continue
        q = collapse(quote)
        pos = collapsed[fname].find(q)
        if pos >= 0:
            spans.append((fname, pos, pos + len(q)))
    out: list[str] = []
    spans.sort()
    for a, b in zip(spans, spans[1:]):
        if a[0] == b[0] and b[1] < a[2]:
            out.append(f"{tag} multi_passage quotes overlap in {a[0]}")
    return out


def summarize(items: list[dict[str, Any]]) -> str:
    by_type = Counter(str(i.get("type")) for i in items)
    by_split = Counter(str(i.get("split")) for i in items)
    by_both = Counter((str(i.get("type")), str(i.get("split"))) for i in items)
    files = Counter(ev.get("file") for i in items
                    for ev in (i.get("evidence") or []) if isinstance(ev, dict))
    lines = [f"items: {len(items)}", "per type (dev/test/total):"]
    for t in TYPES:
        lines.append(f"  {t:15s} {by_both[(t, 'dev')]:3d} {by_both[(t, 'test')]:3d} "
                     f"{by_type[t]:4d}")
    lines.append("per split: " + ", ".join(f"{s}={by_split[s]}" for s in SPLITS))
    lines.append("quotes per file: " + ", ".join(f"{f}={c}" for f, c in sorted(files.items())))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    gold = Path(args[0]) if args else DEFAULT_GOLD
    seeds = Path(args[1]) if len(args) > 1 else DEFAULT_SEEDS
    problems = check_gold(gold, seeds)
    for p in problems:
        print("PROBLEM:", p)
    try:
        print(summarize(load_gold(gold)))
    except (OSError, ValueError):
        pass
    print(f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
