"""Reading a knowledge graph: ``head<TAB>relation<TAB>tail`` triples, entity and relation texts.

``TripleFactory``-style in one class: :class:`Triples` holds the id arrays (int64, ``[n, 3]``) and the
two name tables they index. The training split fixes the tables; other splits are read against
them (:meth:`Triples.read` with ``like=train``), and an entity or relation a training split never saw
is an error naming the file and the line, or left out (``unseen="drop"``, PyKEEN's way), or added
(``unseen="add"``: the text-aware path ranks an entity with a description but no training triple)::

    train = Triples.read("WN18RR/train.tsv")
    test = Triples.read("WN18RR/test.tsv", like=train)
    text = read_entity_text("WN18RR/entity2text.txt")        # {"00260881": "land reform, ..."}

A folder stands for its ``train.tsv`` / ``dev.tsv`` (or ``valid.tsv``) / ``test.tsv``
(:func:`read_splits`). Names are kept exactly as written (no lowercasing, no trimming inside a field);
a line is three non-empty fields separated by tabs, so a name holding a tab shows up as a line with
four fields and is refused with that said. Blank lines and a UTF-8 BOM are skipped; ``.gz`` works.
This module does not train or score.
"""

from __future__ import annotations

import io
import os
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt

from ..errors import FormatError, ParameterError
from ..files import open_read

__all__ = ["Triples", "UnseenEntityWarning", "read_entity_text", "read_splits"]

IntArray = npt.NDArray[np.int64]
Unseen = Literal["error", "drop", "add"]


class UnseenEntityWarning(UserWarning):
    """Triples naming entities the training split lacks were left out of an evaluation split."""


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """``(line number, text)`` of the non-blank lines of a UTF-8 file."""
    with open_read(path) as raw:
        stream = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        try:
            for number, line in enumerate(stream, 1):
                text = line.rstrip("\r\n")
                if text.strip():
                    yield number, text
        except UnicodeDecodeError as e:
            raise FormatError(path, f"not valid UTF-8 ({e.reason})") from e


def _fields(path: Path, number: int, text: str, want: int, what: str) -> list[str]:
    parts = text.split("\t")
    if len(parts) != want:
        hint = ": a name may not contain a tab" if len(parts) > want else ""
        shown = text if len(text) <= 80 else text[:77] + "..."
        raise FormatError(
            path,
            f"expected {want} tab-separated fields ({what}), found {len(parts)} in {shown!r}{hint}",
            line=number,
        )
    for i, part in enumerate(parts):
        if not part.strip():
            raise FormatError(path, f"field {i + 1} of {what} is empty", line=number)
    return parts


