from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

from embedlab.encoders import LongTextWarning, Pooling, TransformerEncoder
from embedlab.errors import FormatError, ParameterError

from .conftest import SENTENCES

torch = pytest.importorskip("torch")


def _reference_hidden(folder: Path, text: str, model_cls: str = "AutoModel") -> np.ndarray:
    import transformers

    tok = transformers.AutoTokenizer.from_pretrained(str(folder))
    model = getattr(transformers, model_cls).from_pretrained(str(folder)).eval()
    enc = tok(text, return_tensors="pt")
    with torch.inference_mode():
        return model(**enc).last_hidden_state[0].numpy()


def test_plain_bert_mean_pooling_equals_masked_mean_of_a_direct_forward(tiny_bert: Path) -> None:
    enc = TransformerEncoder(tiny_bert)
    assert enc.pooling.modes == ("mean",) and not enc.normalize
    assert enc.max_length == 64 and enc.dim == 32
    got = enc.encode(SENTENCES[0])
    want = _reference_hidden(tiny_bert, SENTENCES[0]).mean(axis=0)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("mode", ["cls", "max", "mean_sqrt_len", "weightedmean", "lasttoken"])
def test_each_pooling_mode_matches_its_definition(tiny_bert: Path, mode: str) -> None:
    enc = TransformerEncoder(tiny_bert, pooling=mode)
    h = _reference_hidden(tiny_bert, SENTENCES[1])
    n = len(h)
    want = {
        "cls": h[0],
        "max": h.max(axis=0),
        "mean_sqrt_len": h.sum(axis=0) / np.sqrt(n),
        "weightedmean": (h * np.arange(1, n + 1)[:, None]).sum(axis=0) / (n * (n + 1) / 2),
        "lasttoken": h[-1],
    }[mode]
    # inside a padded batch with a longer sentence, so padding must be masked out
    got = enc.encode([SENTENCES[1], SENTENCES[1] + " and more words to pad the rest"])[0]
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_pooling_modes_concatenate_in_sentence_transformers_order(tiny_bert: Path) -> None:
    enc = TransformerEncoder(tiny_bert, pooling="mean+cls")
    assert enc.pooling.modes == ("cls", "mean") and enc.dim == 64
    h = _reference_hidden(tiny_bert, SENTENCES[2])
    np.testing.assert_allclose(
        enc.encode(SENTENCES[2]), np.concatenate([h[0], h.mean(0)]), rtol=1e-4, atol=1e-5
    )
    with pytest.raises(ParameterError, match=r"'pooling' parameter must be one of 'cls', 'max'"):
        Pooling.parse("avg")


def test_sentence_transformers_folder_matches_sentence_transformers(tiny_st: Path) -> None:
    st = pytest.importorskip("sentence_transformers")
    ours = TransformerEncoder(tiny_st)
    assert ours.pooling.modes == ("cls",) and ours.normalize and ours.dim == 16
    assert ours.max_length == 24 and set(ours.prompts) == {"query", "passage"}
    ref = st.SentenceTransformer(str(tiny_st), device="cpu")
    texts = [*SENTENCES, " ".join(SENTENCES)]  # the last is longer than max_seq_length=24
    with pytest.warns(LongTextWarning, match=r"1 of 13 texts were longer than max_length=24"):
        got = ours.encode(texts, batch_size=5)
    want = ref.encode(texts, batch_size=5, convert_to_numpy=True)
    cos = np.sum(got * want, axis=1)
    assert cos.min() >= 0.99999
    got_q = ours.encode(SENTENCES[:3], prompt_name="query")
    want_q = ref.encode(SENTENCES[:3], prompt_name="query", convert_to_numpy=True)
    assert np.sum(got_q * want_q, axis=1).min() >= 0.99999
    assert not np.allclose(got_q, got[:3], atol=1e-4)  # the prompt changed the vectors


