"""Reading triples: ids, name tables shared across splits, and one-line errors for bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from embedlab.errors import FormatError
from embedlab.kg import Triples, read_entity_text, read_splits
from embedlab.kg.triples import UnseenEntityWarning


def test_splits_share_the_training_tables(graph: Path) -> None:
    train, dev, test = read_splits(graph)
    assert dev is None and test is not None
    assert len(train) == 40 + 32 + 40 and train.num_relations == 3 and train.num_entities == 80
    assert train.relations == ["pair", "twin", "next"]
    assert test.entities is not train.entities and test.entities == train.entities
    assert test.named()[0] == ("a0", "twin", "b0")
    assert test.ids[0].tolist() == [train.entity_id("a0"), 1, train.entity_id("b0")]
    assert read_entity_text(graph / "entity2text.txt")["b3"] == "place number 3, a b"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("a1\tpair\n", r"train.tsv, line 2: expected 3 tab-separated fields \(head, relation, "
         r"tail\), found 2 in 'a1\\tpair'$"),
        ("a1\tpart\tof\tb2\n", r"train.tsv, line 2: expected 3 tab-separated fields .* found 4 "
         r"in 'a1\\tpart\\tof\\tb2': a name may not contain a tab$"),
        ("a1\t \tb2\n", r"train.tsv, line 2: field 2 of head, relation, tail is empty$"),
    ],
)  # fmt: skip
def test_bad_lines_are_named(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "train.tsv"
    path.write_text("a0\tpair\tb0\n" + line)
    with pytest.raises(FormatError, match=message):
        Triples.read(path)


def test_an_entity_unseen_in_training_is_an_error_or_dropped_or_added(tmp_path: Path) -> None:
    (tmp_path / "train.tsv").write_text("a\tr\tb\nb\tr\tc\n")
    (tmp_path / "test.tsv").write_text("a\tr\tc\n\nz\tr\ta\n")
    with pytest.raises(
        FormatError,
        match=r"test.tsv, line 3: entity 'z' is not in the training triples .*train.tsv\): a "
        r"model cannot rank an entity it never saw; give entity descriptions",
    ):
        read_splits(tmp_path)
    with pytest.warns(UnseenEntityWarning, match=r"left out 1 triples .* \(first on line 3\)"):
        _, _, test = read_splits(tmp_path, unseen="drop")
    assert test is not None and test.named() == [("a", "r", "c")]
    _, _, test = read_splits(tmp_path, unseen="add")
    assert test is not None and test.entities == ["a", "b", "c", "z"]
    assert test.ids.tolist() == [[0, 0, 2], [3, 0, 0]]
    (tmp_path / "test.tsv").write_text("a\tnew\tb\n")
    with pytest.raises(FormatError, match=r"test.tsv, line 1: relation 'new' is not in the train"):
        read_splits(tmp_path, unseen="add")


def test_text_files_and_missing_files(tmp_path: Path) -> None:
    path = tmp_path / "e2t.txt"
    path.write_text("\ufeffa\tfirst, with\ta tab\nb\n")
    with pytest.raises(FormatError, match=r"e2t.txt, line 2: expected id<TAB>text"):
        read_entity_text(path)
    path.write_text("a\tfirst\na\tagain\n")
    with pytest.raises(FormatError, match=r"line 2: id 'a' is described twice"):
        read_entity_text(path)
    path.write_text("a\tfirst, with\ta tab\n")
    assert read_entity_text(path) == {"a": "first, with a tab"}
    with pytest.raises(FileNotFoundError, match=r"holds no train\.tsv"):
        read_splits(tmp_path)
    empty = tmp_path / "train.tsv"
    empty.write_text("\n\n")
    with pytest.raises(FormatError, match="no triples in the file"):
        Triples.read(empty)


def test_from_names_round_trips() -> None:
    t = Triples.from_names([("x", "r", "y"), ("y", "s", "x")])
    assert t.named() == [("x", "r", "y"), ("y", "s", "x")]
    assert np.array_equal(t.ids, [[0, 0, 1], [1, 1, 0]])