@dataclass
class Triples:
    """Triples as ids into ``entities`` and ``relations`` (name lists; ids are positions)."""

    ids: IntArray
    entities: list[str]
    relations: list[str]
    source: str = "<memory>"
    _entity_index: dict[str, int] = field(default_factory=dict, repr=False)
    _relation_index: dict[str, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.ids = np.ascontiguousarray(self.ids, dtype=np.int64).reshape(-1, 3)
        if not self._entity_index:
            self._entity_index = {e: i for i, e in enumerate(self.entities)}
        if not self._relation_index:
            self._relation_index = {r: i for i, r in enumerate(self.relations)}
        if len(self._entity_index) != len(self.entities):
            raise ParameterError("entity names must be unique")
        if len(self._relation_index) != len(self.relations):
            raise ParameterError("relation names must be unique")

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def num_entities(self) -> int:
        return len(self.entities)

    @property
    def num_relations(self) -> int:
        return len(self.relations)

    def entity_id(self, name: str) -> int:
        try:
            return self._entity_index[name]
        except KeyError:
            raise ParameterError(f"unknown entity {name!r} (not in {self.source})") from None

    def relation_id(self, name: str) -> int:
        try:
            return self._relation_index[name]
        except KeyError:
            known = ", ".join(self.relations[:12]) + (" ..." if len(self.relations) > 12 else "")
            raise ParameterError(f"unknown relation {name!r}; known: {known}") from None

    def named(self) -> list[tuple[str, str, str]]:
        """The triples as names."""
        e, r = self.entities, self.relations
        return [(e[h], r[rel], e[t]) for h, rel, t in self.ids.tolist()]

    @classmethod
    def from_names(
        cls,
        triples: Sequence[tuple[str, str, str]],
        *,
        like: Triples | None = None,
        unseen: Unseen = "error",
    ) -> Triples:
        """Triples from ``(head, relation, tail)`` names; ``like`` fixes the name tables."""
        builder = _Builder(like, unseen)
        for n, (h, r, t) in enumerate(triples, 1):
            builder.add(h, r, t, None, n)
        return builder.done("<memory>")

    @classmethod
    def read(
        cls,
        path: str | os.PathLike[str],
        *,
        like: Triples | None = None,
        unseen: Unseen = "error",
    ) -> Triples:
        """Read a TSV of triples. With ``like`` (the training split), ids are ``like``'s, and an
        entity it lacks is, by ``unseen``: ``"error"`` (naming file and line), ``"drop"`` (the
        triple is left out, with a warning counting them, as PyKEEN does) or ``"add"`` (appended
        to a copy of the table: the text-aware path ranks such entities). A relation must always
        be known."""
        p = Path(path)
        if not p.exists():
            raise FileNotFoundError(f"no such triples file: {p}")
        builder = _Builder(like, unseen)
        for number, text in _lines(p):
            h, r, t = _fields(p, number, text, 3, "head, relation, tail")
            builder.add(h, r, t, p, number)
        if builder.dropped:
            warnings.warn(
                f"{p}: left out {builder.dropped:,} triples naming entities not in the training "
                f"triples (first on line {builder.first_dropped})",
                UnseenEntityWarning,
                stacklevel=2,
            )
        if not builder.rows:
            why = (
                f"all {builder.dropped:,} triples name entities not in the training triples "
                "(unseen='drop' left them out)"
                if builder.dropped
                else "no triples in the file"
            )
            raise FormatError(p, why)
        return builder.done(str(p))


class _Builder:
    def __init__(self, like: Triples | None, unseen: Unseen) -> None:
        if unseen not in ("error", "drop", "add"):
            raise ParameterError(f"unseen must be 'error', 'drop' or 'add', not {unseen!r}")
        self.like, self.unseen = like, unseen
        self.dropped, self.first_dropped = 0, 0
        self.entities = list(like.entities) if like is not None else []
        self.relations = list(like.relations) if like is not None else []
        self.e_index = dict(like._entity_index) if like is not None else {}
        self.r_index = dict(like._relation_index) if like is not None else {}
        self.rows: list[tuple[int, int, int]] = []

    def _entity(self, name: str, path: Path | None, line: int) -> int:
        got = self.e_index.get(name)
        if got is not None:
            return got
        if self.like is not None and self.unseen == "drop":
            return -1
        if self.like is not None and self.unseen == "error":
            raise FormatError(
                path,
                f"entity {name!r} is not in the training triples ({self.like.source}): a model "
                "cannot rank an entity it never saw; give entity descriptions (--text) to rank "
                "new entities, or drop the triple",
                line=line,
            )
        self.e_index[name] = len(self.entities)
        self.entities.append(name)
        return self.e_index[name]

    def _relation(self, name: str, path: Path | None, line: int) -> int:
        got = self.r_index.get(name)
        if got is not None:
            return got
        if self.like is not None:
            raise FormatError(
                path,
                f"relation {name!r} is not in the training triples ({self.like.source})",
                line=line,
            )
        self.r_index[name] = len(self.relations)
        self.relations.append(name)
        return self.r_index[name]

    def add(self, h: str, r: str, t: str, path: Path | None, line: int) -> None:
        rel = self._relation(r, path, line)
        head, tail = self._entity(h, path, line), self._entity(t, path, line)
        if head < 0 or tail < 0:
            self.dropped += 1
            self.first_dropped = self.first_dropped or line
            return
        self.rows.append((head, rel, tail))

    def done(self, source: str) -> Triples:
        ids = np.array(self.rows, dtype=np.int64).reshape(-1, 3)
        return Triples(ids, self.entities, self.relations, source, self.e_index, self.r_index)


def read_splits(
    folder: str | os.PathLike[str], *, unseen: Unseen = "error"
) -> tuple[Triples, Triples | None, Triples | None]:
    """``(train, dev, test)`` of a folder: ``train.tsv``, ``dev.tsv`` or ``valid.tsv``, ``test.tsv``
    (``.txt`` too; dev and test may be missing). ``unseen``: as :meth:`Triples.read`."""
    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f"no such folder: {root}")

    def find(*stems: str) -> Path | None:
        for stem in stems:
            for suffix in (".tsv", ".txt", ".tsv.gz", ".txt.gz"):
                if (root / f"{stem}{suffix}").exists():
                    return root / f"{stem}{suffix}"
        return None

    train_path = find("train")
    if train_path is None:
        raise FileNotFoundError(f"{root} holds no train.tsv (head<TAB>relation<TAB>tail lines)")
    train = Triples.read(train_path)
    dev_path, test_path = find("dev", "valid", "validation"), find("test")
    dev = Triples.read(dev_path, like=train, unseen=unseen) if dev_path else None
    # new entities of dev keep their ids in test: the tables only ever grow at the end
    base = dev if dev is not None and unseen == "add" else train
    test = Triples.read(test_path, like=base, unseen=unseen) if test_path else None
    return train, dev, test


def read_entity_text(path: str | os.PathLike[str]) -> dict[str, str]:
    """``{id: text}`` from an ``id<TAB>text`` file (KG-BERT's entity2text.txt and friends); the
    text may hold further tabs (they become spaces)."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"no such text file: {p}")
    out: dict[str, str] = {}
    for number, text in _lines(p):
        key, sep, rest = text.partition("\t")
        if not sep or not key.strip() or not rest.strip():
            raise FormatError(p, "expected id<TAB>text", line=number)
        if key in out:
            raise FormatError(p, f"id {key!r} is described twice", line=number)
        out[key] = rest.replace("\t", " ").strip()
    return out