def test_prompts_are_prefixes_and_unknown_names_are_refused(tiny_bert: Path) -> None:
    enc = TransformerEncoder(tiny_bert, prompts={"query": "query: "})
    np.testing.assert_allclose(
        enc.encode("a cat", prompt_name="query"), enc.encode("query: a cat"), atol=1e-6
    )
    np.testing.assert_allclose(
        enc.encode("a cat", prompt="query: "), enc.encode("query: a cat"), atol=1e-6
    )
    with pytest.raises(ParameterError, match=r"prompt_name 'doc' is not defined; this model has: "):
        enc.encode("a cat", prompt_name="doc")
    with pytest.raises(ParameterError, match=r"default_prompt_name 'x' is not one of the prompts"):
        TransformerEncoder(tiny_bert, default_prompt_name="x")


def test_gpt2_defaults_to_last_token_pooling(tiny_gpt2: Path) -> None:
    enc = TransformerEncoder(tiny_gpt2)
    assert enc.is_causal and enc.pooling.modes == ("lasttoken",)
    h = _reference_hidden(tiny_gpt2, SENTENCES[4])
    batch = enc.encode([SENTENCES[4], SENTENCES[1]])  # the first is padded on the right
    np.testing.assert_allclose(batch[0], h[-1], rtol=1e-4, atol=1e-5)


def test_a_sentence_alone_or_in_a_padded_batch_gives_the_same_vector(
    tiny_bert: Path, tiny_gpt2: Path
) -> None:
    for folder in (tiny_bert, tiny_gpt2):
        enc = TransformerEncoder(folder, normalize=True)
        alone = np.stack([enc.encode(s) for s in SENTENCES])
        together = enc.encode(SENTENCES, batch_size=4)
        assert np.sum(alone * together, axis=1).min() >= 0.99999


def test_the_unpadded_forward_equals_the_padded_one(tiny_bert: Path, tiny_gpt2: Path) -> None:
    from embedlab.encoders._backends import TorchBackend
    from embedlab.encoders.base import pad_ids

    packed, padded = TorchBackend(tiny_bert), TorchBackend(tiny_bert, packed=False)
    assert packed.packed is not None and padded.packed is None
    assert TorchBackend(tiny_gpt2).packed is None  # not a BERT: transformers' own forward
    rng = np.random.default_rng(0)
    rows = [rng.integers(5, 100, size=n).tolist() for n in (17, 3, 9, 1, 30, 9, 9, 30, 4)]
    ids, mask = pad_ids(rows, 0)
    want = padded.run(ids, mask)
    real = mask.astype(bool)
    # attention in one padded group, in groups of similar length, one group per length
    for overhead, groups in ((10**6, 1), (20, 2), (5, 4), (0, 6)):
        packed.packed.group_overhead = overhead
        assert len(packed.packed._plan(mask)[1]) == groups
        got = packed.run(ids, mask)
        np.testing.assert_allclose(got[real], want[real], rtol=1e-5, atol=1e-5)
        assert not got[~real].any()  # padding rows are zeros, never attended to
    np.testing.assert_allclose(packed.run(ids[3:4, :1], mask[3:4, :1])[0], want[3, :1], atol=1e-5)


