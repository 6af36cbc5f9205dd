"""20 users ask questions for 20 s while the app re-indexes through its own Re-index event.

The short version of benchmarks/load.py (which runs a minute and writes the results): no
request may fail, every citation must quote its file exactly, and each re-index must be
swapped in (the probe document it adds is cited, and once removed it is not).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from benchmarks.load import PROBE_NAME, run_load, table
from ui_app import ROOT, run_app

USERS, SECONDS = 20, 20


@pytest.fixture(scope="module")
def app(seeds_index_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp = tmp_path_factory.mktemp("load")
    docs, persist = tmp / "docs", tmp / "index"
    shutil.copytree(ROOT / "seeds", docs)
    shutil.copytree(seeds_index_dir, persist)
    with run_app(docs, persist, tmp / "app.log") as (url, _):
        yield {"url": url, "docs": docs, "log": tmp / "app.log"}


def test_twenty_users_while_reindexing_get_valid_answers(app: dict[str, Any]) -> None:
    result = run_load(app["url"], app["docs"], users=USERS, seconds=SECONDS, timeout=90)
    print("\n" + table(result))
    assert result["unfinished_threads"] == 0
    assert result["errors"] == 0, result["error_samples"]
    assert result["answers"] >= USERS and result["citations_checked"] >= USERS, result
    assert result["citations_bad"] == 0, result["bad_samples"]
    reindexes = result["reindexes"]
    assert len(reindexes) >= 2 and all(r["ok"] and r["swapped_in"] for r in reindexes), reindexes
    assert any("added" in r for r in reindexes) and "removed" in reindexes[-1]
    assert not (app["docs"] / PROBE_NAME).exists()
    assert "Traceback" not in app["log"].read_text(encoding="utf-8")
