"""Training a text-image model on the English photos (LiT, locked MiniLM text tower).

Run: .venv/bin/python benchmarks/train_clip.py [--minutes 15]

``embedlab train clip`` on the 991 train photos of ../shared/data/image_caption/en_photos (10% of
them held out as the dev split that picks the best model; 5 captions each), image tower a random
basic-block ResNet (widths 64-512, two blocks a stage; ``--width``) on 128 px crops
(``--image-size``), batch 64, lr 1e-3, bf16 where the CPU has it, ``--epochs`` (100) unless
``--minutes`` run out first. These defaults won on the dev photos (best mean recall 0.267,
against 0.236 for widths 32-256 on 96 px crops over 200 epochs). Then the saved model is
evaluated by ``embedlab eval run``'s en-photos task on the 248 test photos (1,240 captions):
text->image and image->text recall@1/5/10 and median rank, next to chance (k / 248).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

from _common import SHARED, WORK, machine, table

PHOTOS = SHARED / "image_caption" / "en_photos"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=15.0)
    ap.add_argument("--epochs", type=float, default=100)
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--image-size", type=int, default=128)
    ap.add_argument("--out", default="lit_en_photos")
    a = ap.parse_args()
    out = WORK / a.out
    print(f"# train clip on en_photos ({machine()}, {time.strftime('%Y-%m-%d')})\n", flush=True)
    start = time.perf_counter()
    cmd = [
        sys.executable, "-m", "embedlab", "-q", "train", "clip", str(PHOTOS / "captions.tsv"),
        str(PHOTOS / "images"), "-o", str(out), "--split-table", str(PHOTOS / "split.tsv"),
        "--split", "train", "--epochs", str(a.epochs), "--max-time", str(a.minutes * 60),
        "--width", str(a.width), "--image-size", str(a.image_size),
        "--tensorboard", str(out / "tb"), "--every", "200",
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    print(done.stdout, flush=True)
    took = time.perf_counter() - start
    from embedlab.encoders import load_encoder
    from embedlab.evaluate import evaluate

    report = evaluate({"lit": load_encoder(out / "model")}, ["en-photos"], data_dir=str(SHARED))
    score = report.get("lit", "en-photos")
    assert score is not None and score.main is not None
    m = score.metrics
    rows = []
    for way, chance_pool in (("text_to_image", m["images"]), ("image_to_text", None)):
        for k in (1, 5, 10):
            chance = "-" if chance_pool is None else f"{100 * k / chance_pool:.1f}%"
            rows.append(
                [way.replace("_", " "), f"recall@{k}", f"{100 * m[f'{way}_r{k}']:.1f}%", chance]
            )
        rows.append([way.replace("_", " "), "median rank", f"{m[f'{way}_median_rank']:.0f}", "-"])
    print(
        f"training + evaluation: {took / 60:.1f} min; test: {m['images']} photos, {m['captions']} captions\n"
    )
    print(table(["direction", "metric", "LiT (MiniLM locked, ResNet trained)", "chance"], rows))
    log = [json.loads(x) for x in (out / "train_log.jsonl").read_text().splitlines() if x]
    evals = [r for r in log if "eval/mean_recall" in r]
    curve = [(int(r["step"]), round(r["eval/mean_recall"], 3)) for r in evals]
    print(f"\ndev mean recall (every 10th evaluation): {curve[::10]}")


if __name__ == "__main__":
    main()
