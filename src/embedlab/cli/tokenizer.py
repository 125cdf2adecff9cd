"""``embedlab tokenizer train``: learn a WordPiece / BPE / Unigram vocabulary (a thin shell)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

tokenizer_app = typer.Typer(help="Train sub-word tokenizers.", no_args_is_help=True)


@tokenizer_app.command("train")
def train(
    corpus: Annotated[Path, typer.Argument(help="A text file (.gz/.bz2 too) or a folder of them.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for the HF tokenizer.")],
    kind: Annotated[str, typer.Option(help="wordpiece, bpe or unigram.")] = "wordpiece",
    vocab_size: Annotated[int, typer.Option(help="Target vocabulary size.")] = 30000,
    min_frequency: Annotated[int, typer.Option(help="Minimum pair/word frequency.")] = 2,
    lowercase: Annotated[bool, typer.Option(help="Lower-case before learning.")] = True,
    chinese: Annotated[
        Optional[str], typer.Option(help="chars (one Han character per token) or jieba.")
    ] = "chars",
) -> None:
    """Train a tokenizer on CORPUS and save it in the Hugging Face format."""
    from ..neural import train_tokenizer

    options: dict[str, Any] = {
        "vocab_size": vocab_size,
        "min_frequency": min_frequency,
        "lowercase": lowercase,
        "chinese": chinese,
    }
    tok = train_tokenizer(corpus, kind, show_progress=True, **options)  # type: ignore[arg-type]
    tok.save_pretrained(str(output))
    sample = tok.convert_ids_to_tokens(tok("Embeddings are useful.")["input_ids"])
    typer.echo(f"{kind} tokenizer, {len(tok):,} tokens -> {output}")
    typer.echo(f"'Embeddings are useful.' -> {sample}")
