"""`rag eval`: run the eval harness over the gold set and write a report folder.

    rag eval [--gold FILE] [--split dev|test|all|NAME] [--generator NAME] [--k N]
             [--compare CONFIG ...] [--out DIR] [--no-baseline] [--limit N] [--judge [BACKEND]]
             [--skip-invalid]

A CONFIG is a JSON file of Settings fields or inline KEY=VALUE[,KEY=VALUE...]; each is applied
on top of the base settings (RAG_* environment, --generator, --k) and evaluated on the same items.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Any, Sequence

from .config import Settings
from .errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent  # the project folder (editable install)
DEFAULT_GOLD = ROOT / "evals" / "gold.jsonl"
DEFAULT_DOCS = ROOT / "seeds"
DEFAULT_REPORTS = ROOT / "evals" / "reports"
DEFAULT_INDEXES = ROOT / ".cache" / "eval-index"
_FIELDS = {f.name: str(f.type) for f in dataclasses.fields(Settings)}


def _coerce(name: str, value: Any, origin: str) -> Any:
    if name not in _FIELDS:
        raise ConfigError(
            f"{origin}: {name!r} is not a Settings field; expected one of {', '.join(sorted(_FIELDS))}"
        )
    kind = _FIELDS[name]
    try:
        if kind == "bool":
            low = str(value).strip().lower()
            if low not in {"1", "0", "true", "false", "yes", "no", "on", "off"}:
                raise ValueError(value)
            return low in {"1", "true", "yes", "on"}
        if kind == "int":
            if isinstance(value, (bool, float)):
                raise ValueError(value)
            return int(value)
        if kind == "float":
            return float(value)
        if kind.startswith("tuple"):  # inline: file_filter=a.txt+b.txt; JSON: a list
            parts = value if isinstance(value, list) else str(value).split("+")
            return tuple(str(p).strip() for p in parts if str(p).strip())
        return str(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{origin}: {name}={value!r} is not a valid {kind}; fix the value") from None


def parse_config(text: str, base: Settings) -> tuple[str, Settings]:
    """A --compare CONFIG (JSON file, or KEY=VALUE,KEY=VALUE) as (name, settings on top of base)."""
    path = Path(text)
    if text.endswith(".json") or (path.is_file() and "=" not in text):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError(f"cannot read config file {text}: {exc}; pass a JSON object of Settings fields") from exc
        if not isinstance(data, dict):
            raise ConfigError(f"config file {text} holds {type(data).__name__}; expected a JSON object")
        name = path.stem
        pairs = list(data.items())
    else:
        pairs = []
        for part in filter(None, (p.strip() for p in text.split(","))):
            if "=" not in part:
                raise ConfigError(f"config {text!r}: expected KEY=VALUE pairs such as top_k=8, found {part!r}")
            key, _, value = part.partition("=")
            pairs.append((key.strip(), value.strip()))
        if not pairs:
            raise ConfigError("empty --compare config: expected KEY=VALUE[,KEY=VALUE] or a JSON file")
        name = text
    changes = {k: _coerce(k, v, f"config {name!r}") for k, v in pairs}
    return name, base.replace(**changes)


def build_parser() -> argparse.ArgumentParser:
    """The `rag eval` argument parser."""
    p = argparse.ArgumentParser(prog="rag eval", description="Evaluate retrieval, citations, refusals and answers.")
    p.add_argument("--gold", type=Path, default=DEFAULT_GOLD, help="gold JSONL (default: evals/gold.jsonl)")
    p.add_argument("--split", help="dev, test, all, or another split the gold file marks (default: dev, or "
                   "every item of a file without a dev split)")
    p.add_argument("--generator", choices=["extractive", "local", "openai"], help="answer generator")
    p.add_argument("--k", type=int, help="passages per answer (Settings.top_k)")
    p.add_argument("--compare", nargs="+", default=[], metavar="CONFIG",
                   help="extra configs: JSON files or KEY=VALUE,KEY=VALUE of Settings fields")
    p.add_argument("--out", type=Path, help="report folder (default: evals/reports/<timestamp>)")
    p.add_argument("--no-baseline", action="store_true", help="skip the llama-index default baseline")
    p.add_argument("--limit", type=int, help="only the first N items of the split")
    p.add_argument("--skip-invalid", action="store_true",
                   help="leave out gold items whose evidence cannot be located in --docs (default: stop and list them)")
    p.add_argument("--docs", type=Path, default=DEFAULT_DOCS, help="documents the gold set cites (default: seeds)")
    p.add_argument("--index-dir", type=Path, default=DEFAULT_INDEXES,
                   help="where each config's index is kept, keyed by its chunking settings")
    p.add_argument("--judge", nargs="?", const="auto", choices=["auto", "openai", "local"],
                   help="also ask an LLM judge (ALCE-style yes/no); default off")
    return p


def make_judge(settings: Settings, backend: str) -> Any:
    """The LLM judge on the configured openai or local model ("auto": the generator's backend,
    else openai when an API key or base URL is configured, else local)."""
    from evals.metrics import Judge

    if backend == "auto":
        if settings.generator in ("openai", "local"):
            backend = settings.generator
        else:
            custom_url = settings.openai_base_url != Settings().openai_base_url
            backend = "openai" if settings.openai_api_key or custom_url else "local"
    if backend == "openai":
        if not settings.openai_api_key and "api.openai.com" in settings.openai_base_url:
            raise ConfigError("--judge openai needs OPENAI_API_KEY (or RAG_OPENAI_BASE_URL of a local server)")
        return Judge(settings.openai_base_url, settings.openai_api_key, settings.model, settings.request_timeout)
    from .local_llm import assemble_gguf, get_server

    model = Path(settings.local_model_path).expanduser() if settings.local_model_path else \
        assemble_gguf(Path(settings.local_cache_dir).expanduser())
    server = get_server(model, n_ctx=settings.local_ctx, threads=settings.local_threads)
    return Judge(server.base_url, "", server.model, settings.request_timeout)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the harness; 0 on success (quality figures never change the exit code)."""
    from tqdm import tqdm

    from evals import report, runner
    from evals.check_gold import load_gold

    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--"]:  # `rag eval -- --split dev` reaches us with the separator
        argv = argv[1:]
    args = build_parser().parse_args(argv)
    if args.k is not None and args.k < 1:
        raise ConfigError(f"--k must be at least 1, got {args.k}")
    over: dict[str, Any] = {"docs_dir": str(args.docs)}
    if args.generator:
        over["generator"] = args.generator
    if args.k:
        over["top_k"] = args.k
    base = Settings.from_env(**over)
    configs = [runner.Config("default", base)]
    for text in args.compare:
        name, settings = parse_config(text, base)
        while name in {c.name for c in configs}:
            name += "'"
        configs.append(runner.Config(name, settings))
    if not args.gold.is_file():
        raise ConfigError(f"gold file {args.gold} not found: pass --gold FILE")
    items = runner.load_items(args.gold, args.split, args.limit)
    args.split = runner.resolve_split(load_gold(args.gold), args.split, args.gold)  # the report records it
    if not items:
        raise ConfigError(f"no {args.split} items in {args.gold}")
    raws = runner.RawFiles(args.docs.resolve())
    items = runner.resolve_files(items, raws)
    if bad := runner.check_items(items, raws):
        listed = "\n".join(f"  {i}: {why}" for i, why in list(bad.items())[:10])
        more = f"\n  ... and {len(bad) - 10} more" if len(bad) > 10 else ""
        if not args.skip_invalid:
            raise ConfigError(
                f"{len(bad)} of {len(items)} gold items in {args.gold} cannot be scored against {args.docs}:\n"
                f"{listed}{more}\nFix: copy each quote verbatim from its file (whitespace, quote marks, "
                "dashes and case may differ) and name files as in --docs; or pass --skip-invalid to "
                "leave these items out (the report lists them)")
        print(f"warning: leaving out {len(bad)} gold items that cannot be scored:\n{listed}{more}", file=sys.stderr)
        items = [i for i in items if str(i["id"]) not in bad]
        if not items:
            raise ConfigError(f"no {args.split} item of {args.gold} can be scored")
    judge = make_judge(base, args.judge) if args.judge else None
    started = time.strftime("%Y%m%d-%H%M%S")
    out = args.out or DEFAULT_REPORTS / started
    total = len(items) * (len(configs) + (0 if args.no_baseline else 1))
    with tqdm(total=total, desc="eval", unit="item", file=sys.stderr) as bar:
        data = runner.run(configs, items, args.docs.resolve(), args.index_dir.resolve(),
                          baseline=not args.no_baseline, judge=judge, tick=lambda: bar.update(1),
                          build_progress=_build_bar())
    meta = report.environment(args.gold, vars(args), started)
    if bad:
        meta["skipped_items"] = bad
    report.write(out, data, meta)
    print(report.summary_table(data))
    print(f"\nreport: {out / 'report.md'} ({data['seconds']:.0f} s)")
    return 0


def _build_bar() -> Any:
    from .cli import _progress_bar

    return _progress_bar()


if __name__ == "__main__":
    sys.exit(main())
