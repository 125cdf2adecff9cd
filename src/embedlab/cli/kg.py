"""``embedlab kg train|eval|predict``: thin shells over :mod:`embedlab.kg`.

``kg train TRIPLES -o MODEL --model rotate`` reads a folder (``train.tsv``, ``dev.tsv``,
``test.tsv``: ``head<TAB>relation<TAB>tail``) or one training file, trains with a progress bar
(checkpoints in ``MODEL.ckpt``; ``--resume`` continues), saves the model folder (entity and relation
vectors that open with ``load_vectors``), writes ``MODEL/loss.png`` when matplotlib is installed,
and ranks the dev split. ``--text entity2text.txt --encoder default`` makes the model text-aware
(:mod:`embedlab.kg.text`): every described entity is encoded once (the vectors are saved in
``MODEL/text``), and entities no training triple mentions are ranked from their descriptions
(``--unseen add``). ``kg eval`` ranks a split filtered by the others; ``kg predict MODEL HEAD
RELATION ?`` (or ``? RELATION TAIL``) lists the best answers, names resolved through an entity
text file (``id<TAB>name, description``); a text-aware model also answers for an entity it never
saw, from its description.
"""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from ..errors import ParameterError
from .options import OptionGroup
from .train import _checkpoint_folder, drop_checkpoint

kg_app = typer.Typer(
    help="Knowledge-graph embeddings: train TransE / DistMult / ComplEx / RotatE, rank, predict.",
    no_args_is_help=True,
)

run = OptionGroup(
    "epochs", "max_time", "lr", "batch_size", "every", "resume", "tensorboard", "seed", "workers",
    epochs=None, lr=None, batch_size=None, every=None, seed=1,
)  # fmt: skip

Unseen = Annotated[
    str,
    typer.Option(
        help="Evaluation triples naming entities the training split lacks: error, drop "
        "(PyKEEN's way) or add (text-aware models: ranked from their descriptions)."
    ),
]
TextFile = Annotated[
    Optional[Path], typer.Option(help="Entity text file (id<TAB>name, description).")
]


def _encoder(name: str) -> Any:
    from ..encoders import load_encoder

    return load_encoder(None if name == "default" else name)


def _add_new(model: Any, split: Any, text: Path | None) -> None:
    """Give a text-aware ``model`` the entities of ``split`` it lacks (read with unseen="add"),
    from the description vectors saved with it, else encoded from ``text``."""
    import numpy as np

    from ..kg import read_entity_text
    from ..kg.store import saved_descriptions
    from ..kg.text import describe

    new = split.entities[len(model.entities_) :]
    if not new:
        return
    if model._text is None:
        raise ParameterError(
            f"{split.source} names {len(new):,} entities the model never saw ({new[0]!r}...), "
            "and the model was trained without entity text: retrain with --text, or --unseen drop"
        )
    have = saved_descriptions(model)
    missing = [e for e in new if have is None or e not in have]
    vectors: dict[str, Any] = {e: have[e] for e in new if have is not None and e in have}
    if missing:
        if text is None:
            raise ParameterError(
                f"{len(missing):,} new entities have no saved description vector "
                f"({missing[0]!r}...): give --text with their descriptions"
            )
        texts = read_entity_text(text)
        absent = [e for e in missing if e not in texts]
        if absent:
            raise ParameterError(f"{text} does not describe {len(absent):,} ({absent[0]!r}...)")
        encoded = describe(
            missing, texts, _encoder(model.info_.get("text", {}).get("encoder", "default"))
        )
        vectors.update({e: encoded[e] for e in missing})
    model.add_entities(new, np.stack([vectors[e] for e in new]))


def _splits(triples: Path, unseen: str) -> tuple[Any, Any, Any]:
    from ..kg import Triples, read_splits

    if triples.is_dir():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            train, dev, test = read_splits(triples, unseen=unseen)  # type: ignore[arg-type]
        for w in caught:
            typer.echo(f"note: {w.message}", err=True)
        return train, dev, test
    return Triples.read(triples), None, None


