"""``embedlab pretrain mlm|causal|bilm``, ``embedlab finetune classify|contrastive``, ``predict``.

Thin shells over :mod:`embedlab.neural`: every command builds one ``TrainingArguments`` from the
shared options below, calls one library function and prints where the model went and its figures.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from .options import OptionGroup

pretrain_app = typer.Typer(help="Pretrain language models from a corpus.", no_args_is_help=True)
finetune_app = typer.Typer(help="Fine-tune encoders.", no_args_is_help=True)

Out = Annotated[Path, typer.Option("--output", "-o", help="Output folder (model/, checkpoints/).")]
# the options every neural training command takes (TrainingArguments); each sets its defaults
run = OptionGroup(
    "epochs", "max_steps", "max_time", "batch_size", "lr", "grad_accum", "warmup", "eval_every",
    "patience", "seed", "threads", "precision", "every", "resume", "tensorboard", "wandb",
)  # fmt: skip


def _args(output: Path, **kw: Any) -> Any:
    from ..neural import TrainingArguments

    rename = {"lr": "learning_rate", "warmup": "warmup_ratio", "every": "checkpoint_every"}
    options = {rename.get(k, k): v for k, v in kw.items()}
    options["wandb_project"] = options.pop("wandb", None)
    return TrainingArguments(output, **options)


def _report(result: Any) -> None:
    typer.echo(
        f"{result.steps:,} steps, {result.epochs:.2f} epochs, {result.seconds:.0f} s "
        f"(stopped: {result.stopped}) -> {result.model_dir}"
    )
    if result.best:
        figures = ", ".join(f"{k} {v:.4g}" for k, v in result.best.items() if k != "step")
        typer.echo(f"best at step {result.best.get('step')}: {figures}")


@pretrain_app.command("mlm")
@run(max_steps=1000, lr=5e-4, without=("eval_every", "patience"))
def pretrain_mlm(
    corpus: Annotated[Path, typer.Argument(help="A text file (.gz/.bz2 too) or a folder.")],
    output: Out,
    tokenizer: Annotated[
        Optional[Path], typer.Option(help="A HF tokenizer folder (default: train a WordPiece).")
    ] = None,
    family: Annotated[str, typer.Option(help="bert, albert or gpt2.")] = "bert",
    vocab_size: Annotated[int, typer.Option(help="Vocabulary when training a tokenizer.")] = 30000,
    hidden: Annotated[int, typer.Option(help="Hidden size.")] = 256,
    layers: Annotated[int, typer.Option(help="Transformer layers.")] = 4,
    heads: Annotated[int, typer.Option(help="Attention heads.")] = 4,
    embedding_size: Annotated[
        Optional[int], typer.Option(help="ALBERT: factorized embedding width.")
    ] = None,
    share_layers: Annotated[
        bool, typer.Option(help="ALBERT: share weights across layers.")
    ] = False,
    block_size: Annotated[int, typer.Option(help="Tokens per training block.")] = 128,
    *,
    opts: dict[str, Any],
) -> None:
    """Masked-LM (BERT, ALBERT) or causal-LM (gpt2) pretraining of a new model on CORPUS."""
    from ..neural import model_config, pretrain, train_tokenizer

    if tokenizer is not None:
        from transformers import AutoTokenizer

        tok = AutoTokenizer.from_pretrained(str(tokenizer))
    else:
        kind = "bpe" if family == "gpt2" else "unigram" if family == "albert" else "wordpiece"
        tok = train_tokenizer(corpus, kind, vocab_size=vocab_size)  # type: ignore[arg-type]
        typer.echo(f"trained a {kind} tokenizer of {len(tok):,} tokens")
    config = model_config(
        family,  # type: ignore[arg-type]
        tok, hidden=hidden, layers=layers, heads=heads, max_positions=max(512, block_size),
        embedding_size=embedding_size, share_layers=share_layers,
    )  # fmt: skip
    args = _args(output, **opts)
    _report(pretrain(corpus, tokenizer=tok, config=config, args=args, block_size=block_size))


@pretrain_app.command("bilm")
@run(
    max_steps=3000,
    lr=2e-3,
    without=("epochs", "grad_accum", "warmup", "eval_every", "patience", "precision"),
)
def pretrain_bilm_cmd(
    corpus: Annotated[Path, typer.Argument(help="A text file (.gz/.bz2 too) or a folder.")],
    output: Out,
    inputs: Annotated[str, typer.Option(help="chars (character CNN) or words.")] = "chars",
    vocab_size: Annotated[
        int, typer.Option(help="Softmax vocabulary (most frequent words).")
    ] = 20000,
    lstm_dim: Annotated[int, typer.Option(help="LSTM cell size.")] = 512,
    proj_dim: Annotated[int, typer.Option(help="Projection (token and layer) size.")] = 128,
    layers: Annotated[int, typer.Option(help="LSTM layers per direction.")] = 2,
    window: Annotated[int, typer.Option(help="Words per training window.")] = 64,
    *,
    opts: dict[str, Any],
) -> None:
    """Train an ELMo-style bidirectional LSTM language model on CORPUS."""
    from ..neural import BiLMConfig, pretrain_bilm

    config = BiLMConfig(
        vocab_size=vocab_size,
        inputs=inputs,  # type: ignore[arg-type]
        lstm_dim=lstm_dim,
        proj_dim=proj_dim,
        layers=layers,
    )
    args = _args(output, **opts)
    _report(pretrain_bilm(corpus, config=config, args=args, window=window))


@finetune_app.command("classify")
@run(epochs=3.0)
def finetune_classify(
    model: Annotated[str, typer.Argument(help="Encoder folder or hub id ('default': MiniLM).")],
    train_file: Annotated[Path, typer.Argument(help="CSV / TSV / JSONL with text and label.")],
    output: Out,
    validation: Annotated[Optional[Path], typer.Option(help="Validation file.")] = None,
    validation_split: Annotated[float, typer.Option(help="Held-out share without one.")] = 0.1,
    text: Annotated[str, typer.Option(help="Text column (name or 0-based number).")] = "text",
    pair: Annotated[Optional[str], typer.Option(help="Second text column, for pairs.")] = None,
    label: Annotated[str, typer.Option(help="Label column.")] = "label",
    max_length: Annotated[int, typer.Option(help="Tokens per example.")] = 128,
    class_weights: Annotated[
        Optional[str], typer.Option(help="balanced: weigh rare labels.")
    ] = None,
    metric: Annotated[str, typer.Option(help="accuracy or macro_f1 picks the best.")] = "accuracy",
    extend_vocab: Annotated[
        int, typer.Option(help="Add up to N frequent words the tokenizer only knows as [UNK].")
    ] = 0,
    *,
    opts: dict[str, Any],
) -> None:
    """Fine-tune MODEL for sequence classification on TRAIN_FILE."""
    from ..neural import finetune_classifier

    args = _args(output, **opts)
    result, report = finetune_classifier(
        model, train_file, args=args, validation=validation,
        validation_split=validation_split,
        text=_column(text), label=_column(label), pair=None if pair is None else _column(pair),
        max_length=max_length, class_weights=class_weights, metric=metric,  # type: ignore[arg-type]
        extend_vocab=extend_vocab,
    )  # fmt: skip
    _report(result)
    typer.echo(f"validation: accuracy {report.accuracy:.4f}, macro-F1 {report.macro_f1:.4f}")
    typer.echo(f"report: {result.model_dir / 'report.json'}, {result.model_dir / 'confusion.png'}")


@finetune_app.command("contrastive")
@run(lr=2e-5, warmup=0.1, without=("grad_accum", "eval_every", "patience"))
def finetune_contrastive_cmd(
    model: Annotated[str, typer.Argument(help="Encoder folder or hub id ('default': MiniLM).")],
    pairs: Annotated[Path, typer.Argument(help="CSV / TSV / JSONL of (anchor, positive[, neg]).")],
    output: Out,
    anchor: Annotated[str, typer.Option(help="Anchor column.")] = "anchor",
    positive: Annotated[str, typer.Option(help="Positive column.")] = "positive",
    negative: Annotated[Optional[str], typer.Option(help="Hard-negative column.")] = None,
    scale: Annotated[float, typer.Option(help="Similarity scale of the loss.")] = 20.0,
    *,
    opts: dict[str, Any],
) -> None:
    """Contrastive (in-batch negatives) fine-tuning of a sentence encoder on PAIRS."""
    from ..neural import finetune_contrastive

    args = _args(output, **opts)
    result = finetune_contrastive(
        model, pairs, args=args, anchor=_column(anchor),
        positive=_column(positive), negative=None if negative is None else _column(negative),
        scale=scale,
    )  # fmt: skip
    _report(result)


def predict(
    model: Annotated[Path, typer.Argument(help="A fine-tuned classifier folder (.../model).")],
    texts: Annotated[Optional[list[str]], typer.Argument(help="Texts to classify.")] = None,
    input_file: Annotated[
        Optional[Path], typer.Option("--input", "-i", help="CSV / TSV / JSONL instead of texts.")
    ] = None,
    text: Annotated[str, typer.Option(help="Text column of --input.")] = "text",
    output: Annotated[
        Optional[Path], typer.Option("--output", "-o", help="Write JSON lines here.")
    ] = None,
) -> None:
    """Labels and probabilities from a fine-tuned classifier."""
    from ..files import atomic_file
    from ..neural import LabeledTexts, TextClassifier

    if input_file is not None:
        from ..records import read_columns

        items = [str(t) for t in read_columns(input_file, {"text": _column(text)})["text"]]
    elif texts:
        items = list(texts)
    else:
        raise typer.BadParameter("give TEXTS or --input FILE")
    LabeledTexts(items, ["?"] * len(items))  # the same checks as training data
    clf = TextClassifier.load(model)
    probs = clf.predict_proba(items)
    rows = [
        {"text": t, "label": clf.labels[int(p.argmax())], "score": round(float(p.max()), 6)}
        for t, p in zip(items, probs, strict=True)
    ]
    if output is not None:
        with atomic_file(output) as f:
            f.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode())
        typer.echo(f"{len(rows):,} predictions -> {output}")
        return
    for r in rows:
        typer.echo(f"{r['label']}\t{r['score']:.4f}\t{r['text']}")


def _column(value: str) -> str | int:
    return int(value) if value.isdigit() else value
