"""Unit tests of the eval metrics, the config parser and the report on small hand-made inputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals import metrics as M
from evals.baseline import node_span
from evals.check_gold import locate
from evals.runner import Config, RawFiles, by_type, index_dir, resolve_files, summarize
from llm_fixtures import small_llm_server  # noqa: F401  (a fixture: pytest finds it by name)
from rag import Settings
from rag.errors import BackendError, ConfigError
from rag.eval_cli import main as eval_main
from rag.eval_cli import parse_config
from rag.local_llm import LocalServer

RAW = "Alpha beta gamma delta. The treaty was signed in Moscow in 2022. Nothing else here at all."
QUOTE = "The treaty was signed in Moscow in 2022."
Q = M.Span("a.txt", *locate(QUOTE, RAW))  # (24, 64)


def span(start: int, end: int, file: str = "a.txt") -> M.Span:
    return M.Span(file, start, end)


# ---- spans and coverage ---------------------------------------------------------------
def test_overlap_counts_shared_characters_of_the_same_file_only() -> None:
    assert M.overlap(span(0, 10), span(5, 20)) == 5
    assert M.overlap(span(0, 10), span(10, 20)) == 0  # end is exclusive
    assert M.overlap(span(0, 10), span(0, 10, "b.txt")) == 0


def test_covers_needs_sixty_percent_of_the_quote() -> None:
    n = Q.end - Q.start  # 40 characters
    assert M.covers(span(Q.start, Q.start + 24), Q)  # exactly 60%
    assert not M.covers(span(Q.start, Q.start + 23), Q)  # 57.5%
    assert M.covers(span(0, len(RAW)), Q)
    assert not M.covers(span(0, len(RAW), "b.txt"), Q)
    assert n == 40


# ---- retrieval --------------------------------------------------------------------------
def test_hit_all_is_one_only_when_every_quote_is_covered_within_k() -> None:
    g1, g2 = span(0, 10), span(100, 110)
    ranked = [span(0, 20), span(50, 60), span(95, 120)]
    assert M.hit_all(ranked, [g1, g2], k=3) == 1.0
    assert M.hit_all(ranked, [g1, g2], k=2) == 0.0  # g2 only at rank 3
    assert M.hit_all([], [g1], k=5) == 0.0
    assert M.hit_all(ranked, [], k=5) == 0.0  # nothing to find is not a hit


def test_hit_any_and_reciprocal_rank() -> None:
    g1, g2 = span(0, 10), span(100, 110)
    ranked = [span(50, 60), span(95, 120), span(0, 20)]
    assert M.hit_any(ranked, [g1, g2], k=2) == 1.0
    assert M.hit_any(ranked, [g1, g2], k=1) == 0.0
    assert M.reciprocal_rank(ranked, [g1, g2], k=3) == 0.5
    assert M.reciprocal_rank(ranked, [g1], k=3) == pytest.approx(1 / 3)
    assert M.reciprocal_rank(ranked, [g1], k=2) == 0.0
    assert M.reciprocal_rank([g1], [g1], k=1) == 1.0


def test_context_tokens_sums_cl100k_tokens() -> None:
    assert M.context_tokens([]) == 0
    assert M.context_tokens(["hello world", "hello"]) == 3


# ---- citations --------------------------------------------------------------------------
def test_citation_valid_requires_the_exact_original_text() -> None:
    assert M.citation_valid(Q, QUOTE, RAW)
    assert not M.citation_valid(Q, QUOTE.lower(), RAW)
    assert not M.citation_valid(span(Q.start + 1, Q.end), QUOTE, RAW)
    assert not M.citation_valid(span(0, len(RAW) + 5), RAW, RAW)  # out of range
    assert not M.citation_valid(Q, QUOTE, None)  # file unreadable


def test_citation_precision_recall_and_right_file() -> None:
    g1, g2 = span(0, 10), span(100, 110, "b.txt")
    cited = [span(5, 8), span(200, 300), span(109, 120, "b.txt"), span(0, 10, "c.txt")]
    assert M.citation_precision(cited, [g1, g2]) == M.Count(2, 4)
    assert M.evidence_recall(cited, [g1, g2]) == M.Count(2, 2)
    assert M.evidence_recall(cited[:1], [g1, g2]) == M.Count(1, 2)
    assert M.right_file(cited, [g1, g2]) == M.Count(3, 4)
    assert M.citation_precision([span(10, 20)], [g1]) == M.Count(0, 1)  # touching is not overlapping
    assert M.rate([M.citation_precision(cited[:1], [g1])]) == 1.0
    assert M.rate([M.evidence_recall([], [g1])]) == 0.0


def test_sentence_support_counts_marked_sentences_not_flagged() -> None:
    text = "The treaty was signed in Moscow [1]. It was in 2022 [2]. Nobody objected."
    assert M.sentence_support(text, []) == M.Count(2, 3)
    assert M.sentence_support(text, ["It was in 2022."]) == M.Count(1, 3)
    assert M.sentence_support("No citation at all. None here.", []) == M.Count(0, 2)
    assert M.sentence_support("Signed in Moscow [1].", []) == M.Count(1, 1)


# ---- answers ----------------------------------------------------------------------------
def test_key_tokens_normalise_case_punctuation_stopwords_and_numbers() -> None:
    assert M.key_tokens("The Treaties, signed in 2,728 towns; 5 ships!") == {"treaty", "signed", "2728", "town", "5", "ship"}


def test_key_token_recall() -> None:
    gold = "Interior Minister Gérald Darmanin (in May 2024)."
    assert M.key_token_recall(gold, "It was the interior minister, Gérald Darmanin.") == 1.0
    assert M.key_token_recall(gold, "Nobody knows.") == 0.0
    assert M.key_token_recall(gold, "The minister said so.") == 0.25
    assert M.key_token_recall("About 40 percent.", "roughly 40 per cent") == 0.5
    assert M.key_token_recall("(only an aside)", "an aside") == 1.0  # aside kept when it is all there is


# ---- aggregation ------------------------------------------------------------------------
def test_rate_mean_percentile() -> None:
    assert M.rate([M.Count(1, 2), M.Count(3, 3)]) == 0.8
    assert M.rate([M.Count(0, 0)]) is None
    assert M.mean([1.0, None, 0.0]) == 0.5
    assert M.mean([None]) is None
    assert M.percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert M.percentile([1.0, 2.0, 3.0, 4.0, 5.0], 95) == pytest.approx(4.8)
    assert M.percentile([], 50) is None


def test_check_floors_flags_low_and_missing_figures() -> None:
    floors = {"a": 0.5, "b": 1.0, "c": 0.1}
    problems = M.check_floors({"a": 0.5, "b": 0.99}, floors)
    assert len(problems) == 2
    assert "b: 0.990 is below its floor 1.000" in problems
    assert any(p.startswith("c: missing") for p in problems)
    assert M.check_floors({"a": 0.6, "b": 1.0, "c": 0.2}, floors) == []


def test_check_ceilings_flags_high_and_missing_figures() -> None:
    ceilings = {"tokens": 1100.0, "other": 5.0}
    assert M.check_ceilings({"tokens": 1100.0, "other": 1.0}, ceilings) == []
    problems = M.check_ceilings({"tokens": 1180.0}, ceilings)
    assert "tokens: 1180.000 is above its ceiling 1100.000" in problems
    assert any(p.startswith("other: missing") for p in problems)


def test_parse_yes_no() -> None:
    assert M.parse_yes_no("Yes.")
    assert M.parse_yes_no(" yes, it does")
    assert not M.parse_yes_no("No")
    assert not M.parse_yes_no("")
    assert not M.parse_yes_no("The answer is yes")


# ---- summaries over hand-made records ---------------------------------------------------
def _record(hit: float, refused: bool, m: dict[str, float], total: float = 1.0) -> dict[str, object]:
    return {"scores": {"hybrid": {"hit_all@5": hit, "context_tokens@5": 100, "seconds@5": 0.1}},
            "answer": {"refused": refused, "error": None, "metrics": m, "timings": {"retrieve": 0.1, "total": total},
                       "wall": total}}


def test_summarize_separates_refusals_from_answer_quality() -> None:
    items = [{"type": "factoid", "evidence": [{"file": "a.txt", "quote": QUOTE}]},
             {"type": "factoid", "evidence": [{"file": "a.txt", "quote": QUOTE}]},
             {"type": "unanswerable", "evidence": []},
             {"type": "unanswerable", "evidence": []}]
    good = {"citations": 2, "valid": 2, "precise": 1, "recalled": 1, "gold_spans": 1, "right_file": 2,
            "supported": 2, "sentences": 2, "key_token_recall": 0.5}
    records = [_record(1.0, False, good), _record(0.0, True, {"citations": 0, "valid": 0}, total=3.0),
               _record(0.0, True, {"citations": 0, "valid": 0}), _record(0.0, False, {"citations": 1, "valid": 0})]
    s = summarize(items, records)
    assert s["hybrid.hit_all@5"] == 0.5  # answerable items only
    assert s["hybrid.context_tokens@5"] == 100
    assert s["citation.precision"] == 0.5  # the refused item does not dilute answer quality
    assert s["citation.evidence_recall"] == 1.0
    assert s["answer.evidence_recall_incl_refused"] == 0.5
    assert s["citation.validity"] == pytest.approx(2 / 3)  # all citations, unanswerable ones too
    assert s["answer.key_token_recall"] == 0.5
    assert s["refusal.rate_unanswerable"] == 0.5
    assert s["refusal.false_rate"] == 0.5
    assert s["refusal.one_minus_false_rate"] == 0.5
    assert s["latency.total.p50"] == 1.0
    types = by_type(items, records)
    assert types["unanswerable"]["refusal.rate_unanswerable"] == 0.5
    assert types["factoid"]["refusal.rate_unanswerable"] is None


# ---- configs, files, baseline offsets --------------------------------------------------
def test_parse_config_inline_and_json(tmp_path: Path) -> None:
    base = Settings()
    name, s = parse_config("top_k=8,chunk_tokens=128,fallback_to_extractive=no", base)
    assert (name, s.top_k, s.chunk_tokens, s.fallback_to_extractive) == (
        "top_k=8,chunk_tokens=128,fallback_to_extractive=no", 8, 128, False)
    path = tmp_path / "small.json"
    path.write_text(json.dumps({"refusal_threshold": 0.5, "file_filter": ["a.txt", "b.txt"]}))
    name, s = parse_config(str(path), base)
    assert (name, s.refusal_threshold, s.file_filter) == ("small", 0.5, ("a.txt", "b.txt"))


@pytest.mark.parametrize("bad", ["top_kk=3", "top_k=three", "top_k", "chunk_overlap=500", "", "nope.json"])
def test_parse_config_rejects_bad_configs_with_a_message(bad: str) -> None:
    with pytest.raises(ConfigError):
        parse_config(bad, Settings())


def test_eval_command_rejects_a_bad_config_before_any_work(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a Settings field"):
        eval_main(["--split", "dev", "--compare", "top_kk=1", "--out", str(tmp_path / "r")])
    assert not (tmp_path / "r").exists()


def test_index_dir_is_shared_only_by_configs_with_the_same_chunking(tmp_path: Path) -> None:
    a, b = Settings(top_k=3), Settings(top_k=8)
    assert index_dir(tmp_path, a) == index_dir(tmp_path, b)
    assert index_dir(tmp_path, a) != index_dir(tmp_path, a.replace(chunk_tokens=128))
    assert Config("x", Settings(top_k=8)).ks == (2, 5, 8)


def test_raw_files_keep_crlf_and_offsets(tmp_path: Path) -> None:
    (tmp_path / "w.txt").write_bytes("one\r\ntwo three".encode())
    raws = RawFiles(tmp_path)
    raw = raws.get("w.txt")
    assert raw == "one\r\ntwo three" and locate("two three", raw or "") == (5, 14)
    assert raws.get("missing.txt") is None


def test_raw_files_resolve_gold_file_names_written_elsewhere(tmp_path: Path) -> None:
    docs = tmp_path / "seeds"
    (docs / "sub").mkdir(parents=True)
    (docs / "a.txt").write_text("alpha", encoding="utf-8")
    (docs / "sub" / "b.txt").write_text("beta", encoding="utf-8")
    raws = RawFiles(docs)
    for name in ("a.txt", "seeds/a.txt", "./seeds/a.txt", str(docs / "a.txt"), "x/y/a.txt"):
        assert raws.resolve(name) == "a.txt", name
    assert raws.resolve("b.txt") == "sub/b.txt"  # a bare name unique in the folder
    assert raws.resolve("seeds/sub/b.txt") == "sub/b.txt"
    assert raws.resolve("c.txt") is None and raws.resolve(str(tmp_path / "a.txt")) is None
    (docs / "sub" / "a2").mkdir()
    (docs / "sub" / "a2" / "b.txt").write_text("beta", encoding="utf-8")
    assert raws.resolve("b.txt") is None  # two files of that name: which one is not guessed
    items = resolve_files([{"id": "i", "evidence": [{"file": "seeds/a.txt", "quote": "alpha"}, "bad"]}], raws)
    assert items[0]["evidence"] == [{"file": "a.txt", "quote": "alpha"}, "bad"]


class _Node:
    def __init__(self, text: str, start: int | None, end: int | None) -> None:
        self.text, self.start_char_idx, self.end_char_idx = text, start, end

    def get_content(self) -> str:
        return self.text


def test_baseline_node_span_prefers_offsets_then_searches() -> None:
    assert node_span(_Node(QUOTE, Q.start, Q.end), RAW) == (Q.start, Q.end)
    assert node_span(_Node(QUOTE, 0, 5), RAW) == (Q.start, Q.end)  # wrong offsets: searched
    assert node_span(_Node("The treaty  was\nsigned in Moscow", None, None), RAW) == (Q.start, Q.start + 31)
    assert node_span(_Node("not in the file at all", None, None), RAW) == (-1, -1)


# ---- LLM judge: a real llama.cpp server with the small model (plumbing, not quality) -------
def test_judge_returns_a_yes_no_verdict_from_a_real_server(small_llm_server: LocalServer) -> None:
    judge = M.Judge(small_llm_server.base_url, "", small_llm_server.model)
    verdict = judge.supports("The treaty was signed in Moscow.", [QUOTE])
    assert isinstance(verdict, bool)
    assert isinstance(judge.correct("Where was it signed?", "Moscow", "In Moscow."), bool)


def test_judge_reports_an_unreachable_endpoint_as_a_backend_error() -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    judge = M.Judge(f"http://127.0.0.1:{port}/v1", "", "local", timeout=5)
    with pytest.raises(BackendError, match="run without --judge"):
        judge.supports("x", ["y"])


def test_a_gold_file_without_splits_or_types_is_evaluated_whole(tmp_path: Path) -> None:
    from evals.runner import load_items
    from rag.errors import ConfigError

    gold = tmp_path / "heldout.jsonl"
    gold.write_text(
        '{"id": "h1", "question": "Q?", "answer": "A", "evidence": [{"file": "f.txt", "quote": "x"}]}\n'
        '{"id": "h2", "question": "Q2?", "answer": "", "evidence": []}\n', encoding="utf-8")
    items = load_items(gold, "dev")
    assert [i["id"] for i in items] == ["h1", "h2"]
    assert [i["type"] for i in items] == ["untyped", "unanswerable"]
    gold.write_text('{"id": "h3", "answer": "A"}\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="h3 has no question or evidence"):
        load_items(gold, "all")


def test_a_gold_file_with_its_own_split_names(tmp_path: Path) -> None:
    from evals.runner import load_items
    from rag.errors import ConfigError

    gold = tmp_path / "heldout.jsonl"
    gold.write_text(
        '{"id": "h1", "question": "Q?", "split": "heldout", "evidence": []}\n'
        '{"id": "h2", "question": "Q2?", "split": "extra", "evidence": []}\n', encoding="utf-8")
    assert [i["id"] for i in load_items(gold, None)] == ["h1", "h2"]  # no dev split: every item
    assert [i["id"] for i in load_items(gold, "heldout")] == ["h1"]
    with pytest.raises(ConfigError, match="no 'test' items: its splits are extra, heldout"):
        load_items(gold, "test")
    gold.write_text('{"id": "d1", "question": "Q?", "split": "dev", "evidence": []}\n'
                    '{"id": "t1", "question": "Q?", "split": "test", "evidence": []}\n', encoding="utf-8")
    assert [i["id"] for i in load_items(gold, None)] == ["d1"]  # the default: dev


def test_rag_eval_runs_a_held_out_file_without_a_dev_split(tmp_path: Path) -> None:
    from rag.eval_cli import main

    gold = tmp_path / "heldout.jsonl"
    quote = "Azerbaijan has sought to invest in DUNARIT Corporation, Arcus Co., and Armaco JSC"
    gold.write_text(json.dumps({"id": "h1", "question": "Which Bulgarian arms makers did Azerbaijan try to invest in?",
                                "answer": "DUNARIT, Arcus, Armaco", "type": "factoid", "split": "heldout",
                                "evidence": [{"file": "000_c138998a30d41faa.txt", "quote": quote}]}) + "\n",
                    encoding="utf-8")
    out = tmp_path / "report"
    assert main(["--gold", str(gold), "--no-baseline", "--out", str(out),
                 "--index-dir", str(tmp_path / "indexes")]) == 0
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert [i["id"] for i in report["items"]] == ["h1"]
    assert report["meta"]["args"]["split"] == "all"


def test_locate_loose_forgives_quote_marks_dashes_case_and_hyphenation() -> None:
    from evals.check_gold import locate_loose

    raw = "It said: “the road has not been blocked” and Russia’s posi-\n tion was equi- distant—as ever."
    start, end = locate_loose("\"The road has not been blocked\" and Russia's position was equidistant-as ever.", raw)
    assert (start, end) == (9, len(raw))
    assert locate_loose("the road", raw) == (10, 18)  # strict match first
    with pytest.raises(ValueError, match="quote not found"):
        locate("Russia's position", raw)  # the strict check our own gold set passes
    with pytest.raises(ValueError, match="quote not found"):
        locate_loose("the road was blocked", raw)


def test_locate_loose_reads_an_ellipsis_as_left_out_text() -> None:
    from evals.check_gold import ELLIPSIS_GAP, locate_loose

    raw = "Intro. The treaty was signed in Moscow, after long talks on many points, by both leaders. End."
    start = raw.index("The treaty")
    for quote in ("The treaty was signed in Moscow … by both leaders.", "The treaty was signed in Moscow [...] by both leaders.",
                  "The treaty was signed in Moscow...by both leaders."):
        assert locate_loose(quote, raw) == (start, raw.index(" End."))
    with pytest.raises(ValueError, match="quote not found"):
        locate_loose("by both leaders … The treaty", raw)  # the pieces must come in order
    far = "The treaty was signed." + " filler" * ELLIPSIS_GAP + " By both leaders."
    with pytest.raises(ValueError, match="quote not found"):
        locate_loose("The treaty was signed … By both leaders.", far)  # too far apart to be one quote


def test_rag_eval_stops_on_unscorable_gold_before_indexing_and_skips_it_on_request(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("The treaty was signed in Moscow in 2022 by both leaders. " * 3, encoding="utf-8")
    good = {"id": "ok", "question": "Where was the treaty signed?", "answer": "Moscow", "type": "factoid",
            "evidence": [{"file": "a.txt", "quote": "The treaty was signed in Moscow in 2022"}]}
    named = [{**good, "id": "prefixed", "evidence": [{"file": "docs/a.txt", "quote": good["evidence"][0]["quote"]}]},
             {**good, "id": "absolute", "evidence": [{"file": str(docs / "a.txt"),
                                                       "quote": good["evidence"][0]["quote"]}]}]
    bad = [{**good, "id": "lost", "evidence": [{"file": "a.txt", "quote": "signed in Paris"}]},
           {**good, "id": "nofile", "evidence": [{"file": "b.txt", "quote": "The treaty"}]},
           {**good, "id": "shape", "evidence": ["The treaty was signed"]}]
    gold = tmp_path / "g.jsonl"
    gold.write_text("".join(json.dumps(i) + "\n" for i in [good, *named, *bad]), encoding="utf-8")
    indexes = tmp_path / "indexes"
    args = ["--gold", str(gold), "--docs", str(docs), "--no-baseline", "--index-dir", str(indexes),
            "--out", str(tmp_path / "r")]
    with pytest.raises(ConfigError) as err:
        eval_main(args)
    msg = str(err.value)
    assert "3 of 6 gold items" in msg and "--skip-invalid" in msg
    assert "lost: evidence 1: quote not found in a.txt" in msg
    assert "nofile: evidence 1 cites b.txt" in msg and "shape: evidence 1 is" in msg
    assert not indexes.exists()  # failed before any index was built
    assert eval_main([*args, "--skip-invalid"]) == 0
    report = json.loads((tmp_path / "r" / "report.json").read_text(encoding="utf-8"))
    assert [i["id"] for i in report["items"]] == ["ok", "prefixed", "absolute"]
    # a file named with its folder or by absolute path is the same file: scored alike, not as a miss
    hits = [i["results"]["default"]["scores"]["hybrid"]["hit_all@5"] for i in report["items"]]
    assert hits == [1.0, 1.0, 1.0]
    assert {ev["file"] for i in report["items"] for ev in i["evidence"]} == {"a.txt"}
    assert set(report["meta"]["skipped_items"]) == {"lost", "nofile", "shape"}
    assert "Left out, their evidence not found" in (tmp_path / "r" / "report.md").read_text(encoding="utf-8")


def test_a_gold_file_that_is_not_json_lines_is_a_config_error(tmp_path: Path) -> None:
    gold = tmp_path / "g.jsonl"
    gold.write_text('{"id": "a", "question": "Q?"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"g.jsonl:1: invalid JSON.*one JSON object per line"):
        eval_main(["--gold", str(gold), "--no-baseline", "--out", str(tmp_path / "r")])
