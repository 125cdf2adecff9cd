"""``embedlab align`` and ``embedlab eval translate``: cross-lingual word vectors (thin shells).

``align SRC TGT -d DICT -o OUT`` fits :class:`embedlab.align.Aligner` (without ``-d``: from words
spelled the same in both) and writes ``OUT/source.embedlab`` (the source vectors mapped into the
shared space), ``OUT/target.embedlab`` (the target vectors prepared the same way) and
``OUT/align.json`` (settings, the dictionary size at each refinement, the RCSLS losses).
``eval translate OUT -d TEST`` reports P@1/5/10 by nearest neighbour and by CSLS.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from .evaluate import LimitOpt, eval_app


def align(
    source: Annotated[Path, typer.Argument(help="Source-language vectors (any format).")],
    target: Annotated[Path, typer.Argument(help="Target-language vectors (any format).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder to write.")],
    dictionary: Annotated[
        Optional[Path],
        typer.Option(
            "--dictionary", "-d", help="source<TAB>target pairs (default: identical words)."
        ),
    ] = None,
    refine: Annotated[int, typer.Option(help="Refinement rounds (mutual CSLS neighbours).")] = 5,
    refine_vocab: Annotated[
        int, typer.Option(help="Frequent words refinement pairs among.")
    ] = 5_000,
    objective: Annotated[
        str, typer.Option(help="Last fit: rcsls (retrieval criterion) or procrustes (orthogonal).")
    ] = "rcsls",
    rcsls_steps: Annotated[int, typer.Option(help="RCSLS gradient steps.")] = 10,
    max_vocab: Annotated[int, typer.Option(help="Target words searched (most frequent).")] = 50_000,
    limit: LimitOpt = None,
) -> None:
    """Map SOURCE vectors into TARGET's space (Procrustes, CSLS refinement, RCSLS finish)."""
    from ..align import Aligner, read_lexicon
    from ..files import atomic_dir
    from ..io import load_vectors, save_vectors

    src, tgt = load_vectors(source, limit=limit), load_vectors(target, limit=limit)
    pairs = read_lexicon(dictionary) if dictionary is not None else None
    aligner = Aligner(
        refine=refine, refine_vocab=refine_vocab, objective=objective, rcsls_steps=rcsls_steps,
        max_vocab=max_vocab,
    )  # fmt: skip
    aligner.fit(src, tgt, pairs)
    with atomic_dir(output) as tmp:
        save_vectors(aligner.transform(src), tmp / "source.embedlab")
        save_vectors(aligner.target(tgt), tmp / "target.embedlab")
        info = {
            "source": str(source),
            "target": str(target),
            "dictionary": None if dictionary is None else str(dictionary),
            "seed_pairs": aligner.seed_pairs_,
            "pairs_per_round": aligner.history_,
            "objective": objective,
            "rcsls_losses": aligner.losses_,
            "csls_k": aligner.csls_k,
            "max_vocab": max_vocab,
        }
        (tmp / "align.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    seed = "dictionary" if dictionary is not None else "identical words"
    typer.echo(
        f"aligned {len(src):,} x {src.dim} onto {len(tgt):,} words from {aligner.seed_pairs_:,} "
        f"{seed} pairs; refinement pairs per round: {aligner.history_[1:] or '-'}"
    )
    typer.echo(f"wrote {output}/source.embedlab, target.embedlab, align.json")


@eval_app.command("translate")
def eval_translate(
    aligned: Annotated[Path, typer.Argument(help="A folder `embedlab align` wrote.")],
    dictionary: Annotated[
        Path, typer.Option("--dictionary", "-d", help="Test pairs, source<TAB>target.")
    ],
    max_vocab: Annotated[int, typer.Option(help="Target words searched (most frequent).")] = 50_000,
    csls_k: Annotated[int, typer.Option(help="Neighbours CSLS averages over.")] = 10,
) -> None:
    """Word translation precision@1/5/10, nearest neighbour and CSLS."""
    from ..align import read_lexicon, translation_accuracy
    from ..io import load_vectors

    src = load_vectors(aligned / "source.embedlab")
    tgt = load_vectors(aligned / "target.embedlab")
    pairs = read_lexicon(dictionary)
    typer.echo("| retrieval | P@1 | P@5 | P@10 | source words |")
    typer.echo("|---|---|---|---|---|")
    for method in ("nn", "csls"):
        r = translation_accuracy((src, tgt), pairs, method=method, k=csls_k, max_vocab=max_vocab)
        typer.echo(
            f"| {method} | {r['p@1']:.2f} | {r['p@5']:.2f} | {r['p@10']:.2f} | "
            f"{int(r['words']):,} ({r['coverage']:.0%} of the test words) |"
        )