def test_the_dense_layers_run_on_onednn_where_torch_has_it(tiny_bert: Path) -> None:
    """On an x86 torch with oneDNN, the unpadded forward's dense layers use its packed weights
    (GELU fused into the up-projection), and give F.linear's numbers."""
    import torch.nn.functional as F

    from embedlab.encoders._backends import TorchBackend
    from embedlab.encoders._packed import Dense, onednn_linear

    if not torch.backends.mkldnn.is_available():
        pytest.skip("this torch has no oneDNN")
    assert onednn_linear()
    backend = TorchBackend(tiny_bert)
    assert backend.packed is not None
    qkv, out, up, down = backend.packed._dense()[0]
    assert all(d.packed is not None for d in (qkv, out, up, down)) and up.gelu and not down.gelu
    x = torch.randn(7, up.weight.shape[1], generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        want = F.gelu(F.linear(x, up.weight, up.bias))
        plain = Dense(up.weight, up.bias, gelu=True)
        plain.packed = None  # the fallback path
        torch.testing.assert_close(up(x), want, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(plain(x), want, atol=1e-6, rtol=1e-6)


def test_the_unpadded_forward_follows_weight_updates(tiny_bert: Path) -> None:
    """A model being fine-tuned changes its weights under the encoder (attention, feed-forward,
    each held packed for oneDNN): an optimizer step (in place) and load_state_dict must both show
    in the next unpadded call."""
    from embedlab.encoders._backends import TorchBackend

    backend = TorchBackend(tiny_bert)
    assert backend.packed is not None
    ids, mask = np.array([[2, 40, 41, 42, 3]]), np.ones((1, 5), dtype=np.int64)
    before = backend.run(ids, mask)
    layer = backend.model.encoder.layer[0]
    att = layer.attention.self
    params = [*att.query.parameters(), *att.value.parameters(), *layer.intermediate.parameters()]
    gen = torch.Generator().manual_seed(0)
    for p in params:
        p.grad = torch.randn(p.shape, generator=gen)
    torch.optim.SGD(params, lr=1.0).step()
    stepped = backend.run(ids, mask)
    reference = TorchBackend(tiny_bert, packed=False)
    reference.model.load_state_dict(backend.model.state_dict())
    np.testing.assert_allclose(stepped, reference.run(ids, mask), atol=1e-5)
    assert np.abs(stepped - before).max() > 0.05  # the step changed the output
    backend.model.load_state_dict(TorchBackend(tiny_bert, packed=False).model.state_dict())
    np.testing.assert_allclose(backend.run(ids, mask), before, atol=1e-6)


def test_truncate_warns_once_with_a_count_and_chunk_averages_windows(tiny_bert: Path) -> None:
    long_text = " ".join(SENTENCES)
    enc = TransformerEncoder(tiny_bert, max_length=16)
    with pytest.warns(LongTextWarning, match=r"2 of 3 texts were longer than max_length=16"):
        out = enc.encode([long_text, "a cat", long_text + " again"])
    first_window = enc.tokenizer(long_text, truncation=True, max_length=16)["input_ids"]
    assert len(first_window) == 16
    np.testing.assert_allclose(
        out[0], enc.encode(enc.tokenizer.decode(first_window[1:-1])), rtol=1e-4, atol=1e-5
    )
    chunked = TransformerEncoder(tiny_bert, max_length=16, long_text="chunk", chunk_overlap=4)
    windows = chunked.tokenizer(
        long_text, truncation=True, max_length=16, stride=4, return_overflowing_tokens=True
    )["input_ids"]
    assert len(windows) > 2
    pooled = [chunked._encode_batch([w], 0)[0] for w in windows]
    weights = np.array([len(w) for w in windows], dtype=np.float32)
    want = (np.stack(pooled) * weights[:, None]).sum(0) / weights.sum()
    got = chunked.encode([long_text, "a cat"])
    np.testing.assert_allclose(got[0], want, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(got[1], enc.encode("a cat"), atol=1e-6)
    strict = TransformerEncoder(tiny_bert, max_length=16, long_text="error")
    with pytest.raises(ParameterError, match=r"1 of 2 texts are longer than max_length=16 tokens"):
        strict.encode(["a cat", long_text])


def test_encode_counted_counts_each_texts_tokens_from_the_same_tokenization(
    tiny_bert: Path,
) -> None:
    long_text = " ".join(SENTENCES)
    texts = ["a cat", long_text, "the dog sat on the mat"]
    tok = TransformerEncoder(tiny_bert).tokenizer
    full = [len(tok(t, verbose=False)["input_ids"]) for t in texts]
    assert full[1] > 16
    for long_text_mode in ("truncate", "chunk"):
        enc = TransformerEncoder(tiny_bert, max_length=16, long_text=long_text_mode)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", LongTextWarning)
            vectors, counts = enc.encode_counted(texts, batch_size=2)
            want = enc.encode(texts)
        np.testing.assert_allclose(vectors, want, atol=1e-6)
        assert counts == full  # with [CLS] and [SEP]; the long text before truncation
    # a default prompt runs with the texts but is not counted as theirs
    query = TransformerEncoder(tiny_bert, prompts={"q": "query: "}, default_prompt_name="q")
    vectors, counts = query.encode_counted(texts[:1])
    np.testing.assert_allclose(vectors, query.encode(texts[:1]), atol=1e-6)
    assert not np.allclose(vectors, query.encode(texts[:1], prompt=""), atol=1e-3)
    assert counts == full[:1]
    assert query.encode_counted([])[1] == []


def test_bad_arguments_name_the_parameter(tiny_bert: Path, tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match=r"'long_text' parameter of TransformerEncoder"):
        TransformerEncoder(tiny_bert, long_text="drop")  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match=r"max_length=100 exceeds the model's 64 positions"):
        TransformerEncoder(tiny_bert, max_length=100)
    with pytest.raises(ParameterError, match=r"int8=True needs backend='onnx'"):
        TransformerEncoder(tiny_bert, int8=True)
    with pytest.raises(ParameterError, match=r"the model folder ./nowhere/at/all does not exist"):
        TransformerEncoder("./nowhere/at/all")
    enc = TransformerEncoder(tiny_bert)
    with pytest.raises(ParameterError, match=r"item 1 is int"):
        enc.encode(["fine", 3])  # type: ignore[list-item]
    with pytest.raises(ParameterError, match=r"'batch_size' parameter of TransformerEncoder"):
        enc.encode(["fine"], batch_size=0)
    assert enc.encode([]).shape == (0, 32)
    # pickled weights are refused, not loaded
    pickled = tmp_path / "pickled"
    shutil.copytree(tiny_bert, pickled)
    (pickled / "model.safetensors").rename(pickled / "pytorch_model.bin")
    with pytest.raises(FormatError, match=r"does not unpickle pytorch_model.bin"):
        TransformerEncoder(pickled)


def test_unknown_sentence_transformers_module_is_a_format_error(
    tiny_st: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "st"
    shutil.copytree(tiny_st, folder)
    modules = json.loads((folder / "modules.json").read_text())
    modules[1]["type"] = "sentence_transformers.models.LSTM"
    (folder / "modules.json").write_text(json.dumps(modules))
    with pytest.raises(FormatError, match=r"module 1 has type 'sentence_transformers.models.LSTM'"):
        TransformerEncoder(folder)


def test_hub_ids_are_fetched_through_huggingface_hub(
    monkeypatch: pytest.MonkeyPatch, tiny_bert: Path
) -> None:
    import huggingface_hub

    calls: list[tuple[str, str | None]] = []

    def fake_download(repo_id: str, revision: str | None = None, **kw: object) -> str:
        calls.append((repo_id, revision))
        return str(tiny_bert)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_download)
    enc = TransformerEncoder("someone/tiny-bert", revision="main")
    assert calls == [("someone/tiny-bert", "main")] and enc.name == "someone/tiny-bert"
    monkeypatch.undo()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(ParameterError, match=r"could not be fetched from the Hugging Face hub"):
        TransformerEncoder("someone/not-cached-anywhere")


@pytest.mark.filterwarnings("ignore::embedlab.encoders.LongTextWarning")
def test_one_forward_pass_stays_bounded_whatever_the_batch_size(
    tiny_bert: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from embedlab.encoders.base import MAX_PADDED_TOKENS

    enc = TransformerEncoder(tiny_bert)
    shapes: list[tuple[int, int]] = []
    real = enc.backend.run

    def spy(ids: np.ndarray, mask: np.ndarray, **kw: object) -> object:
        shapes.append(ids.shape)
        return real(ids, mask, **kw)

    monkeypatch.setattr(enc.backend, "run", spy)
    texts = [" ".join(SENTENCES) * 4] * 700  # every text fills the 64-token window
    enc.encode_tokens(texts[:5], batch_size=10_000)
    shapes.clear()
    out = enc.encode_tokens(texts, batch_size=10_000)  # a server asks for a whole call
    assert len(out) == 700 and len(shapes) >= 700 * 64 // MAX_PADDED_TOKENS
    assert all(n * length <= MAX_PADDED_TOKENS for n, length in shapes)


def test_batches_bound_attention_memory_for_long_texts() -> None:
    from embedlab.encoders.base import MAX_ATTENTION_CELLS, length_sorted_batches

    batches = [list(b) for b in length_sorted_batches([1024] * 40, 1000, overhead=10_000)]
    assert all(len(b) * 1024 * 1024 <= MAX_ATTENTION_CELLS for b in batches)
    assert sorted(i for b in batches for i in b) == list(range(40)) and len(batches) == 5
