"""Batch embedding on Ray against in-process ``embed``: the overhead of the Ray job on one machine.

Run: .venv/bin/python benchmarks/ray_embed.py [SENTENCES] [ROUNDS]   (default 50,000 and 1)

The sentences: every STS-B English sentence (train, dev, test; no scores used) and then Gutenberg
sentences of 10-40 words up to SENTENCES, as ten JSONL files. Both sides run all-MiniLM-L6-v2 on
torch with 2 threads (the 2 cores), each as the command a user types, timed whole (process start,
model load, reading, encoding, writing; Ray's start and its actor's too):

- in-process: ``embedlab embed all.jsonl -o out.parquet --threads 2``
- Ray: ``embedlab embed in/ -o out/ --ray --actors 1 --threads 2`` (a local Ray, one actor)

Rounds alternate the two (this host drifts 10-20% within minutes). The goal: Ray >= 85% of the
in-process throughput. Then a fault run: a Ray job over the first 10,000 sentences whose actor
process is killed (SIGKILL) once its first shard is written; the job must finish with every id
exactly once and the vectors of the undisturbed run. Vectors of the two sides are compared too.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from _common import SHARED, WORK, machine, table

BIN = Path(sys.executable).parent
BASE = WORK / "ray_embed"
ENV = {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}


def sentences(n: int) -> list[str]:
    seen: dict[str, None] = {}
    for split in ("train", "dev", "test"):
        with open(
            SHARED / "sts" / "stsb" / f"stsb-en-{split}.csv", encoding="utf-8", newline=""
        ) as f:
            for row in csv.reader(f):
                seen.update(dict.fromkeys(row[:2]))
    text = re.sub(r"\s+", " ", (SHARED / "corpora" / "en_gutenberg_10m.txt").read_text("utf-8"))
    for s in re.split(r"(?<=[.!?])\s+", text):
        if len(seen) >= n:
            break
        if 10 <= len(s.split()) <= 40:
            seen[s] = None
    return list(seen)[:n]


def write_inputs(texts: list[str], folder: Path, files: int) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    per = -(-len(texts) // files)
    for k in range(files):
        with open(folder / f"part-{k:02d}.jsonl", "w", encoding="utf-8") as f:
            for i in range(k * per, min((k + 1) * per, len(texts))):
                f.write(json.dumps({"id": f"s{i}", "text": texts[i]}) + "\n")
    return folder


def timed(cmd: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=ENV, capture_output=True, text=True, check=False)
    took = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
    return took, proc.stdout


def in_process(inputs: Path, out: Path) -> float:
    joined = inputs.with_name(inputs.name + ".all.jsonl")  # the same records as one file
    if not joined.exists():
        joined.write_text("".join(f.read_text("utf-8") for f in sorted(inputs.glob("*.jsonl"))))
    out.unlink(missing_ok=True)
    return timed([str(BIN / "embedlab"), "embed", str(joined), "-o", str(out), "--threads", "2"])[0]


def on_ray(inputs: Path, out: Path) -> float:
    shutil.rmtree(out, ignore_errors=True)
    cmd = [str(BIN / "embedlab"), "embed", str(inputs), "-o", str(out), "--ray", "--actors", "1",
           "--threads", "2"]  # fmt: skip
    return timed(cmd)[0]


def read_folder(out: Path) -> pa.Table:
    return pa.concat_tables([pq.read_table(f) for f in sorted(out.glob("part-*.parquet"))])


def actor_pids() -> list[int]:
    pids = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if b"MapWorker(MapBatches(ShardEmbedder))" in cmdline.read_bytes():
                pids.append(int(cmdline.parent.name))
        except OSError:
            continue
    return pids


def fault_run(inputs: Path, out: Path) -> tuple[int, str]:
    """A Ray job whose actor is killed once the first shard is on disk: (pid killed, stdout)."""
    shutil.rmtree(out, ignore_errors=True)
    cmd = [str(BIN / "embedlab"), "embed", str(inputs), "-o", str(out), "--ray", "--actors", "1",
           "--threads", "2", "--shard-rows", "1000"]  # fmt: skip
    proc = subprocess.Popen(cmd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    killed = 0
    while proc.poll() is None and not killed:
        if any(out.glob("part-*.parquet")):
            pids = actor_pids()
            if pids:
                os.kill(pids[0], signal.SIGKILL)
                killed = pids[0]
        time.sleep(0.05)
    stdout, stderr = proc.communicate(timeout=1800)
    if proc.returncode != 0:
        raise SystemExit(f"fault run failed:\n{stdout[-2000:]}\n{stderr[-3000:]}")
    return killed, stdout


def driver_kill_run(inputs: Path, out: Path) -> tuple[int, dict[str, tuple[int, int]], str]:
    """A job whose driver is killed (SIGKILL) once two shards are on disk, then rerun: (shards
    on disk at the kill, their inode and mtime then, the rerun's stdout)."""
    shutil.rmtree(out, ignore_errors=True)
    cmd = [str(BIN / "embedlab"), "embed", str(inputs), "-o", str(out), "--ray", "--actors", "1",
           "--threads", "2", "--shard-rows", "500"]  # fmt: skip
    proc = subprocess.Popen(cmd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while proc.poll() is None and len(list(out.glob("part-*.parquet"))) < 2:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    kept = {f.name: (f.stat().st_ino, f.stat().st_mtime_ns) for f in out.glob("part-*.parquet")}
    return len(kept), kept, timed(cmd)[1]


def faults(texts: list[str], undisturbed: np.ndarray) -> None:
    sub = write_inputs(texts[:10_000], BASE / "in_small", 10)
    want = [f"s{i}" for i in range(min(10_000, len(texts)))]
    killed, stdout = fault_run(sub, BASE / "fault_out")
    got = read_folder(BASE / "fault_out")
    ids = got.column("id").to_pylist()
    v = np.asarray(got.column("embedding").to_pylist(), np.float32)
    print(
        f"killed actor: pid {killed or 'none found'} killed after the first shard; {len(ids):,} "
        f"rows, {len(set(ids)):,} distinct ids, every id once and in order: {ids == want}, "
        f"max |diff| vs the undisturbed run {np.abs(v - undisturbed[: len(want)]).max():.2e}"
    )
    print("  " + stdout.strip().replace("\n", "\n  "))
    n, kept, stdout = driver_kill_run(sub, BASE / "driver_out")
    got = read_folder(BASE / "driver_out")
    ids = got.column("id").to_pylist()
    v = np.asarray(got.column("embedding").to_pylist(), np.float32)
    untouched = all(
        (f.stat().st_ino, f.stat().st_mtime_ns) == kept[f.name]
        for f in (BASE / "driver_out").glob("part-*.parquet")
        if f.name in kept
    )
    print(
        f"killed driver: {n} shards on disk at the kill, kept untouched by the rerun: {untouched}; "
        f"after the rerun {len(ids):,} rows, every id once and in order: {ids == want}, max |diff| "
        f"vs the undisturbed run {np.abs(v - undisturbed[: len(want)]).max():.2e}"
    )
    print("  " + stdout.strip().replace("\n", "\n  "))


def main() -> None:
    if sys.argv[1:2] == ["--faults"]:  # only the fault runs, against a fresh in-process reference
        n = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
        texts = sentences(n)
        write_inputs(texts, BASE / "ref_in", 1)
        (BASE / "ref_in.all.jsonl").unlink(missing_ok=True)
        in_process(BASE / "ref_in", BASE / "ref.parquet")
        ref = pq.read_table(BASE / "ref.parquet")
        faults(texts, np.asarray(ref.column("embedding").to_pylist(), np.float32))
        return
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    print(f"# Ray batch embedding ({machine()}, {n:,} sentences, {time.strftime('%Y-%m-%d')})\n")
    BASE.mkdir(parents=True, exist_ok=True)
    texts = sentences(n)
    inputs = write_inputs(texts, BASE / "in", 10)
    (BASE / "in.all.jsonl").unlink(missing_ok=True)
    local, ray = [], []
    for r in range(rounds):
        order = [("local", in_process), ("ray", on_ray)]
        for name, run in order if r % 2 == 0 else order[::-1]:
            out = BASE / ("local.parquet" if name == "local" else "ray_out")
            took = run(inputs, out)
            (local if name == "local" else ray).append(took)
            print(
                f"  round {r + 1} {name}: {took:.1f} s ({len(texts) / took:,.0f} sentences/s)",
                flush=True,
            )
    ours = pq.read_table(BASE / "local.parquet")
    theirs = read_folder(BASE / "ray_out")
    assert theirs.column("id").to_pylist() == ours.column("id").to_pylist()
    a = np.asarray(ours.column("embedding").to_pylist(), np.float32)
    b = np.asarray(theirs.column("embedding").to_pylist(), np.float32)
    rows = []
    for name, times in (("in-process `embed`", local), ("Ray job, 1 actor x 2 threads", ray)):
        rate = len(texts) / np.mean(times)
        rows.append([name, " / ".join(f"{t:.1f}" for t in times), f"{rate:,.0f}"])
    ratio = np.mean(local) / np.mean(ray)
    rows[1].append(f"**{100 * ratio:.1f}%** (goal >= 85%)")
    rows[0].append("100%")
    print(table(["run", "wall s (each round)", "sentences/s", "vs in-process"], rows))
    print(f"\nvectors: max |Ray - in-process| = {np.abs(a - b).max():.2e} over {len(a):,} rows")
    faults(texts, b)


if __name__ == "__main__":
    main()