@kg_app.command("train")
@run()
def kg_train(
    triples: Annotated[
        Path, typer.Argument(help="A folder with train.tsv (+ dev.tsv, test.tsv) or one TSV file.")
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="The model folder to write.")],
    model: Annotated[str, typer.Option(help="transe, distmult, complex or rotate.")] = "rotate",
    dim: Annotated[
        Optional[int], typer.Option(help="Dimension (complex models: complex numbers).")
    ] = None,
    negatives: Annotated[Optional[int], typer.Option(help="Negatives per positive triple.")] = None,
    loss: Annotated[Optional[str], typer.Option(help="margin, softplus, bce or nssa.")] = None,
    margin: Annotated[Optional[float], typer.Option(help="Margin (margin ranking, NSSA).")] = None,
    temperature: Annotated[
        Optional[float], typer.Option(help="NSSA's adversarial temperature (0: uniform).")
    ] = None,
    sampler: Annotated[
        str, typer.Option(help="uniform or bernoulli (which side to corrupt).")
    ] = "uniform",
    norm: Annotated[
        Optional[int], typer.Option("--norm", help="TransE / RotatE distance: 1 or 2.")
    ] = None,
    evaluate: Annotated[
        bool, typer.Option("--eval/--no-eval", help="Rank the dev split after.")
    ] = True,
    unseen: Unseen = "drop",
    text: TextFile = None,
    encoder: Annotated[
        str, typer.Option(help="Encoder of the entity descriptions (with --text).")
    ] = "default",
    text_dim: Annotated[
        int, typer.Option(help="Principal components of the descriptions the projection reads.")
    ] = 128,
    text_weight: Annotated[
        Optional[float],
        typer.Option(
            help="Weight of the description expert's score (default: tuned on dev, else 1)."
        ),
    ] = None,
    *,
    opts: dict[str, Any],
) -> None:
    """Train a graph embedding on TRIPLES; save it to OUTPUT."""
    from ..kg import MODELS, link_prediction, read_entity_text, tune_text_weight
    from ..kg.store import save_model
    from ..kg.text import describe

    kind = MODELS.get(model)
    if kind is None:
        raise ParameterError(f"--model must be one of {', '.join(MODELS)}; got {model!r}")
    epochs = opts["epochs"]
    if epochs is not None and (epochs < 1 or epochs != int(epochs)):
        raise ParameterError(f"--epochs must be a whole number >= 1 for kg train; got {epochs}")
    if unseen == "add" and text is None:
        raise ParameterError("--unseen add ranks new entities from their descriptions: give --text")
    train, dev, test = _splits(triples, unseen)
    descriptions, info = None, {}
    if text is not None:
        texts = read_entity_text(text)
        known = {*train.entities, *(dev.entities if dev else ()), *(test.entities if test else ())}
        names = [*train.entities, *sorted((set(texts) | known) - set(train.entities))]
        enc = _encoder(encoder)
        typer.echo(f"encoding {len(names):,} entity descriptions with {enc!r}")
        descriptions = describe(names, texts, enc)
        info = {"text": {"encoder": encoder, "file": str(text.resolve()), "dim": enc.dim}}
    ckpt = _checkpoint_folder(output, opts["resume"])
    estimator = kind(
        dim=dim, negatives=negatives, loss=loss, margin=margin, temperature=temperature,
        sampler=sampler, p=norm, lr=opts["lr"], batch_size=opts["batch_size"],
        epochs=None if epochs is None else int(epochs), workers=opts["workers"], seed=opts["seed"],
        every=opts["every"], max_time=opts["max_time"], checkpoint_dir=ckpt,
        tensorboard_dir=opts["tensorboard"], text_dim=text_dim,
        text_weight=1.0 if text_weight is None else text_weight,
    )  # fmt: skip
    start = time.perf_counter()
    estimator.fit(train, text=descriptions, resume=opts["resume"])
    took = time.perf_counter() - start
    if descriptions is not None and dev is not None:
        estimator.add_entities(dev.entities[train.num_entities :], descriptions)
        if text_weight is None:
            tried = tune_text_weight(estimator, dev, known=[train, *([test] if test else [])])
            shown = ", ".join(f"{w:g}: {m:.4f}" for w, m in tried.items())
            typer.echo(f"text weight {estimator.text_weight:g} (dev MRR by weight: {shown})")
    save_model(estimator, output, descriptions=descriptions, source=str(triples), **info)
    drop_checkpoint(ckpt)
    plotted = _plot_loss(estimator.loss_history_, output / "loss.png", estimator)
    done = len(estimator.loss_history_)
    stopped = " (--max-time stopped it)" if estimator.stopped_early_ else ""
    typer.echo(
        f"trained {estimator!r} on {len(train):,} triples, {train.num_entities:,} entities, "
        f"{train.num_relations} relations: {done} epochs in {took:.1f} s{stopped}"
    )
    typer.echo("loss per epoch: " + ", ".join(f"{x:.4f}" for x in estimator.loss_history_))
    if evaluate and dev is not None:
        result = link_prediction(estimator, dev, known=[train, *([test] if test else [])])
        typer.echo(f"dev ({len(dev):,} triples, filtered, realistic ranks):\n{result.table()}")
    typer.echo(f"wrote {output}" + (" (loss curve: loss.png)" if plotted else ""))


