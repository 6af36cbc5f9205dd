"""Measure the UI and refresh docs/screenshot.png: `python tests/ui_screenshot.py [--persist DIR]`.

Starts app.py over the seeds (building their index into a temp folder unless --persist holds
one), then reports: seconds from start to HTTP 200 and to a usable chat, and seconds from
pressing Enter to the first streamed words and to the finished answer in the browser.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ui_app import ROOT, chromium, run_app  # noqa: E402

QUESTION = "When did Aliyev and Putin sign the declaration on allied interaction, and where?"
SECOND = "Which summit meeting did Ilham Aliyev skip in October 2023, and where was it held?"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--persist", help="an index of the seeds (default: build one in a temp folder)")
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshot.png"))
    parser.add_argument("--generator", default="extractive")
    parser.add_argument("--extra", help="also save a picture of the Corpus tab in this folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        persist = Path(args.persist) if args.persist else Path(tmp) / "index"
        if not (persist / "chroma.sqlite3").exists():
            from rag import Index, Settings

            print(f"building the seeds index in {persist} ...", file=sys.stderr)
            Index.build(Settings(docs_dir=str(ROOT / "seeds"), persist_dir=str(persist)))
        with chromium(Path(tmp) / "profile") as context:
            page = context.new_page()
            t0 = time.perf_counter()
            stack = contextlib.ExitStack()
            url, http_ok = stack.enter_context(run_app(ROOT / "seeds", persist, Path(tmp) / "app.log"))
            page.goto(url)
            page.locator("#rg-question textarea").wait_for(state="visible", timeout=120_000)
            usable = time.perf_counter() - t0
            if args.generator != "extractive":
                page.locator("#rg-generator input").click()
                page.get_by_role("option", name=args.generator).click()
            box = page.locator("#rg-question textarea")
            box.fill(QUESTION)
            t1 = time.perf_counter()
            box.press("Enter")
            page.wait_for_function(
                "(() => { const t = document.querySelector('#rg-chat .rg-a .rg-text');"
                " return t && !t.querySelector('.rg-dim') && t.innerText.trim().length > 0; })",
                timeout=300_000, polling=10,
            )
            first = time.perf_counter() - t1
            page.locator("#rg-chat .rg-a.rg-done, #rg-chat .rg-a.rg-refused").wait_for(timeout=300_000)
            done = time.perf_counter() - t1
            box.fill(SECOND)  # a second turn with several sources makes a more telling picture
            box.press("Enter")
            page.locator("#rg-chat .rg-turn").nth(1).locator(".rg-a.rg-done, .rg-a.rg-refused").wait_for(
                timeout=300_000)
            refs = page.locator("#rg-chat .rg-turn").nth(1).locator(".rg-ref a")
            if refs.count():
                refs.last.click()
                page.locator("#rg-mark").wait_for()
            page.mouse.move(0, 0)
            page.wait_for_timeout(500)
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=args.out)
            if args.extra:
                page.get_by_role("tab", name="Corpus").click()
                page.wait_for_timeout(300)
                page.screenshot(path=str(Path(args.extra) / "corpus.png"))
            stack.close()
        print(f"HTTP 200 after {http_ok:.2f} s; chat usable after {usable:.2f} s; {args.generator}: first words "
              f"{first:.2f} s, answer {done:.2f} s after Enter; screenshot {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
