"""`rag bench`: the benchmark suite in benchmarks/ (a source checkout, not the installed package)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Sequence

from .errors import ConfigError


def main(argv: Sequence[str]) -> int:
    """Run benchmarks.bench.main(argv): the suite, `embed` (the model alone) or `scale`."""
    root = Path(__file__).resolve().parent.parent
    if not (root / "benchmarks" / "bench.py").exists():
        raise ConfigError(
            f"expected the benchmarks folder at {root / 'benchmarks'}: `rag bench` runs from a source "
            "checkout installed with `pip install -e .`"
        )
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    from benchmarks import bench

    args = list(argv)
    return bench.main(args[1:] if args[:1] == ["--"] else args)
