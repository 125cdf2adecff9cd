"""``embedlab demo``: open the bundled sample vectors, explore them, convert them, evaluate them.

Everything shown is a library call; this module only prints. It needs no network and no data
outside the package.
"""

from __future__ import annotations

import tempfile
import time
from importlib import resources
from pathlib import Path

import typer

from ..evaluate import evaluate_words
from ..io import load_vectors, save_vectors

SAMPLE = "sample_vectors"
NEIGHBOURS = ("ship", "love", "horse", "london")
ANALOGIES = (("man", "king", "woman"), ("france", "paris", "england"), ("good", "better", "bad"))


def sample_path() -> Path:
    """Where the bundled 15,000 x 100 sample vectors live."""
    return Path(str(resources.files("embedlab") / "data" / SAMPLE))


def _title(text: str) -> None:
    typer.secho(f"\n== {text}", bold=True)


def run_demo() -> None:
    path = sample_path()
    _title("1. Open the bundled sample (native format: a header, a key index and the matrix)")
    start = time.perf_counter()
    v = load_vectors(path)
    typer.echo(f"{v!r} opened in {1000 * (time.perf_counter() - start):.1f} ms")
    typer.echo("skip-gram vectors trained on 166 Project Gutenberg books (public domain)")

    _title("2. Nearest neighbours (cosine)")
    for word in NEIGHBOURS:
        near = ", ".join(f"{k} {s:.2f}" for k, s in v.most_similar(word, topn=6))
        typer.echo(f"  {word:<8} -> {near}")

    _title("3. Analogies  a : b :: c : ?   (3CosAdd, and 3CosMul)")
    for a, b, c in ANALOGIES:
        add = v.analogy(a, b, c, topn=3)
        mul = v.analogy(a, b, c, method="3cosmul", topn=1)
        typer.echo(
            f"  {a} : {b} :: {c} : {add[0][0]:<10} (then {add[1][0]}, {add[2][0]}; "
            f"3cosmul: {mul[0][0]})"
        )

    _title("4. Convert: word2vec binary, word2vec text, back to native")
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("sample.bin", "sample.txt.gz", "sample.embedlab"):
            target = Path(tmp) / name
            t0 = time.perf_counter()
            save_vectors(v, target)
            t1 = time.perf_counter()
            back = load_vectors(target)
            t2 = time.perf_counter()
            same = bool((back.vectors == v.vectors).all()) and list(back.index_to_key) == list(
                v.index_to_key
            )
            size = sum(
                p.stat().st_size for p in ([target] if target.is_file() else target.iterdir())
            )
            typer.echo(
                f"  {name:<16} {size / 1e6:5.1f} MB  save {t1 - t0:5.2f} s  load {t2 - t1:5.2f} s"
                f"  identical: {same}"
            )

    _title("5. Evaluation: word similarity (Spearman) and Google analogies")
    report = evaluate_words(v, name="sample (15k words)", show_progress=False)
    typer.echo(report.table())
    typer.echo(
        "\n(coverage = pairs or questions whose words are all in the 15k vocabulary; the rest are"
        " skipped, as in gensim)"
    )
    _title("Next")
    typer.echo(
        "  embedlab info FILE | convert IN OUT | similar FILE WORD | eval words FILE... | "
        "export projector FILE DIR"
    )
