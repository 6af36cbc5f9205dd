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

from rag import Index, Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--persist", default=None, help="index folder (default: Settings.persist_dir)")
    args = parser.parse_args(argv)
    settings = Settings.from_env(**({"persist_dir": args.persist} if args.persist else {}))
    index = Index.open(settings)
    right = total = 0
    for path in args.files:
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            probe = json.loads(line)
            answer = index.ask(probe["q"])
            ok = not answer.refused and probe["a"] in " ".join(answer.text.lower().split())
            right += ok
            total += 1
            mark = "ok " if ok else "REF" if answer.refused else "MIS"
            print(f"{mark} {probe['q'][:80]} -> {' '.join(answer.text.split())[:120]}")
    print(f"{right} of {total} answered right")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
