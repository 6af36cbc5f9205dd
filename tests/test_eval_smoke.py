"""CI smoke test: the eval harness over the dev split (extractive answers, no baseline) must keep
every figure of evals/floors.json at or above its floor (and of evals/ceilings.json at or below). Takes a few minutes (index build + ~60 asks)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.metrics import check_ceilings, check_floors
from rag.eval_cli import main

ROOT = Path(__file__).resolve().parent.parent
FLOORS = ROOT / "evals" / "floors.json"
CEILINGS = ROOT / "evals" / "ceilings.json"


@pytest.fixture(scope="module")
def dev_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("eval-smoke")
    out = tmp / "report"
    code = main(["--split", "dev", "--generator", "extractive", "--no-baseline",
                 "--out", str(out), "--index-dir", str(tmp / "indexes")])
    assert code == 0
    return out


def test_dev_figures_stay_above_their_floors(dev_report: Path) -> None:
    report = json.loads((dev_report / "report.json").read_text(encoding="utf-8"))
    figures = report["systems"]["default"]["summary"]
    floors = json.loads(FLOORS.read_text(encoding="utf-8"))
    assert floors["citation.validity"] == 1.0  # every citation must be the exact original text
    problems = check_floors(figures, floors)
    assert problems == [], "eval figures fell below evals/floors.json:\n" + "\n".join(problems)
    # recall bought with a bigger context is not progress: the context's price has a ceiling
    over = check_ceilings(figures, json.loads(CEILINGS.read_text(encoding="utf-8")))
    assert over == [], "eval figures rose above evals/ceilings.json:\n" + "\n".join(over)


def test_report_folder_is_complete(dev_report: Path) -> None:
    for name in ("report.json", "report.md", "per_type.png", "latency.png", "compare.png"):
        assert (dev_report / name).stat().st_size > 0, name
    report = json.loads((dev_report / "report.json").read_text(encoding="utf-8"))
    assert report["meta"]["gold_sha256"] and report["meta"]["packages"]["chromadb"]
    assert report["systems"]["default"]["settings"]["generator"] == "extractive"
    assert "baseline" not in report["systems"]
    items = report["items"]
    assert items and all(i["split"] == "dev" for i in items)
    first = items[0]["results"]["default"]
    assert first["retrieval"]["hybrid"]["5"][0].keys() >= {"file", "start", "end", "score"}
    md = (dev_report / "report.md").read_text(encoding="utf-8")
    assert "## Retrieval" in md and "## Worst items" in md


def test_the_probe_questions_stay_above_their_floor(seeds_index) -> None:  # type: ignore[no-untyped-def]
    from evals.run_probes import FLOOR, run

    results = run(seeds_index, sorted((ROOT / "evals" / "probes").glob("*.jsonl")))
    assert len(results) >= 75
    wrong = [f"{mark} {question}" for mark, question, _ in results if mark != "ok "]
    assert len(results) - len(wrong) >= FLOOR, "probes answered wrong or refused:\n" + "\n".join(wrong)