def _plot_loss(history: list[float], path: Path, model: Any) -> bool:
    try:
        from ..optional import pyplot

        plt = pyplot()
    except ImportError:
        return False
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(range(1, len(history) + 1), history, marker="o", markersize=3)
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"mean {model.loss} loss")
    ax.set_title(repr(model))
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


@kg_app.command("eval")
def kg_eval(
    model: Annotated[Path, typer.Argument(help="A model folder from kg train.")],
    triples: Annotated[Path, typer.Argument(help="The dataset folder (train/dev/test.tsv).")],
    split: Annotated[str, typer.Option(help="test or dev.")] = "test",
    unseen: Unseen = "drop",
    text: TextFile = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the metrics as JSON.")] = False,
) -> None:
    """Rank SPLIT of TRIPLES (both sides, filtered by every split, realistic ranks)."""
    from ..kg import link_prediction
    from ..kg.store import load_model

    if split not in ("test", "dev"):
        raise ParameterError(f"--split must be test or dev; got {split!r}")
    if not triples.is_dir():
        raise ParameterError(f"{triples} is not a folder: give the dataset folder (train.tsv ...)")
    loaded = load_model(model)
    train, dev, test = _splits(triples, unseen)
    asked = test if split == "test" else dev
    if asked is None:
        raise ParameterError(f"{triples} has no {split} split")
    other = dev if split == "test" else test
    _add_new(loaded, asked, text)
    start = time.perf_counter()
    result = link_prediction(loaded, asked, known=[train, *([other] if other else [])])
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=1))
        return
    typer.echo(
        f"{split}: {len(asked):,} triples, {loaded!r}, filtered, realistic ranks "
        f"({time.perf_counter() - start:.1f} s)\n{result.table()}"
    )


@kg_app.command("predict")
def kg_predict(
    model: Annotated[Path, typer.Argument(help="A model folder from kg train.")],
    head: Annotated[str, typer.Argument(help="An entity id or name, or ? to predict heads.")],
    relation: Annotated[str, typer.Argument(help="A relation name.")],
    tail: Annotated[str, typer.Argument(help="An entity id or name, or ? to predict tails.")],
    k: Annotated[int, typer.Option("-k", help="How many answers.")] = 10,
    text: TextFile = None,
    new_only: Annotated[
        Optional[Path],
        typer.Option("--new-only", help="Leave out answers in these triples (train.tsv)."),
    ] = None,
) -> None:
    """Complete (HEAD, RELATION, ?) or (?, RELATION, TAIL)."""
    from ..kg import Triples, read_entity_text
    from ..kg.names import resolve
    from ..kg.store import load_model

    if (head == "?") == (tail == "?"):
        raise ParameterError("put ? in exactly one place: HEAD RELATION ? or ? RELATION TAIL")
    loaded = load_model(model)
    texts = read_entity_text(text) if text is not None else {}
    exclude = Triples.read(new_only, like=loaded._graph, unseen="drop") if new_only else None
    given = tail if head == "?" else head
    aware = loaded._text is not None  # can place an entity it never saw, from its description
    entity = resolve(given, [*loaded.entities_, *(texts if aware else ())], texts)
    if entity not in loaded._graph._entity_index:
        from ..kg.text import describe

        encoder_name = loaded.info_.get("text", {}).get("encoder", "default")
        loaded.add_entities([entity], describe([entity], texts, _encoder(encoder_name)))
        typer.echo(f"{entity} is new to the model: placed from its description")
    side = {"tail": entity} if head == "?" else {"head": entity}
    answers = loaded.predict(relation, k=k, exclude=exclude, **side)
    shown = f"({entity}, {relation}, ?)" if head != "?" else f"(?, {relation}, {entity})"
    typer.echo(f"{shown}" + (f"  {entity}: {texts[entity]}" if entity in texts else ""))
    for rank, (name, score) in enumerate(answers, 1):
        label = f"  {texts[name]}" if name in texts else ""
        typer.echo(f"{rank:>3}. {name}  {score:.4f}{label}")
