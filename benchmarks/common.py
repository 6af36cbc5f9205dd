"""Helpers shared by the benchmarks: timing summaries, memory, machine facts, result files."""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Iterable, Sequence

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
CACHE = ROOT / "benchmarks" / ".cache"  # git-ignored (".cache/" in .gitignore)
SEEDS = ROOT / "seeds"


def percentiles(seconds: Sequence[float]) -> dict[str, float]:
    """p50/p95/mean in milliseconds (linear interpolation, like numpy's default)."""
    if not seconds:
        return {"n": 0}
    xs = sorted(seconds)

    def pct(q: float) -> float:
        pos = (len(xs) - 1) * q
        lo = int(pos)
        hi = min(lo + 1, len(xs) - 1)
        return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)

    return {
        "n": len(xs),
        "p50_ms": round(pct(0.50) * 1e3, 2),
        "p95_ms": round(pct(0.95) * 1e3, 2),
        "mean_ms": round(statistics.fmean(xs) * 1e3, 2),
    }


def median(values: Iterable[float]) -> float:
    """Median of the values (NaN when there are none)."""
    vals = list(values)
    return float(statistics.median(vals)) if vals else float("nan")


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def rss_mb() -> float:
    """This process's current resident set size, in MB."""
    import psutil

    return round(float(psutil.Process().memory_info().rss) / 2**20, 1)


def cpu_seconds() -> float:
    """CPU time of this process so far, all threads (nanosecond clock, unlike os.times)."""
    return time.process_time()


def machine() -> dict[str, Any]:
    """What the numbers were measured on; the load average says how noisy the machine was."""
    import onnxruntime

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "onnxruntime": onnxruntime.__version__,
        "time": time.strftime("%Y-%m-%d %H:%M:%S"),
    }


def dir_size_mb(path: Path) -> float:
    """Bytes on disk under path, in MB."""
    total = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return round(total / 2**20, 2)


def questions(n: int) -> list[str]:
    """n distinct questions about the seeds: the gold set, then the local-LLM set, then
    re-phrasings ("In the documents, ...") so that no query repeats."""
    base: list[str] = []
    for path in (ROOT / "evals" / "gold.jsonl", ROOT / "benchmarks" / "questions_local.jsonl"):
        if path.exists():
            with path.open(encoding="utf-8") as f:
                base += [json.loads(line)["question"] for line in f if line.strip()]
    base = list(dict.fromkeys(q for q in base if q))
    out = list(base)
    prefixes = ("According to the documents, ", "In the seeds, ", "Briefly: ", "Tell me: ")
    i = 0
    while len(out) < n and base:
        q = base[i % len(base)]
        out.append(prefixes[(i // len(base)) % len(prefixes)] + q[0].lower() + q[1:])
        i += 1
    return out[:n]


def write_json(path: Path, data: Any) -> None:
    """Write data as indented JSON, creating the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub markdown table."""
    def cell(x: Any) -> str:
        if isinstance(x, float):
            return f"{x:.3g}" if abs(x) < 1000 else f"{x:,.0f}"
        return str(x)

    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(x) for x in r) + " |" for r in rows]
    return "\n".join(lines)


def log(msg: str) -> None:
    """Progress for the person running the benchmark (stderr)."""
    print(msg, file=sys.stderr, flush=True)
