"""numba's cache: the first run in a fresh cache says it compiles the kernel and writes it; the
second run loads it (cache hits, no misses) and says nothing. A vector size the kernels are
compiled for exactly (32 and up) is compiled, and said, once more, then loaded too. Each run is
its own process, with ``NUMBA_CACHE_DIR`` pointing at a folder of this test."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

RUN = r"""
import json, logging, sys
records = []
class Keep(logging.Handler):
    def emit(self, record):
        records.append(record.getMessage())
logging.getLogger("embedlab").addHandler(Keep())
logging.getLogger("embedlab").setLevel(logging.INFO)
from embedlab.static import Word2Vec, _kernels as K
words = "the cat sat on the mat while the dog ran in the park".split()
corpus = [words[i:] + words[:i] for i in range(12)] * 20
Word2Vec(dim=int(sys.argv[1]), min_count=1, epochs=1, workers=2, seed=1, show_progress=False).fit(corpus)
stats = K.train_parallel.stats
print(json.dumps({"said": [m for m in records if "compiling" in m],
                  "hits": sum(stats.cache_hits.values()), "misses": sum(stats.cache_misses.values())}))
"""


def _run(cache: Path, dim: int = 8) -> dict[str, object]:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    out = subprocess.run([sys.executable, "-c", RUN, str(dim)], capture_output=True, text=True, env=env,
                         check=True, timeout=600)  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_the_second_run_loads_the_kernel_from_the_cache(tmp_path: Path) -> None:
    first = _run(tmp_path / "numba")
    assert first["misses"] == 1 and first["hits"] == 0
    assert first["said"] and "Word2Vec: compiling the training kernel" in first["said"][0]
    assert any((tmp_path / "numba").rglob("*train_parallel*.nbi"))  # written to the cache
    second = _run(tmp_path / "numba")
    assert second == {"said": [], "hits": 1, "misses": 0}  # loaded: nothing compiled, nothing said
    sized = _run(tmp_path / "numba", dim=40)  # a size compiled for exactly: new machine code
    assert sized["misses"] == 1 and sized["hits"] == 0
    assert sized["said"] and "compiling" in sized["said"][0]
    assert _run(tmp_path / "numba", dim=40) == {"said": [], "hits": 1, "misses": 0}
    assert _run(tmp_path / "numba", dim=8) == {"said": [], "hits": 1, "misses": 0}


def test_a_kernel_without_a_size_token_is_not_said_to_compile_once_loaded() -> None:
    """GloVe's kernel takes no size token: once it ran in this process, no run says it compiles."""
    from embedlab.fitting.jit import compiling
    from embedlab.static import GloVe
    from embedlab.static import _glove_kernels as GK

    corpus = [["the", "cat", "sat", "on", "the", "mat"], ["the", "dog", "ran"]] * 20
    GloVe(dim=8, min_count=1, epochs=1, workers=2, show_progress=False).fit(corpus)
    assert GK.glove_epoch.signatures and not compiling(GK.glove_epoch)
