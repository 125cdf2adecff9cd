"""``embedlab recommend train|similar|user|eval``: the recommender as thin shells.

``train RATINGS -o OUT --items movies.csv [--tags tags.csv]`` fits
:class:`embedlab.apps.recommend.Recommender` (item texts through ``--model``, default MiniLM)
and saves it with the item texts (``OUT/item_texts.json``) for display; ``similar OUT ITEM``,
``user OUT --history 1,2,3`` (or ``--ratings FILE --user U``) print recommendations with the
history items behind each; ``eval RATINGS`` compares popularity, item2vec, content and the
hybrid on a time split.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

recommend_app = typer.Typer(
    help="Recommend items from behaviour and content.", no_args_is_help=True
)

Ratings = Annotated[Path, typer.Argument(help="user,item,timestamp[,rating] rows (CSV/TSV/JSONL).")]
Items = Annotated[
    Optional[Path], typer.Option(help="Item texts: id plus --fields columns (e.g. movies.csv).")
]
Columns = Annotated[str, typer.Option(help="The user, item and time columns of the ratings.")]
Tags = Annotated[Optional[Path], typer.Option(help="user,item,tag rows added to item texts.")]
Fields = Annotated[str, typer.Option(help="Item text columns.")]
ItemId = Annotated[str, typer.Option(help="The item id column of --items.")]
Encoder = Annotated[Optional[str], typer.Option("--model", "-m", help="Encoder of the item texts.")]
ColdSlots = Annotated[
    int, typer.Option(help="Places in each list kept for items no one has seen yet (by content).")
]


def _read(ratings: Path, columns: str, min_rating: Optional[float]) -> Any:
    from ..apps.interactions import read_interactions
    from ..errors import ParameterError

    names = [c.strip() for c in columns.split(",")]
    if len(names) != 3:
        raise ParameterError(f"--columns takes user,item,time; got {columns!r}")
    return read_interactions(ratings, user=names[0], item=names[1], time=names[2],
                             min_rating=min_rating)  # fmt: skip


def _texts(items: Optional[Path], tags: Optional[Path], fields: str, item_id: str) -> Any:
    if items is None:
        return None
    from ..apps.interactions import read_item_texts

    return read_item_texts(items, id=item_id, fields=[f.strip() for f in fields.split(",")],
                           tags=tags)  # fmt: skip


@recommend_app.command("train")
def train(
    ratings: Ratings,
    output: Annotated[Path, typer.Option("--output", "-o", help="The model folder.")],
    items: Items = None,
    tags: Tags = None,
    fields: Fields = "title,genres",
    item_id: ItemId = "movieId",
    columns: Columns = "userId,movieId,timestamp",
    min_rating: Annotated[Optional[float], typer.Option(help="Keep ratings >= this only.")] = None,
    mode: Annotated[str, typer.Option(help="hybrid, item2vec, content or popularity.")] = "hybrid",
    model: Encoder = None,
) -> None:
    """Fit a recommender on interactions (and item texts) and save it."""
    from ..apps.recommend import Recommender
    from ..encoders import load_encoder
    from ..files import atomic_file

    histories = _read(ratings, columns, min_rating)
    texts = _texts(items, tags, fields, item_id)
    encoder = load_encoder(model) if texts is not None else None
    rec = Recommender(mode=mode).fit(histories, item_texts=texts, encoder=encoder)
    rec.save(output)
    if texts is not None:
        with atomic_file(output / "item_texts.json") as f:
            f.write(json.dumps(texts, ensure_ascii=False).encode("utf-8"))
    typer.echo(
        f"{len(histories):,} users, {histories.interactions():,} interactions, "
        f"{len(rec.items_):,} items; weights (item2vec, content, popularity) {rec.weights_} "
        f"-> {output}"
    )


def _load(folder: Path) -> tuple[Any, dict[str, str]]:
    from ..apps.recommend import Recommender

    rec = Recommender.load(folder)
    path = folder / "item_texts.json"
    texts = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    return rec, texts


def _show(rows: list[tuple[str, float]], texts: dict[str, str], why: Any = None) -> None:
    for item, score in rows:
        line = f"{score:8.3f}  {item}  {texts.get(item, '')[:70]}"
        if why is not None:
            because = why(item)
            if because:
                line += "   because: " + "; ".join(texts.get(h, h)[:30] for h, _ in because)
        typer.echo(line)


@recommend_app.command("similar")
def similar(folder: Path, item: str, k: Annotated[int, typer.Option("-k")] = 10) -> None:
    """Items like ITEM."""
    rec, texts = _load(folder)
    _show(rec.similar(item, k), texts)


@recommend_app.command("user")
def user(
    folder: Path,
    history: Annotated[
        Optional[str], typer.Option(help="Comma-separated item ids, oldest first.")
    ] = None,
    ratings: Annotated[Optional[Path], typer.Option(help="Read the history from here.")] = None,
    user_id: Annotated[Optional[str], typer.Option("--user", help="The user in --ratings.")] = None,
    columns: Columns = "userId,movieId,timestamp",
    k: Annotated[int, typer.Option("-k")] = 10,
    cold_slots: ColdSlots = 0,
) -> None:
    """Recommendations for a history, each with the history items behind it."""
    from ..errors import ParameterError

    if history is not None:
        items = [h.strip() for h in history.split(",") if h.strip()]
    elif ratings is not None and user_id is not None:
        histories = _read(ratings, columns, None)
        if user_id not in histories.items:
            raise ParameterError(f"user {user_id!r} is not in {ratings}")
        items = histories.items[user_id]
    else:
        raise ParameterError("give --history, or --ratings with --user")
    rec, texts = _load(folder)
    _show(rec.recommend(items, k, cold_slots=cold_slots), texts,
          lambda i: rec.explain(items, i, top=2))  # fmt: skip


@recommend_app.command("eval")
def evaluate(
    ratings: Ratings,
    items: Items = None,
    tags: Tags = None,
    fields: Fields = "title,genres",
    item_id: ItemId = "movieId",
    columns: Columns = "userId,movieId,timestamp",
    holdout: Annotated[
        float, typer.Option(help="Share of each user's latest items held out.")
    ] = 0.2,
    model: Encoder = None,
    cold_slots: ColdSlots = 0,
) -> None:
    """Popularity, item2vec, content and hybrid on a time split: recall@10/20, NDCG@10."""
    from ..apps.interactions import time_split
    from ..apps.recommend import Recommender, evaluate_recommender
    from ..encoders import load_encoder

    histories = _read(ratings, columns, None)
    train_h, test_h = time_split(histories, holdout)
    texts = _texts(items, tags, fields, item_id)
    content = None
    if texts is not None:
        keys = list(texts)
        rows = load_encoder(model).encode([texts[k] for k in keys], normalize=True)
        content = dict(zip(keys, rows, strict=True))
    modes = ["popularity", "item2vec"] + (["content", "hybrid"] if content else [])
    typer.echo("| model | recall@10 | recall@20 | NDCG@10 | coverage |\n|---|---|---|---|---|")
    for mode in modes:
        rec = Recommender(mode=mode, cold_slots=cold_slots).fit(train_h, content_vectors=content)
        r = evaluate_recommender(rec, train_h, test_h)
        typer.echo(f"| {mode} | {r['recall@10']:.4f} | {r['recall@20']:.4f} | "
                   f"{r['ndcg@10']:.4f} | {r['coverage']:.3f} |")  # fmt: skip
