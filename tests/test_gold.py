"""Integrity checks for the hand-written gold evaluation set (evals/gold.jsonl)."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
GOLD = ROOT / "evals" / "gold.jsonl"
SEEDS = ROOT / "seeds"


def _load_checker() -> ModuleType:
    path = ROOT / "evals" / "check_gold.py"
    spec = importlib.util.spec_from_file_location("check_gold", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("check_gold", module)
    spec.loader.exec_module(module)
    return module


cg = _load_checker()


def _ws(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


@pytest.fixture(scope="module")
def items() -> list[dict[str, Any]]:
    loaded: list[dict[str, Any]] = cg.load_gold(GOLD)
    return loaded


@pytest.fixture(scope="module")
def seeds() -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))}


def test_check_gold_reports_no_problems() -> None:
    problems = cg.check_gold(GOLD, SEEDS)
    assert problems == [], "\n".join(problems)


def test_enough_items(items: list[dict[str, Any]]) -> None:
    assert len(items) >= 80


def test_every_type_in_both_splits(items: list[dict[str, Any]]) -> None:
    present = {(i["type"], i["split"]) for i in items}
    missing = [(t, s) for t in cg.TYPES for s in cg.SPLITS if (t, s) not in present]
    assert not missing, f"type/split combinations without items: {missing}"


def test_every_seed_file_cited(items: list[dict[str, Any]], seeds: dict[str, str]) -> None:
    cited = {ev["file"] for i in items for ev in i["evidence"]}
    assert set(seeds) <= cited, f"never cited: {sorted(set(seeds) - cited)}"


def test_locate_spans_match_quotes(items: list[dict[str, Any]], seeds: dict[str, str]) -> None:
    n = 0
    for item in items:
        for ev in item["evidence"]:
            raw = seeds[ev["file"]]
            start, end = cg.locate(ev["quote"], raw)
            assert 0 <= start < end <= len(raw)
            assert _ws(raw[start:end]) == _ws(ev["quote"]), item["id"]
            n += 1
    assert n > 0


def test_locate_is_whitespace_flexible_and_raises_when_absent() -> None:
    raw = "alpha beta-\ngamma\n\n  delta epsilon"
    start, end = cg.locate("beta- gamma delta", raw)
    assert raw[start:end] == "beta-\ngamma\n\n  delta"
    with pytest.raises(ValueError):
        cg.locate("gamma alpha", raw)
    with pytest.raises(ValueError):
        cg.locate("   ", raw)


def test_checker_flags_bad_items(tmp_path: Path, seeds: dict[str, str]) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"id": "x1", "question": "q", "answer": "a", "type": "factoid", "split": "dev",'
        ' "evidence": [{"file": "000_c138998a30d41faa.txt",'
        ' "quote": "this sentence is certainly not anywhere in the seed file"}]}\n'
        '{"id": "x1", "question": "q", "answer": "a", "type": "unanswerable", "split": "val",'
        ' "evidence": [{"file": "000_c138998a30d41faa.txt", "quote": "too short"}]}\n',
        encoding="utf-8",
    )
    problems = cg.check_gold(bad, SEEDS)
    joined = "\n".join(problems)
    assert "not found" in joined
    assert "duplicate id" in joined
    assert "invalid split" in joined
    assert "empty evidence" in joined
