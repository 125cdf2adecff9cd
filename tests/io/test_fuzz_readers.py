"""Thousands of mutated files into every reader (vectors, index folders, records, corpora), in a
process with a 1 GiB address-space limit: only FormatError / ParameterError (never caused by a
MemoryError), never a crash, no case over two seconds of CPU time (a hang or a quadratic parse, not a
speed goal: wall time would trip on a busy host). The cases are derandomized (the same every
run); fuzz_readers.py holds the strategies."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("hnswlib")


@pytest.mark.slow
def test_mutated_files_in_every_format_fail_only_cleanly() -> None:
    script = Path(__file__).with_name("fuzz_readers.py")
    done = subprocess.run(
        [sys.executable, str(script), "150", "1024"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=script.parent,
    )
    assert done.returncode == 0, done.stderr[-4000:]  # a segfault is -11, a bad exception 1
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["cases"] >= 4000
    assert set(summary["outcomes"]) <= {"loaded", "FormatError", "ParameterError"}
    assert summary["outcomes"]["FormatError"] > 1000 and summary["outcomes"]["loaded"] > 100
    assert summary["slowest"][0] < 2.0
