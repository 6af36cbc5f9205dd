"""evals/grow_gold.py: new items near existing ones (same question, or the same evidence) are
dropped; a fresh one is kept and appended to the dev split with the next id. Real packaged embedder."""

from __future__ import annotations

import json
from pathlib import Path

from evals.check_gold import load_gold
from evals.grow_gold import main

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
FILE = "000_c138998a30d41faa.txt"
QUOTE = ("Azerbaijan has sought to invest in DUNARIT Corporation, Arcus Co., and Armaco JSC, "
         "prominent Bulgarian military manufacturers.")


def _item(id_: str, question: str, quote: str | None) -> dict[str, object]:
    ev = [{"file": FILE, "quote": quote}] if quote else []
    return {"id": id_, "question": question, "answer": "x", "type": "factoid" if quote else "unanswerable",
            "split": "dev", "evidence": ev}


def _write(path: Path, items: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(i) + "\n" for i in items), encoding="utf-8")
    return path


def test_near_duplicates_dropped_fresh_item_appended(tmp_path: Path, capsys) -> None:
    gold = _write(tmp_path / "gold.jsonl", [
        _item("g001", "Which Bulgarian arms makers did Azerbaijan try to invest in?", QUOTE)])
    new = _write(tmp_path / "new.jsonl", [
        _item("n01", "Which Bulgarian arms makers did Azerbaijan try to invest in?", None),
        _item("n02", "What stake in defence firms of Bulgaria was Baku said to want to acquire?", QUOTE),
        _item("n03", "How many hectares of vineyards does the Zangilan district plan to plant?", None),
    ])
    assert main([str(new), "--gold", str(gold), "--seeds", str(SEEDS), "--write"]) == 0
    out = capsys.readouterr().out
    assert "dropped n01: question near g001" in out
    assert "dropped n02: every quote overlaps existing evidence" in out
    items = load_gold(gold)
    assert [i["id"] for i in items] == ["g001", "g002"]
    assert items[1]["question"].startswith("How many hectares") and items[1]["split"] == "dev"
    assert "source_id" not in items[1]


def test_drafts_without_ids_are_named_by_position_and_kept_id_first(tmp_path: Path, capsys) -> None:
    gold = _write(tmp_path / "gold.jsonl", [
        _item("g007", "Which Bulgarian arms makers did Azerbaijan try to invest in?", QUOTE)])
    drafts = [{k: v for k, v in _item("", q, None).items() if k not in ("id", "split")} for q in (
        "Which Bulgarian arms makers did Azerbaijan try to invest in?",
        "How many hectares of vineyards does the Zangilan district plan to plant?")]
    new = _write(tmp_path / "new.jsonl", drafts)
    assert main([str(new), "--gold", str(gold), "--seeds", str(SEEDS), "--write"]) == 0
    assert "dropped new item 1: question near g007" in capsys.readouterr().out
    added = json.loads(gold.read_text(encoding="utf-8").splitlines()[-1])
    assert list(added)[0] == "id" and added["id"] == "g008" and added["split"] == "dev"


def test_an_unanswerable_draft_without_an_answer_gets_the_files_wording(tmp_path: Path, capsys) -> None:
    gold = _write(tmp_path / "gold.jsonl", [
        _item("g001", "Which Bulgarian arms makers did Azerbaijan try to invest in?", QUOTE)])
    draft = {**_item("n01", "How many hectares of vineyards does the Zangilan district plan to plant?", None),
             "answer": ""}
    new = _write(tmp_path / "new.jsonl", [draft])
    assert main([str(new), "--gold", str(gold), "--seeds", str(SEEDS), "--write"]) == 0  # the check passes
    assert load_gold(gold)[-1]["answer"] == "Not answered in the documents."
