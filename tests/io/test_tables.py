"""Record files for `embedlab embed`: every layout in, .npy/.parquet out, errors with file and line."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from embedlab.errors import FormatError, ParameterError
from embedlab.io.tables import write_embeddings
from embedlab.records import read_texts


def test_txt_skips_blank_lines_and_ids_are_line_numbers(tmp_path: Path) -> None:
    p = tmp_path / "a.txt.gz"
    with gzip.open(p, "wt", encoding="utf-8") as f:
        f.write("first line\n\n  \nsecond, with comma\n猫喜欢鱼\n")
    assert read_texts(p) == (["1", "4", "5"], ["first line", "second, with comma", "猫喜欢鱼"])


def test_jsonl_field_and_ids(tmp_path: Path) -> None:
    p = tmp_path / "a.jsonl"
    p.write_text(json.dumps({"id": 7, "body": "x y"}) + "\n\n" + json.dumps({"body": "z"}) + "\n")
    assert read_texts(p, field="body") == (["7", "3"], ["x y", "z"])
    with pytest.raises(
        FormatError,
        match=r"a.jsonl, line 1: expected a string field 'text', found \['body', 'id'\]",
    ):
        read_texts(p)
    p.write_text('{"text": "ok"}\n{"text": \n')
    with pytest.raises(FormatError, match=r"a.jsonl, line 2: not valid JSON"):
        read_texts(p)


def test_csv_and_tsv_with_quotes_and_header(tmp_path: Path) -> None:
    p = tmp_path / "a.csv"
    p.write_text('id,text,label\nq1,"hello, world",1\nq2,"say ""hi""",0\n', encoding="utf-8")
    assert read_texts(p) == (["q1", "q2"], ["hello, world", 'say "hi"'])
    t = tmp_path / "a.tsv"
    t.write_text("sentence\tscore\nfirst\t1\nsecond\t2\n")
    assert read_texts(t, field="sentence") == (["1", "2"], ["first", "second"])
    with pytest.raises(FormatError, match=r"a.tsv, line 1: expected a column 'text' in the header"):
        read_texts(t)
    t.write_text("text\tscore\nfirst\t1\nsecond\n")
    with pytest.raises(
        FormatError, match=r"a.tsv, line 3: expected 2 columns as the header, found 1"
    ):
        read_texts(t)


def test_npy_output_with_ids_round_trips(tmp_path: Path) -> None:
    v = np.arange(6, dtype=np.float32).reshape(3, 2)
    files = write_embeddings(tmp_path / "out.npy", ["a", "b", "c"], v)
    assert [f.name for f in files] == ["out.npy", "out.ids.txt"]
    np.testing.assert_array_equal(np.load(files[0], allow_pickle=False), v)
    assert files[1].read_text().split("\n") == ["a", "b", "c", ""]
    with pytest.raises(ParameterError, match=r"2 ids but 3 vectors"):
        write_embeddings(tmp_path / "x.npy", ["a", "b"], v)
    with pytest.raises(ParameterError, match=r"must end in .npy or .parquet"):
        write_embeddings(tmp_path / "x.csv", ["a", "b", "c"], v)


