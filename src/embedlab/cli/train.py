"""``embedlab train word2vec|fasttext|glove CORPUS -o OUT``: thin shells over ``embedlab.static``.

Reads the corpus through :class:`embedlab.text.Corpus` (``--corpus-format``, ``--lang``,
``--tokenizer whitespace`` for pre-tokenized text), trains with a progress bar, saves the vectors
(format from OUT's suffix) and prints a short summary. Checkpoints go to ``OUT.ckpt`` after every
epoch (``--resume`` continues from there) and are removed once the vectors are saved.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from ..errors import ParameterError
from ..files import old_copy, readable_dir
from ..io import save_vectors
from .options import OptionGroup

train_app = typer.Typer(help="Train word vectors from a corpus.", no_args_is_help=True)


def _tokenizer(lang: str, tokenizer: str, words: dict[str, Any]):  # type: ignore[no-untyped-def]
    from ..text import Tokenizer

    if tokenizer == "whitespace":
        if words["stopwords"] or words["lemmatize"] or not words["lowercase"]:
            raise ParameterError(
                "--stopwords, --lemmatize and --no-lowercase apply to the default tokenizer; "
                "pre-tokenized text (--tokenizer whitespace) is used as it is"
            )
        return str.split
    if tokenizer != "default":
        raise ParameterError(f"--tokenizer must be 'default' or 'whitespace'; got {tokenizer!r}")
    if lang not in ("auto", "en", "zh"):
        raise ParameterError(f"--lang must be auto, en or zh; got {lang!r}")
    # Han runs are segmented by jieba unless the text is declared English-only
    return Tokenizer(chinese="chars" if lang == "en" else "jieba", **words)


CorpusArg = Annotated[Path, typer.Argument(help="A text file (.gz/.bz2 too) or a folder of them.")]
Output = Annotated[Path, typer.Option("--output", "-o", help="Where to save the vectors.")]

# the options every static trainer takes: how to read the corpus, and how to run
run = OptionGroup(
    "lang", "corpus_format", "field", "tokenizer", "stopwords", "lemmatize", "lowercase",
    "workers", "seed", "max_time", "tensorboard", "resume", seed=1,
)  # fmt: skip


@train_app.command("word2vec")
@run()
def train_word2vec(
    corpus: CorpusArg,
    output: Output,
    dim: int = 100,
    window: Annotated[str, typer.Option(help="Max context distance, or 'sequence'.")] = "5",
    cbow: Annotated[bool, typer.Option("--cbow", help="CBOW instead of skip-gram.")] = False,
    hs: Annotated[bool, typer.Option("--hs", help="Hierarchical softmax.")] = False,
    negative: int = 5,
    ns_exponent: float = 0.75,
    sample: float = 1e-3,
    alpha: Annotated[
        Optional[float],
        typer.Option(
            "--alpha",
            "--lr",
            help="Start learning rate (0.05; 0.025 for skip-gram with --hs --negative 0).",
        ),
    ] = None,
    epochs: int = 5,
    min_count: int = 5,
    max_vocab_size: Optional[int] = None,
    *,
    opts: dict[str, Any],
) -> None:
    """Train word2vec (skip-gram by default) and save the vectors."""
    from ..static import Word2Vec

    model = Word2Vec(
        dim=dim, window="sequence" if window == "sequence" else _int(window, "--window"),
        sg=not cbow, hs=hs, negative=negative, ns_exponent=ns_exponent, sample=sample,
        alpha=alpha, epochs=epochs, min_count=min_count, max_vocab_size=max_vocab_size,
        **_model_options(output, opts),
    )  # fmt: skip
    _fit_and_save(model, corpus, output, opts, passes=epochs)


@train_app.command("fasttext")
@run()
def train_fasttext(
    corpus: CorpusArg,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Where to save (a folder keeps n-grams).")
    ],
    dim: int = 100,
    window: int = 5,
    cbow: Annotated[bool, typer.Option("--cbow", help="CBOW instead of skip-gram.")] = False,
    negative: int = 5,
    sample: float = 1e-4,
    alpha: Annotated[float, typer.Option("--alpha", "--lr", help="Start learning rate.")] = 0.05,
    epochs: int = 5,
    min_count: int = 5,
    minn: int = 3,
    maxn: int = 6,
    bucket: int = 2_000_000,
    *,
    opts: dict[str, Any],
) -> None:
    """Train fastText-style subword vectors (OOV words get vectors) and save them."""
    from ..static import FastText

    model = FastText(
        dim=dim, window=window, sg=not cbow, negative=negative, sample=sample, alpha=alpha,
        epochs=epochs, min_count=min_count, minn=minn, maxn=maxn, bucket=bucket,
        **_model_options(output, opts),
    )  # fmt: skip
    _fit_and_save(model, corpus, output, opts, passes=epochs)


@train_app.command("glove")
@run(without=("resume",))
def train_glove(
    corpus: CorpusArg,
    output: Output,
    dim: int = 100,
    window: int = 10,
    epochs: int = 15,
    min_count: int = 5,
    x_max: float = 100.0,
    alpha: Annotated[float, typer.Option(help="Weighting exponent of f(x).")] = 0.75,
    eta: Annotated[float, typer.Option("--eta", "--lr", help="AdaGrad learning rate.")] = 0.05,
    word_only: Annotated[bool, typer.Option(help="Save W alone instead of W + W~.")] = False,
    memory: Annotated[
        Optional[float],
        typer.Option(
            help="MB of working memory (GloVe C's -memory): co-occurrences are counted, shuffled "
            "and read back from temporary files on disk within it; default: all in memory."
        ),
    ] = None,
    *,
    opts: dict[str, Any],
) -> None:
    """Train GloVe vectors (co-occurrence counting + AdaGrad) and save them."""
    from ..static import GloVe

    model = GloVe(
        dim=dim, window=window, epochs=epochs, min_count=min_count, x_max=x_max, alpha=alpha,
        eta=eta, output="word" if word_only else "sum", memory=memory,
        **_model_options(output, opts),
    )  # fmt: skip
    _fit_and_save(model, corpus, output, opts, passes=1)  # one counting pass


def _model_options(output: Path, opts: dict[str, Any]) -> dict[str, Any]:
    """The estimator arguments the shared options set (GloVe has no checkpoints)."""
    kw = {k: opts[k] for k in ("workers", "seed", "max_time")}
    kw["tensorboard_dir"] = opts["tensorboard"]
    if "resume" in opts:
        kw["checkpoint_dir"] = _checkpoint_folder(output, opts["resume"])
    return kw


def _fit_and_save(
    model: Any, corpus: Path, output: Path, opts: dict[str, Any], passes: int
) -> None:
    """Fit on the corpus as the options read it, save, drop the checkpoint, print a summary."""
    from ..text import Corpus

    words = {k: opts[k] for k in ("stopwords", "lemmatize", "lowercase")}
    tokenizer = _tokenizer(opts["lang"], opts["tokenizer"], words)
    text = Corpus(corpus, format=opts["corpus_format"], field=opts["field"], tokenizer=tokenizer)
    start = time.perf_counter()
    if "resume" in opts:
        model.fit(text, resume=opts["resume"])
    else:
        model.fit(text)
    took = time.perf_counter() - start
    save_vectors(model.vectors_, output)
    if "resume" in opts:
        drop_checkpoint(model.checkpoint_dir)
    _report(model, output, took, passes)


def _report(model: Any, output: Path, took: float, passes: int) -> None:
    vocab, done = model.vocab_, len(model.loss_history_)
    if getattr(model, "stopped_early_", False):
        typer.echo(
            f"trained {len(vocab):,} words x {model.dim} dims on {vocab.total:,} tokens for "
            f"{took:.1f} s: --max-time stopped it in epoch {done} of {model.epochs}"
        )
    else:
        typer.echo(
            f"trained {len(vocab):,} words x {model.dim} dims on {vocab.total:,} tokens in "
            f"{took:.1f} s ({vocab.total * passes / took / 1e6:.2f}M words/s)"
        )
    typer.echo("loss per epoch: " + ", ".join(f"{x:.4f}" for x in model.loss_history_))
    typer.echo(f"wrote {output}")


def drop_checkpoint(ckpt: Path) -> None:
    """Remove a finished run's checkpoint (and the copy a cut replacement may have left)."""
    shutil.rmtree(ckpt, ignore_errors=True)
    shutil.rmtree(old_copy(ckpt), ignore_errors=True)


def _checkpoint_folder(output: Path, resume: bool) -> Path:
    """``OUT.ckpt``; a run without ``--resume`` refuses to overwrite one an earlier run left."""
    ckpt = output.with_name(output.name + ".ckpt")
    if not resume and (readable_dir(ckpt) / "state.json").exists():
        raise ParameterError(
            f"{ckpt} holds the checkpoint of an earlier, unfinished run: pass --resume to continue "
            "it, or delete the folder to start over"
        )
    return ckpt


def _int(text: str, name: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ParameterError(f"{name} must be an int or 'sequence'; got {text!r}") from None
