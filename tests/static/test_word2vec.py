"""Word2Vec on generated corpora with planted structure: recovery, determinism, resume, errors."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
from planted import topic_accuracy, topic_corpus

from embedlab.errors import NotFittedError, ParameterError
from embedlab.fitting.tensorboard import crc32c
from embedlab.static import Word2Vec
from embedlab.static._huffman import huffman_tree
from embedlab.static._kernels import alias_table

SMALL = dict(dim=24, min_count=1, epochs=4, seed=5, show_progress=False)


@pytest.mark.parametrize(
    "params",
    [
        dict(sg=True),
        dict(sg=False),
        dict(sg=True, hs=True, negative=0),
        dict(sg=False, hs=True, negative=0),
        dict(sg=True, hs=True, negative=3),
    ],
    ids=["sg-ns", "cbow-ns", "sg-hs", "cbow-hs", "sg-hs+ns"],
)
def test_planted_topics_are_recovered(params: dict[str, object]) -> None:
    model = Word2Vec(**SMALL, **params).fit(topic_corpus())  # type: ignore[arg-type]
    assert topic_accuracy(model) >= 0.95
    assert len(model.loss_history_) == 4 and model.loss_history_[-1] < model.loss_history_[0]
    assert model.vectors_.dim == 24 and len(model.vectors_) == 90


def test_item2vec_whole_session_window() -> None:
    model = Word2Vec(**SMALL, window="sequence", ns_exponent=0.0).fit(topic_corpus())  # type: ignore[arg-type]
    assert topic_accuracy(model) >= 0.95


def test_deterministic_mode_is_bit_for_bit_reproducible() -> None:
    corpus = topic_corpus(sentences=800)
    a = Word2Vec(**SMALL, workers=1).fit(corpus)  # type: ignore[arg-type]
    b = Word2Vec(**SMALL, workers=1).fit(corpus)  # type: ignore[arg-type]
    assert np.array_equal(a.vectors_.vectors, b.vectors_.vectors)
    assert a.loss_history_ == b.loss_history_
    c = Word2Vec(**{**SMALL, "seed": 6}, workers=1).fit(corpus)  # type: ignore[arg-type]
    assert not np.array_equal(a.vectors_.vectors, c.vectors_.vectors)


@pytest.mark.parametrize("sg", [True, False], ids=["sg", "cbow"])
def test_a_kernel_compiled_for_the_size_trains_what_the_shared_one_does(
    sg: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """dim 32 runs machine code made for 32 floats; with the size range moved, the kernel for every
    size: the same updates in another order of float sums (fastmath), so the same vectors to
    rounding after a few thousand updates, and a different seed is farther away than that."""
    from embedlab.static import _kernels as K

    corpus = topic_corpus(sentences=200)
    params = {**SMALL, "dim": 32, "epochs": 1, "workers": 1, "sg": sg}
    assert len(K.size_token(32)) == 32
    fixed = Word2Vec(**params).fit(corpus)  # type: ignore[arg-type]
    monkeypatch.setattr(K, "SPECIALISED_DIMS", (64, 1024))
    assert K.size_token(32) == ()
    shared = Word2Vec(**params).fit(corpus)  # type: ignore[arg-type]
    other = Word2Vec(**{**params, "seed": 6}).fit(corpus)  # type: ignore[arg-type]
    gap = np.abs(fixed.vectors_.vectors - shared.vectors_.vectors).max()
    assert gap < 1e-4 < np.abs(fixed.vectors_.vectors - other.vectors_.vectors).max()
    assert fixed.loss_history_ == pytest.approx(shared.loss_history_, rel=1e-5)


class Stop(Exception):
    pass


def stopped_after_two_epochs(corpus: list[list[str]], ckpt: Path) -> None:
    """A checkpointed run interrupted after its second epoch (its checkpoint is written)."""

    def crash_after_two(model: Word2Vec, epoch: int, loss: float) -> None:
        if epoch == 2:
            raise Stop

    with pytest.raises(Stop):
        Word2Vec(**SMALL, workers=1, checkpoint_dir=ckpt, callbacks=[crash_after_two]).fit(corpus)  # type: ignore[arg-type]


def resumed_run(corpus: list[list[str]], ckpt: Path) -> tuple[Word2Vec, list[int]]:
    """The run resumed from ``ckpt``, and the epochs it trained."""
    seen: list[int] = []
    resumed = Word2Vec(
        **SMALL,
        workers=1,
        checkpoint_dir=ckpt,
        callbacks=[lambda m, e, loss: seen.append(e)],  # type: ignore[arg-type]
    ).fit(corpus, resume=True)
    return resumed, seen


def test_resume_from_checkpoint_equals_uninterrupted_training(tmp_path: Path) -> None:
    corpus = topic_corpus(sentences=800)
    whole = Word2Vec(**SMALL, workers=1).fit(corpus)  # type: ignore[arg-type]
    ckpt = tmp_path / "ckpt"
    stopped_after_two_epochs(corpus, ckpt)
    assert (ckpt / "state.json").exists() and (ckpt / "weights.safetensors").exists()
    resumed, seen = resumed_run(corpus, ckpt)
    assert seen == [3, 4]
    assert np.array_equal(resumed.vectors_.vectors, whole.vectors_.vectors)
    assert resumed.loss_history_ == whole.loss_history_


def test_resume_refuses_other_parameters_or_corpus(tmp_path: Path) -> None:
    corpus = topic_corpus(sentences=300)
    Word2Vec(**SMALL, workers=1, checkpoint_dir=tmp_path).fit(corpus)  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="other parameters \\(dim\\)"):
        Word2Vec(**{**SMALL, "dim": 8}, checkpoint_dir=tmp_path).fit(corpus, resume=True)  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="trained on another corpus"):
        Word2Vec(**SMALL, checkpoint_dir=tmp_path).fit(
            topic_corpus(words=9, sentences=300), resume=True
        )  # type: ignore[arg-type]


def test_empty_and_all_oov_corpora_give_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="the corpus is empty"):
        Word2Vec().fit([[], []])
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    with pytest.raises(ParameterError, match="the corpus is empty"):
        Word2Vec().fit(empty)
    with pytest.raises(
        ParameterError,
        match=r"no word of the corpus occurs at least min_count=5 times \(3 tokens, 3 distinct\)",
    ):
        Word2Vec().fit([["a", "b", "c"]])


def test_parameters_are_checked_at_fit() -> None:
    with pytest.raises(
        ParameterError,
        match=r"The 'window' parameter of Word2Vec must be an int in \[1, inf\) or one of "
        r"'sequence'. Got 0 instead.",
    ):
        Word2Vec(window=0).fit([["a"]])
    with pytest.raises(ParameterError, match=r"negative sampling .* or both"):
        Word2Vec(negative=0).fit([["a"]])
    with pytest.raises(NotFittedError, match="not fitted yet"):
        Word2Vec().vectors_  # noqa: B018
    assert repr(Word2Vec(dim=50, sg=False)) == "Word2Vec(dim=50, sg=False)"


def test_callbacks_and_tensorboard_curve(tmp_path: Path) -> None:
    calls: list[tuple[int, float]] = []
    model = Word2Vec(
        **SMALL,
        tensorboard_dir=tmp_path / "tb",
        callbacks=[lambda m, e, loss: calls.append((e, loss))],
    ).fit(topic_corpus(sentences=400))  # type: ignore[arg-type]
    assert [e for e, _ in calls] == [1, 2, 3, 4]
    assert [loss for _, loss in calls] == model.loss_history_
    (event_file,) = (tmp_path / "tb").iterdir()
    points = read_scalars(event_file.read_bytes())
    assert [step for step, _ in points] == [1, 2, 3, 4]
    np.testing.assert_allclose([v for _, v in points], model.loss_history_, rtol=1e-6)


def read_scalars(data: bytes) -> list[tuple[int, float]]:
    """Parse TFRecord-framed Events (checking both CRCs) and return (step, simple_value)."""

    def masked(b: bytes) -> int:
        c = crc32c(b)
        return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF

    out, pos = [], 0
    while pos < len(data):
        header = data[pos : pos + 8]
        (length,) = struct.unpack("<Q", header)
        assert struct.unpack("<I", data[pos + 8 : pos + 12])[0] == masked(header)
        record = data[pos + 12 : pos + 12 + length]
        assert struct.unpack("<I", data[pos + 12 + length : pos + 16 + length])[0] == masked(record)
        pos += 16 + length
        if b"train/loss" in record:
            step = record[10]  # varint after the 0x10 tag (small steps fit one byte)
            value = struct.unpack("<f", record[-4:])[0]
            out.append((step, value))
    return out


def test_max_vocab_size_prunes_rare_words_during_the_scan() -> None:
    corpus = [["common", "usual"] * 5 + [f"rare{i}"] for i in range(3000)]
    model = Word2Vec(**{**SMALL, "epochs": 1}, max_vocab_size=100).fit(corpus)  # type: ignore[arg-type]
    words = model.vocab_.words
    assert words[:2] == ["common", "usual"] and len(words) <= 100  # the dict never outgrew the cap


def test_huffman_and_alias_tables() -> None:
    codes, points, lengths = huffman_tree(np.array([50, 30, 10, 6, 4]))
    assert lengths.tolist()[0] <= lengths.tolist()[-1]
    paths = {"".join(map(str, codes[w, : lengths[w]])) for w in range(5)}
    assert len(paths) == 5 and not any(a != b and b.startswith(a) for a in paths for b in paths)
    assert points.max() == 3 and all(points[w, 0] == 3 for w in range(5))  # root is the last node
    prob, alias = alias_table(np.array([1.0, 3.0]))
    # P(row 1) = P(pick 1) * 1 + P(pick 0) * (1 - prob[0])
    assert 0.5 * prob[1] + 0.5 * (1 - prob[0]) * (alias[0] == 1) + 0.5 * (1 - prob[1]) * (
        alias[1] == 1
    ) == pytest.approx(0.75)


def test_cli_train_word2vec(tmp_path: Path) -> None:
    from embedlab import load_vectors
    from embedlab.cli import main

    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(" ".join(s) for s in topic_corpus(sentences=600)) + "\n")
    out = tmp_path / "vecs.bin"
    with pytest.raises(SystemExit) as done:
        main(
            [
                "-q",
                "train",
                "word2vec",
                str(corpus),
                "-o",
                str(out),
                "--dim",
                "16",
                "--min-count",
                "1",
                "--epochs",
                "2",
                "--workers",
                "1",
                "--tensorboard",
                str(tmp_path / "tb"),
            ]
        )
    assert done.value.code == 0
    v = load_vectors(out)
    assert v.dim == 16 and len(v) == 90 and "t0_1" in v
    assert not (tmp_path / "vecs.bin.ckpt").exists()  # removed once the vectors are saved
    assert len(list((tmp_path / "tb").iterdir())) == 1
    with pytest.raises(SystemExit) as failed:
        main(["train", "word2vec", str(corpus), "-o", str(out), "--window", "0"])
    assert failed.value.code == 1


def test_continue_training_keeps_the_vocabulary_and_keeps_learning() -> None:
    model = Word2Vec(**{**SMALL, "epochs": 1}, workers=1).fit(topic_corpus(sentences=1000))  # type: ignore[arg-type]
    before, acc_before = model.vectors_.vectors.copy(), topic_accuracy(model)
    words = list(model.vectors_.index_to_key)
    more = [*topic_corpus(sentences=2500, seed=9), ["brand", "new", "words"]]
    model.continue_training(more, epochs=3)
    assert list(model.vectors_.index_to_key) == words and "brand" not in model.vectors_
    assert len(model.loss_history_) == 3 and not np.array_equal(model.vectors_.vectors, before)
    assert topic_accuracy(model) >= max(0.9, acc_before)


def test_resume_without_a_checkpoint_is_an_error_not_a_fresh_start(tmp_path: Path) -> None:
    corpus = topic_corpus(sentences=200)
    with pytest.raises(ParameterError, match="holds no checkpoint to resume from"):
        Word2Vec(**SMALL, checkpoint_dir=tmp_path / "none").fit(corpus, resume=True)  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="resume=True needs checkpoint_dir"):
        Word2Vec(**SMALL).fit(corpus, resume=True)  # type: ignore[arg-type]


def test_resume_reads_the_old_checkpoint_when_its_replacement_was_cut(tmp_path: Path) -> None:
    corpus = topic_corpus(sentences=300)
    whole = Word2Vec(**SMALL, workers=1).fit(corpus)  # type: ignore[arg-type]
    ckpt = tmp_path / "ckpt"
    stopped_after_two_epochs(corpus, ckpt)
    ckpt.rename(tmp_path / ".ckpt.old")  # a kill between atomic_dir's two renames
    resumed, seen = resumed_run(corpus, ckpt)
    assert seen == [3, 4] and (ckpt / "state.json").exists()
    assert not (tmp_path / ".ckpt.old").exists()
    assert np.array_equal(resumed.vectors_.vectors, whole.vectors_.vectors)


def test_default_learning_rates() -> None:
    # skip-gram with negatives starts at 0.05 (chosen on dev sets: 0.025 under-trains one epoch);
    # word2vec C's 0.025 stays for skip-gram with hierarchical softmax only; CBOW 0.05
    assert Word2Vec(sg=True).alpha_ == 0.05
    assert Word2Vec(sg=True, hs=True, negative=0).alpha_ == 0.025
    assert Word2Vec(sg=False).alpha_ == 0.05
    assert Word2Vec(sg=True, alpha=0.01).alpha_ == 0.01
