"""Probe questions: quick checks written from the documents, outside the gold set.

Each line of a probe file is {"q": question, "a": a lower-case string the right answer contains}.
They were written to look for bugs in one behaviour at a time (qualifiers, varied question
forms); a probe that fails points at a bug or a ranking miss, not at a metric.

    .venv/bin/python -m evals.run_probes evals/probes/*.jsonl
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Sequence

from rag import Index, Settings


FLOOR = 73  # of the 95 probes in evals/probes/ (79 at the last change): the CI smoke test's floor


def run(index: Index, files: Sequence[Path]) -> list[tuple[str, str, str]]:
    """(mark, question, answer text) per probe: "ok " answered right, "REF" refused, "MIS" wrong."""
    out = []
    for path in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            probe = json.loads(line)
            answer = index.ask(probe["q"])
            ok = not answer.refused and probe["a"] in " ".join(answer.text.lower().split())
            out.append(("ok " if ok else "REF" if answer.refused else "MIS", probe["q"], answer.text))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--persist", default=None, help="index folder (default: Settings.persist_dir)")
    args = parser.parse_args(argv)
    settings = Settings.from_env(**({"persist_dir": args.persist} if args.persist else {}))
    results = run(Index.open(settings), args.files)
    for mark, question, text in results:
        print(f"{mark} {question[:80]} -> {' '.join(text.split())[:120]}")
    print(f"{sum(m == 'ok ' for m, _, _ in results)} of {len(results)} answered right")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
