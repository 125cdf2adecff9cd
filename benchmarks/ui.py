"""The web page in headless Chromium: screenshots of each view, and the projector with 100,000 points.

Run: .venv/bin/python benchmarks/ui.py   (needs Debian's chromium and playwright, as `make test`)

`embedlab serve -c ui.json` serves MiniLM, the bundled 15,000 x 100 English sample vectors and
100,000 x 100 points in 20 planted groups for the projector, an FAQ, an `eval run` report of the sample
vectors (word similarity) and the training log of `finetune classify` when benchmarks/_work has
one. Chromium (swiftshader WebGL: software rendering on 2 CPU cores, no GPU) opens each view and
screenshots it into benchmarks/ui/. The projector figures: time from the click to the first
frame (the server's PCA plus transfer and upload) and to the first draw, and frames per second
while rotating: the page turning the view every animation frame for 5 s (each frame a draw of
every point, finished before the next), and a mouse drag (one frame per event Playwright sends).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

from _common import ROOT, SHARED, WORK, machine, start_server, table

OUT = ROOT / "benchmarks" / "ui"


def planted(n: int = 100_000, dim: int = 100) -> Path:
    """``n`` points in 20 planted groups (a group's centre plus noise), keys ``p0``...: what the
    frame rate depends on is the number of points, not what they mean."""
    path = WORK / f"ui_planted_{n // 1000}k.embedlab"
    if not path.exists():
        import numpy as np

        from embedlab.io import save_vectors
        from embedlab.vectors import Vectors

        rng = np.random.default_rng(0)
        centres = rng.normal(size=(20, dim))
        x = centres[np.arange(n) % 20] + 0.8 * rng.normal(size=(n, dim))
        save_vectors(Vectors([f"p{i}" for i in range(n)], x.astype(np.float32)), path)
    return path


def report(folder: Path) -> None:
    from embedlab.cli.demo import sample_path
    from embedlab.evaluate import evaluate
    from embedlab.evaluate.report_files import save_report
    from embedlab.io import load_vectors
    from embedlab.vectors import Vectors

    full = load_vectors(sample_path())
    small = Vectors(list(full.index_to_key[:5000]), full.vectors[:5000])
    tasks = ["ws353", "simlex999"]
    scores = evaluate({"sample-15k": full, "sample-5k": small}, tasks, data_dir=str(SHARED))
    save_report(scores, folder, plots=False)


def main() -> None:
    from playwright.sync_api import sync_playwright

    from embedlab.apps import FAQ
    from embedlab.cli.demo import sample_path
    from embedlab.encoders import load_encoder

    print(f"# web page ({machine()}, {time.strftime('%Y-%m-%d')})\n", flush=True)
    work = WORK / "ui"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    OUT.mkdir(exist_ok=True)
    report(work / "eval")
    FAQ.build(work / "faq", load_encoder(None),
              ["How do I reset my password?", "Where is my parcel?", "Do you take PayPal?"],
              ["Use the 'Forgot password' link.", "Track it under Orders.",
               "We accept cards and <b>PayPal</b>."])  # fmt: skip
    config = {
        "models": {"minilm": "default"},
        "faqs": {"help": {"path": str(work / "faq")}},
        "vectors": {"english-15k": str(sample_path()), "planted-100k": str(planted())},
        "reports": {"word-similarity": str(work / "eval")},
    }
    log = WORK / "fin_clf" / "train_log.jsonl"
    if log.exists():
        config["runs"] = {"finetune-classify": str(log)}
    (work / "ui.json").write_text(json.dumps(config))
    server, url = start_server(["-c", str(work / "ui.json")], dict(os.environ))
    rows = []
    try:
        exe = shutil.which("chromium") or shutil.which("chromium-browser")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=exe, headless=True, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url + "/#playground")
            page.wait_for_selector("#model option[value=minilm]", state="attached")
            page.select_option("#faq", "help")
            page.click("#compare")
            page.wait_for_selector("#answers .hits:nth-child(4) p")
            page.screenshot(path=str(OUT / "playground.png"), full_page=True)

            page.goto(url + "/#projector")
            page.wait_for_selector("#pj-source option[value='english-15k']", state="attached")
            page.select_option("#pj-source", "english-15k")
            page.click("#pj-go")
            page.wait_for_selector("#pj-canvas[data-points]", timeout=300_000)
            page.select_option("#pj-colour", "cluster")
            page.fill("#pj-search", "king")
            page.press("#pj-search", "Enter")
            page.wait_for_selector("#pj-neighbours li[data-key]")
            page.screenshot(path=str(OUT / "projector-english-15k.png"), full_page=True)

            page.reload()
            page.wait_for_selector("#pj-source option[value='planted-100k']", state="attached")
            page.select_option("#pj-source", "planted-100k")
            start = time.perf_counter()
            page.click("#pj-go")
            page.wait_for_selector("#pj-canvas[data-points='100000']", timeout=600_000)
            to_frame = time.perf_counter() - start
            status = page.inner_text("#pj-status")
            page.select_option("#pj-colour", "cluster")
            box = page.query_selector("#pj-canvas").bounding_box()
            cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
            before = page.evaluate("Projector.stats()")
            page.mouse.move(cx, cy)
            page.mouse.down()
            t0 = time.perf_counter()
            step = 0
            while time.perf_counter() - t0 < 5.0:
                step += 1
                page.mouse.move(cx + 200 * ((step % 40) / 20 - 1), cy + 30, steps=1)
            page.mouse.up()
            seconds = time.perf_counter() - t0
            after = page.evaluate("Projector.stats()")
            dragged = (after["frames"] - before["frames"]) / seconds
            spun = page.evaluate("Projector.spin(5000)")
            page.screenshot(path=str(OUT / "projector-planted-100k.png"), full_page=True)

            page.goto(url + "/#reports")
            page.wait_for_selector("#report option[value='word-similarity']", state="attached")
            page.select_option("#report", "word-similarity")
            page.wait_for_selector("#report-table td[data-value]")
            if "runs" in config:
                page.select_option("#run", "finetune-classify")
                page.wait_for_selector("#run-charts .series")
            page.screenshot(path=str(OUT / "reports.png"), full_page=True)
            browser.close()
        rows.append(["points", "100,000 (planted groups, 100 dims)", ""])
        rows.append(["click to first frame", f"{to_frame:.1f} s", status])
        rows.append(["frames while rotating (every animation frame)",
                     f"{spun['frames'] / spun['seconds']:.1f} frames/s",
                     f"{spun['frames']} frames in {spun['seconds']:.1f} s, each a full draw "
                     "of 100,000 points finished (gl.finish)"])  # fmt: skip
        rows.append(["frames while dragging with the mouse", f"{dragged:.1f} frames/s",
                     f"{after['frames'] - before['frames']} frames in {seconds:.1f} s: one a "
                     "mouse event Playwright sends (its round trip bounds it)"])  # fmt: skip
    finally:
        server.terminate()
        server.wait(30)
    print(table(["projector (headless Chromium, swiftshader)", "value", "note"], rows))
    print(f"\nscreenshots: {', '.join(sorted(p.name for p in OUT.glob('*.png')))} in {OUT}")


if __name__ == "__main__":
    main()