def test_parquet_in_and_out(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    src = tmp_path / "in.parquet"
    pq.write_table(pa.table({"id": [10, 11], "text": ["one", "two"]}), src)
    assert read_texts(src) == (["10", "11"], ["one", "two"])
    v = np.random.default_rng(0).normal(size=(2, 4)).astype(np.float32)
    (out,) = write_embeddings(tmp_path / "out.parquet", ["10", "11"], v)
    table = pq.read_table(out)
    assert table.column("id").to_pylist() == ["10", "11"]
    np.testing.assert_array_equal(np.array(table.column("embedding").to_pylist(), np.float32), v)
    with pytest.raises(FormatError, match=r"expected a column 'body'"):
        read_texts(src, field="body")


def test_read_mapping_reads_json_and_yaml_and_names_the_file_on_errors(tmp_path: Path) -> None:
    from embedlab.records import read_mapping

    (tmp_path / "a.json").write_text('{"models": {"m": "default"}}')
    (tmp_path / "a.yaml").write_text("models:\n  m: default\n")
    assert read_mapping(tmp_path / "a.json", "server config") == {"models": {"m": "default"}}
    assert read_mapping(tmp_path / "a.yaml", "server config") == {"models": {"m": "default"}}
    (tmp_path / "list.yaml").write_text("- a\n- b\n")
    with pytest.raises(FormatError, match=r"list\.yaml.*a task spec is a mapping, not list"):
        read_mapping(tmp_path / "list.yaml", "task spec")
    (tmp_path / "bad.json").write_text('{"models": ')
    with pytest.raises(FormatError, match=r"bad\.json.*not a valid server config"):
        read_mapping(tmp_path / "bad.json", "server config")


def test_embed_outputs_read_back_with_their_ids_and_columns(tmp_path: Path) -> None:
    from embedlab.io.tables import read_embeddings

    rows = np.arange(12, dtype=np.float32).reshape(4, 3)
    write_embeddings(tmp_path / "e.npy", ["a", "b c", "d", "é"], rows)
    ids, got, columns = read_embeddings(tmp_path / "e.npy")
    assert ids == ["a", "b c", "d", "é"] and columns == {}
    np.testing.assert_array_equal(got, rows)
    np.save(tmp_path / "bare.npy", rows[:2].astype(np.float64))  # a plain numpy file: row ids
    assert read_embeddings(tmp_path / "bare.npy")[0] == ["0", "1"]
    (tmp_path / "e.ids.txt").write_text("a\nb\n")
    with pytest.raises(FormatError, match=r"e.ids.txt: expected 4 ids \(one a row\), found 2"):
        read_embeddings(tmp_path / "e.npy")
    np.save(tmp_path / "flat.npy", np.zeros(5))
    with pytest.raises(FormatError, match=r"flat.npy: expected a 2-D array of numbers, found"):
        read_embeddings(tmp_path / "flat.npy")
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(FormatError, match=r"objects.npy: not a numeric \.npy array"):
        read_embeddings(tmp_path / "objects.npy")  # never unpickled

    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"id": ["x", "y"], "embedding": [[1.0, 2.0], [3.0, 4.0]],
                             "lang": ["en", "fr"], "n": [1, 2], "tags": [["a"], []]}),
                   tmp_path / "t.parquet")  # fmt: skip
    ids, got, columns = read_embeddings(tmp_path / "t.parquet")
    assert ids == ["x", "y"] and got.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert columns == {"lang": ["en", "fr"], "n": [1, 2]}  # lists are no column to colour by
    pq.write_table(pa.table({"embedding": [[1.0, 2.0], [3.0]]}), tmp_path / "ragged.parquet")
    with pytest.raises(FormatError, match="row 2 of 'embedding' is not a list of 2 floats"):
        read_embeddings(tmp_path / "ragged.parquet")


def test_metadata_joins_on_ids_or_goes_row_by_row(tmp_path: Path) -> None:
    from embedlab.io.tables import read_metadata

    ids = ["a", "b", "c"]
    (tmp_path / "m.tsv").write_text("id\tlabel\tscore\nc\tcat\t0.5\na\tdog\t2\n")
    assert read_metadata(tmp_path / "m.tsv", ids) == {
        "label": ["dog", None, "cat"], "score": ["2", None, "0.5"]
    }  # fmt: skip
    (tmp_path / "tb.tsv").write_text("x\ny\nz\n")  # TensorBoard: one column, no header
    assert read_metadata(tmp_path / "tb.tsv", ids) == {"label": ["x", "y", "z"]}
    (tmp_path / "m.csv").write_text("kind,size\nfruit,1\nveg,2\nfruit,3\n")
    assert read_metadata(tmp_path / "m.csv", ids) == {
        "kind": ["fruit", "veg", "fruit"], "size": ["1", "2", "3"]
    }  # fmt: skip
    (tmp_path / "m.jsonl").write_text('{"id": "b", "n": 4, "deep": {"x": 1}}\n')
    assert read_metadata(tmp_path / "m.jsonl", ids) == {"n": [None, 4, None], "deep": [None] * 3}
    (tmp_path / "short.csv").write_text("kind\nfruit\n")
    with pytest.raises(FormatError, match=r"expected an 'id' column or one row a point \(3\)"):
        read_metadata(tmp_path / "short.csv", ids)
    (tmp_path / "ragged.tsv").write_text("id\tlabel\na\tx\nb\n")
    with pytest.raises(FormatError, match=r"ragged.tsv, line 3: expected 2 fields"):
        read_metadata(tmp_path / "ragged.tsv", ids)
