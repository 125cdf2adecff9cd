"""``embedlab train word2vec CORPUS -o OUT``: a thin shell over :class:`embedlab.static.Word2Vec`.

Reads the corpus through :class:`embedlab.text.Corpus` (``--corpus-format``, ``--lang``,
``--tokenizer whitespace`` for pre-tokenized text), trains with a progress bar, saves the vectors
(format from OUT's suffix) and prints a short summary. Checkpoints go to ``OUT.ckpt`` after every
epoch (``--resume`` continues from there) and are removed once the vectors are saved.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import ParameterError
from ..io import save_vectors

train_app = typer.Typer(help="Train word vectors from a corpus.", no_args_is_help=True)


def _tokenizer(lang: str, tokenizer: str):  # type: ignore[no-untyped-def]
    from ..text import Tokenizer

    if tokenizer == "whitespace":
        return str.split
    if tokenizer != "default":
        raise ParameterError(f"--tokenizer must be 'default' or 'whitespace'; got {tokenizer!r}")
    if lang not in ("auto", "en", "zh"):
        raise ParameterError(f"--lang must be auto, en or zh; got {lang!r}")
    # Han runs are segmented by jieba unless the text is declared English-only
    return Tokenizer(chinese="chars" if lang == "en" else "jieba")


@train_app.command("word2vec")
def train_word2vec(
    corpus: Annotated[Path, typer.Argument(help="A text file (.gz/.bz2 too) or a folder of them.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to save the vectors.")],
    dim: int = 100,
    window: Annotated[str, typer.Option(help="Max context distance, or 'sequence'.")] = "5",
    cbow: Annotated[bool, typer.Option("--cbow", help="CBOW instead of skip-gram.")] = False,
    hs: Annotated[bool, typer.Option("--hs", help="Hierarchical softmax.")] = False,
    negative: int = 5,
    ns_exponent: float = 0.75,
    sample: float = 1e-3,
    alpha: float = 0.025,
    epochs: int = 5,
    min_count: int = 5,
    max_vocab_size: Optional[int] = None,
    workers: Annotated[
        Optional[int], typer.Option(help="Threads (default: all; 1 = reproducible).")
    ] = None,
    seed: int = 1,
    lang: Annotated[
        str, typer.Option(help="auto, en or zh (Chinese is segmented with jieba).")
    ] = "auto",
    corpus_format: Annotated[str, typer.Option(help="lines, text or jsonl.")] = "lines",
    field: Annotated[str, typer.Option(help="JSONL field holding the text.")] = "text",
    tokenizer: Annotated[
        str, typer.Option(help="default or whitespace (pre-tokenized).")
    ] = "default",
    tensorboard: Annotated[Optional[Path], typer.Option(help="Write the loss curve here.")] = None,
    resume: Annotated[bool, typer.Option(help="Continue from OUT.ckpt.")] = False,
) -> None:
    """Train word2vec (skip-gram by default) and save the vectors."""
    from ..static import Word2Vec
    from ..text import Corpus

    sentences = Corpus(
        corpus,
        format=corpus_format,  # type: ignore[arg-type]
        field=field,
        tokenizer=_tokenizer(lang, tokenizer),
    )
    ckpt = output.with_name(output.name + ".ckpt")
    model = Word2Vec(
        dim=dim,
        window="sequence" if window == "sequence" else _int(window, "--window"),
        sg=not cbow,
        hs=hs,
        negative=negative,
        ns_exponent=ns_exponent,
        sample=sample,
        alpha=alpha,
        epochs=epochs,
        min_count=min_count,
        max_vocab_size=max_vocab_size,
        workers=workers,
        seed=seed,
        checkpoint_dir=ckpt,
        tensorboard_dir=tensorboard,
    )
    start = time.perf_counter()
    model.fit(sentences, resume=resume)
    took = time.perf_counter() - start
    save_vectors(model.vectors_, output)
    shutil.rmtree(ckpt, ignore_errors=True)
    vocab = model.vocab_
    typer.echo(
        f"trained {len(vocab):,} words x {dim} dims on {vocab.total:,} tokens in {took:.1f} s "
        f"({vocab.total * epochs / took / 1e6:.2f}M words/s)"
    )
    typer.echo("loss per epoch: " + ", ".join(f"{x:.4f}" for x in model.loss_history_))
    typer.echo(f"wrote {output}")


def _int(text: str, name: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ParameterError(f"{name} must be an int or 'sequence'; got {text!r}") from None
