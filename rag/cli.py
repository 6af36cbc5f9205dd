"""Command line: rag index | ask | eval | serve | bench. main(argv) -> exit code."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from typing import TYPE_CHECKING, Any, Sequence

from .config import Settings
from .errors import RagError

if TYPE_CHECKING:
    from .index import Index

log = logging.getLogger(__name__)


def _settings(args: argparse.Namespace, **extra: Any) -> Settings:
    over: dict[str, Any] = {}
    if getattr(args, "docs", None):
        over["docs_dir"] = args.docs
    if getattr(args, "persist", None):
        over["persist_dir"] = args.persist
    if getattr(args, "generator", None):
        over["generator"] = args.generator
    over.update(extra)
    return Settings.from_env(**over)


def _progress_bar() -> Any:
    from tqdm import tqdm

    bars: dict[str, Any] = {}

    def progress(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage)
        if bar is None:
            bar = bars[stage] = tqdm(total=total, desc=stage, unit="chunk", file=sys.stderr, leave=False)
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    return progress


def cmd_index(args: argparse.Namespace) -> int:
    from .index import Index

    settings = _settings(args)
    r = Index.update(settings, progress=_progress_bar(), rebuild=args.rebuild)
    print(
        f"indexed {r.files} files from {settings.docs_path} into {settings.persist_path}: "
        f"{r.chunks} chunks ({r.embedded} embedded now; added {len(r.added_files)}, "
        f"changed {len(r.changed_files)}, removed {len(r.removed_files)}) in {r.seconds['total']:.1f} s"
    )
    for s in r.skipped:  # the reason usually starts with "<file>: skipped: "
        print(f"skipped {s.file}: {s.reason.removeprefix(f'{s.file}: skipped: ')}")
    return 0


def _open_or_build(settings: Settings) -> "Index":
    """The index; on first use (no index folder yet) built from the docs folder first, as
    `rag.ask()` and the UI do. A half-built or remote index is not rebuilt behind the user's
    back: its IndexNotFoundError says what to run."""
    from .errors import IndexNotFoundError
    from .index import Index
    from .store import index_exists

    try:
        return Index.open(settings)
    except IndexNotFoundError:
        if index_exists(settings):
            raise
        print(f"no index in {settings.persist_path} yet: indexing {settings.docs_path} first", file=sys.stderr)
        Index.update(settings, progress=_progress_bar())
        return Index.open(settings)


def cmd_ask(args: argparse.Namespace) -> int:
    settings = _settings(args)
    index = _open_or_build(settings)
    files = tuple(args.file or ())
    if args.json:
        print(json.dumps(index.ask(args.question, k=args.k, files=files).to_dict(), ensure_ascii=False, indent=2))
        return 0
    answer = None
    for item in index.stream(args.question, k=args.k, files=files):
        if isinstance(item, str):
            continue  # the final Answer carries the renumbered text
        answer = item
    assert answer is not None
    print(answer.text)
    if answer.notice:
        print(f"\nnote: {answer.notice}")
    if answer.citations:
        print()
    for c in answer.citations:
        where = f"{c.file}:{c.line_start}-{c.line_end}"
        who = f" ({' — '.join(x for x in (c.section, c.author) if x)})" if (c.section or c.author) else ""
        print(f"[{c.marker}] {where}{who}\n    \"{' '.join(c.quote.split())}\"")
    for s in answer.unsupported:
        print(f"unsupported: {s}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rag", description="Cited answers from your documents.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("index", help="build or update the index")
    p.add_argument("--docs", help="folder to index (default: seeds, or RAG_DOCS_DIR)")
    p.add_argument("--persist", help="index folder (default: .rag, or RAG_PERSIST_DIR)")
    p.add_argument("--rebuild", action="store_true", help="drop the index and rebuild from the files")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("ask", help="answer a question with citations")
    p.add_argument("question")
    p.add_argument("--k", type=int, default=None, help="passages to retrieve")
    p.add_argument("--file", action="append", help="only search this file (repeatable)")
    p.add_argument("--generator", choices=["extractive", "local", "openai"])
    p.add_argument("--persist", help="index folder (default: .rag, or RAG_PERSIST_DIR); built on first use")
    p.add_argument("--docs", help="folder to index when there is no index yet (default: seeds, or RAG_DOCS_DIR)")
    p.add_argument("--json", action="store_true", help="print the Answer as JSON")
    p.set_defaults(func=cmd_ask)

    for name, modname, helptext in (
        ("eval", "rag.eval_cli", "run the eval harness"),
        ("serve", "rag.serve_cli", "start the web UI"),
        ("bench", "rag.bench_cli", "run the benchmarks"),
    ):
        p = sub.add_parser(name, help=helptext, add_help=False)
        p.add_argument("rest", nargs=argparse.REMAINDER)
        p.set_defaults(func=None, module=modname)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `rag` and `python -m rag`."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] in (["eval"], ["serve"], ["bench"]):
        # these subcommands own their flags: hand them the rest of the line untouched
        argv = [argv[0], "--", *argv[1:]] if argv[1:2] != ["--"] else argv
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    start = time.perf_counter()
    try:
        if args.func is None:
            import importlib

            mod = importlib.import_module(args.module)
            return int(mod.main(args.rest))
        return int(args.func(args))
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    finally:
        log.info("done in %.2f s", time.perf_counter() - start)
