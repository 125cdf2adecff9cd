"""``embedlab demo``: train word2vec on a bundled Gutenberg sample, explore and evaluate the result.

Everything shown is a library call; this module only prints. It needs no network and no data
outside the package: ``data/gutenberg_sample.txt.gz`` (14 public-domain books, 1.1M words) and
``data/sample_vectors`` (15,000 x 100 skip-gram vectors trained on 166 books, 10.5M words) for
comparison.
"""

from __future__ import annotations

import tempfile
import time
from importlib import resources
from pathlib import Path
from typing import Any

import typer

from ..evaluate import evaluate_words, format_table
from ..io import load_vectors, save_vectors

NEIGHBOURS = ("ship", "horse", "mother", "money")
ANALOGIES = (("he", "his", "she"), ("good", "better", "bad"), ("father", "mother", "brother"))


def _data(name: str) -> Path:
    return Path(str(resources.files("embedlab") / "data" / name))


def sample_path() -> Path:
    """The bundled 15,000 x 100 sample vectors."""
    return _data("sample_vectors")


def corpus_path() -> Path:
    """The bundled 1.1M-word Gutenberg sample corpus."""
    return _data("gutenberg_sample.txt.gz")


def _title(text: str) -> None:
    typer.secho(f"\n== {text}", bold=True)


def run_demo() -> None:
    from ..static import Word2Vec
    from ..text import Corpus

    _title("1. Train word2vec (skip-gram, dim 100, 15 epochs) on 14 Gutenberg books")
    start = time.perf_counter()
    model = Word2Vec(dim=100, epochs=15, seed=1).fit(Corpus(corpus_path()))
    took = time.perf_counter() - start
    v, vocab = model.vectors_, model.vocab_
    typer.echo(
        f"{vocab.total:,} tokens, {len(vocab):,} words kept (min_count 5), "
        f"trained in {took:.1f} s ({vocab.total * 5 / took / 1e6:.2f}M words/s)"
    )
    typer.echo("loss per epoch: " + ", ".join(f"{x:.3f}" for x in model.loss_history_))

    _title("2. Nearest neighbours (cosine)")
    for word in NEIGHBOURS:
        near = ", ".join(f"{k} {s:.2f}" for k, s in v.most_similar(word, topn=6))
        typer.echo(f"  {word:<8} -> {near}")

    _title("3. Analogies  a : b :: c : ?   (3CosAdd; 3CosMul in brackets)")
    for a, b, c in ANALOGIES:
        add = [k for k, _ in v.analogy(a, b, c, topn=3)]
        mul = v.analogy(a, b, c, method="3cosmul", topn=1)[0][0]
        typer.echo(f"  {a} : {b} :: {c} : {add[0]}   (then {', '.join(add[1:])}) [{mul}]")

    _title("4. Save in three formats and load back")
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("demo.bin", "demo.txt.gz", "demo.embedlab"):
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
                f"  {name:<14} {size / 1e6:5.1f} MB  save {t1 - t0:5.2f} s  "
                f"load {t2 - t1:5.2f} s  identical: {same}"
            )

    _title("5. Evaluation: this model next to vectors trained on 10x more text (bundled sample)")
    reports = {
        "trained now (1.1M words)": evaluate_words(v, name="now", show_progress=False),
        "bundled (10.5M words)": evaluate_words(load_vectors(sample_path()), show_progress=False),
    }
    typer.echo(format_table(reports))
    typer.echo(
        "\n(coverage = pairs or questions whose words are all in the vocabulary; the rest are "
        "skipped, as in gensim)"
    )
    encoder = _sentences()
    if encoder is not None:
        _faq(encoder)
    _title("Next")
    typer.echo(
        "  embedlab train word2vec CORPUS -o OUT | info FILE | convert IN OUT | similar FILE WORD"
        " | eval words FILE... | export projector FILE DIR | embed FILE -o OUT.npy"
        " | distill -o DIR | encoders export-onnx -o DIR | eval run -m MODEL -t TASKS"
        " | viz words FILE -o OUT.html | faq build FILE -o DIR | serve -m NAME=MODEL"
        " | finetune classify MODEL FILE -o DIR | pretrain mlm CORPUS -o DIR"
        " | kg train TRIPLES -o DIR --text entity2text.txt"
    )


QUESTION = "How do I reset my password?"
ANSWERS = (
    "To change your password, open Settings and choose Security.",
    "Our office is closed on public holidays.",
    "You can track your parcel with the number in the confirmation email.",
    "Forgot your login? Use the 'forgot password' link on the sign-in page.",
    "We accept Visa, Mastercard and PayPal.",
)


def _sentences() -> Any:
    """Sentence embeddings with the offline all-MiniLM-L6-v2, when the torch extra is present."""
    from ..encoders import TransformerEncoder
    from ..errors import MissingDependencyError

    _title("6. Sentence embeddings: all-MiniLM-L6-v2 (offline), cosine to a question")
    try:
        start = time.perf_counter()
        enc = TransformerEncoder()
        vectors = enc.encode([QUESTION, *ANSWERS])
    except MissingDependencyError as e:
        typer.echo(f"  skipped: {e}")
        return None
    typer.echo(f"  {enc!r}, loaded and run in {time.perf_counter() - start:.1f} s")
    typer.echo(f"  question: {QUESTION}")
    scores = vectors[1:] @ vectors[0]
    for i in scores.argsort()[::-1]:
        typer.echo(f"  {scores[i]:5.2f}  {ANSWERS[i]}")
    words = enc.encode_tokens(
        ["She sat on the bank of the river.", "He paid the cheque into the bank."]
    )
    river, money = (w.vector("bank") for w in words)
    cos = float(river @ money / ((river @ river) ** 0.5 * (money @ money) ** 0.5))
    typer.echo(
        f"  'bank' (river) vs 'bank' (money): contextual cosine {cos:.2f} - same word, "
        "different vectors"
    )
    return enc


ASKED = (
    "I can't remember my password",
    "where is my parcel?",
    "do you take PayPal?",
    "what's the weather tomorrow?",
)


def _faq(encoder: Any) -> None:
    """An FAQ collection from the bundled sample: built, calibrated on held-out phrasings, asked."""
    from ..apps import FAQ
    from ..records import read_columns

    _title("7. FAQ answering: a collection from a bundled sample, calibrated, then asked")
    rows = read_columns(_data("faq_sample.csv"), {"id": "id", "q": "question", "a": "answer"})
    held = read_columns(_data("faq_sample_heldout.csv"), {"id": "id", "q": "question"})
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        faq = FAQ.build(Path(tmp) / "faq", encoder, rows["q"], rows["a"], answer_ids=rows["id"])
        cal = faq.calibrate(held["q"], held["id"], target_precision=1.0)
        typer.echo(
            f"  {len(rows['q'])} phrasings of {len(faq)} answers indexed and calibrated in "
            f"{time.perf_counter() - start:.1f} s; threshold {cal.threshold:.2f} calibrated on "
            f"{len(held['q'])} held-out questions ({sum(not a for a in held['id'])} out of scope): "
            f"precision {cal.precision:.2f}, coverage {cal.coverage:.2f}"
        )
        for question in ASKED:
            result = faq.ask(question)
            typer.echo(f"  Q: {question}")
            if result.best is not None:
                typer.echo(f"     A: {result.best.text}  (confidence {result.confidence:.2f})")
            else:
                typer.echo(f"     no confident answer (best {result.confidence:.2f} < threshold)")
