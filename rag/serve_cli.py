"""`rag serve`: start the chat web UI (app.py at the top of the source tree)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Sequence

from .errors import ConfigError

APP = Path(__file__).resolve().parent.parent / "app.py"


def main(argv: Sequence[str] | None = None) -> int:
    """Run app.main(argv): the same as `python app.py ARGS`."""
    spec = importlib.util.spec_from_file_location("rag_app", APP)
    if spec is None or spec.loader is None or not APP.is_file():
        raise ConfigError(
            f"expected the web UI at {APP}, found nothing: `rag serve` runs from a source checkout "
            "(pip install -e .); or run `python app.py` there"
        )
    args = list(argv or [])
    if args[:1] == ["--"]:  # `rag serve -- --port N`: rag's own parser passes the "--" on
        args = args[1:]
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return int(module.main(args))
