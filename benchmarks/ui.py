"""The web page in headless Chromium: screenshots of each view, and the projector with 100,000 points.

Run: .venv/bin/python benchmarks/ui.py   (needs Debian's chromium and playwright, as `make test`)

`embedlab serve -c ui.json` serves MiniLM, the bundled 15,000 x 100 English sample vectors and
100,000 x 100 points in 20 planted groups for the projector, an FAQ, an `eval run` report of the sample
vectors (word similarity) and the training log of `finetune classify` when benchmarks/_work has
one. Chromium (swiftshader WebGL: software rendering on 2 CPU cores, no GPU) opens each view and
screenshots it into benchmarks/ui/. The projector figures: time from the click to the first
frame (the server's PCA plus transfer and upload) and to the first draw, and frames per second
while rotating: the page turning the view every animation frame for 5 s (each frame a draw of
every point, finished before the next), and a 5 s mouse drag, counted in Chromium's performance
timeline (DrawFrame events of a trace) as the frames the compositor drew.

The peer: TensorBoard's Embedding Projector (the `tensorboard` of `make bench-env`) on the same
100,000 points, exported as it reads them (tensors as float32 bytes, metadata.tsv,
projector_config.pbtxt), a fresh TensorBoard process, the same Chromium: time from opening the
page to its PCA drawn (its "Total variance described" shown), and the same traced mouse drag.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

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


def traced_drag(
    browser: Any, page: Any, box: dict[str, float], seconds: float = 5.0
) -> dict[str, Any]:
    """A mouse drag across the middle of ``box`` for ``seconds``, traced: the frames Chromium's
    compositor drew (DrawFrame events) and the mouse events sent."""
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx, cy)
    browser.start_tracing(page=page, categories=["devtools.timeline",
                          "disabled-by-default-devtools.timeline.frame"])  # fmt: skip
    page.mouse.down()
    t0 = time.perf_counter()
    step = 0
    while time.perf_counter() - t0 < seconds:
        step += 1
        page.mouse.move(cx + 200 * ((step % 40) / 20 - 1), cy + 30, steps=1)
    page.mouse.up()
    took = time.perf_counter() - t0
    trace = json.loads(browser.stop_tracing())
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    drawn = sum(1 for e in events if e.get("name") == "DrawFrame")
    return {"frames": drawn, "seconds": took, "events": step}


def tensorboard_projector(browser: Any, vectors: Path) -> dict[str, Any] | None:
    """The same points in TensorBoard's projector: time to its first PCA drawn, a traced drag."""
    exe = ROOT / ".bench-venv" / "bin" / "tensorboard"
    if not exe.exists():
        print("TensorBoard: not in .bench-venv (make bench-env); its column is left out")
        return None
    import httpx
    import numpy as np

    from embedlab.vectors import Vectors

    vec = Vectors.load(vectors)
    log = WORK / "ui" / "tensorboard"
    log.mkdir(parents=True, exist_ok=True)
    np.asarray(vec.vectors, dtype="<f4").tofile(log / "tensors.bytes")
    (log / "metadata.tsv").write_text("\n".join(vec.index_to_key) + "\n")
    (log / "projector_config.pbtxt").write_text(
        'embeddings {\n  tensor_name: "planted"\n  tensor_path: "tensors.bytes"\n'
        f"  tensor_shape: {len(vec)}\n  tensor_shape: {vec.vectors.shape[1]}\n"
        '  metadata_path: "metadata.tsv"\n}\n'
    )
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [str(exe), "--logdir", str(log), "--host", "127.0.0.1", "--port", str(port)]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/data/plugin/projector/runs", timeout=2)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        start = time.perf_counter()
        page.goto(f"http://127.0.0.1:{port}/#projector")
        frame = None
        while frame is None:  # the projector runs in an iframe inside the plugin's iframe
            frame = next((f for f in page.frames if "projector_binary" in f.url), None)
            page.wait_for_timeout(50)
        frame.wait_for_selector("text=Total variance described", timeout=600_000)
        first = time.perf_counter() - start
        approximate = frame.locator("text=PCA is approximate").count() > 0
        boxes = [c.bounding_box() for c in frame.locator("canvas").all()]
        box = max((b for b in boxes if b), key=lambda b: b["width"] * b["height"])
        page.wait_for_timeout(2000)  # its intro animation
        dragged = traced_drag(browser, page, box)
        page.screenshot(path=str(OUT / "tensorboard-planted-100k.png"))
        page.close()
        return {"first": first, "dragged": dragged, "approximate": approximate}
    finally:
        server.terminate()
        server.wait(30)


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
            dragged = traced_drag(browser, page, box)
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
            peer = tensorboard_projector(browser, planted())
            browser.close()
        rows.append(["points", "100,000 (planted groups, 100 dims)", "the same", ""])
        tb = ["(not measured)"] * 3
        if peer is not None:
            d = peer["dragged"]
            tb = [f"{peer['first']:.1f} s", f"{d['frames'] / d['seconds']:.1f} frames/s",
                  f"{d['events']} in {d['seconds']:.1f} s"]  # fmt: skip
        sampled = (
            " (its PCA 'approximate': fitted on a sample)" if peer and peer["approximate"] else ""
        )
        rows.append(["time to the first draw of the PCA", f"{to_frame:.1f} s", tb[0],
                     f"embedlab: click to frame ({status}); TensorBoard: page opened to its PCA "
                     f"drawn{sampled}"])  # fmt: skip
        rows.append(["frames drawn while dragging (trace DrawFrame)",
                     f"{dragged['frames'] / dragged['seconds']:.1f} frames/s", tb[1],
                     "a 5 s mouse drag rotating the 3D view"])  # fmt: skip
        rows.append(["mouse events taken while dragging",
                     f"{dragged['events']} in {dragged['seconds']:.1f} s", tb[2],
                     "a busy page takes fewer: Playwright waits for each"])  # fmt: skip
        rows.append(["frames while turning every animation frame",
                     f"{spun['frames'] / spun['seconds']:.1f} frames/s", "-",
                     f"Projector.spin: {spun['frames']} full draws in {spun['seconds']:.1f} s "
                     "(gl.finish)"])  # fmt: skip
    finally:
        server.terminate()
        server.wait(30)
    print(table(["projector (headless Chromium, swiftshader)", "embedlab", "TensorBoard 2.21",
                 "note"], rows))  # fmt: skip
    print(f"\nscreenshots: {', '.join(sorted(p.name for p in OUT.glob('*.png')))} in {OUT}")


if __name__ == "__main__":
    main()
