"""The neural trainers on tiny models and planted data: loss falls, resume is exact, outputs load."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from embedlab.errors import FormatError, ParameterError  # noqa: E402
from embedlab.neural import (  # noqa: E402
    LabeledTexts,
    TextClassifier,
    TrainingArguments,
    finetune_classifier,
    model_config,
    pretrain,
    train_tokenizer,
)

from .conftest import planted_lines, sentiment  # noqa: E402


def args(out: Path, **kw: Any) -> TrainingArguments:
    base: dict[str, Any] = dict(
        batch_size=16, learning_rate=1e-3, checkpoint_every=None, precision="fp32",
        show_progress=False, log_every=1,
    )  # fmt: skip
    return TrainingArguments(out, **{**base, **kw})


def losses(result: Any, key: str = "train/loss") -> list[float]:
    return [row[key] for row in result.history if key in row]


def test_masked_lm_loss_falls_and_the_model_loads_as_an_encoder(
    tmp_path: Path, wordpiece: Any
) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from embedlab.encoders import TransformerEncoder

    config = model_config("bert", wordpiece, hidden=32, layers=2, heads=2, max_positions=64)
    result = pretrain(
        planted_lines(),
        tokenizer=wordpiece,
        config=config,
        block_size=32,
        args=args(tmp_path, max_steps=60, learning_rate=3e-3, tensorboard=tmp_path / "tb"),
    )
    curve = losses(result)  # 4.65 -> 3.29 (seed 42)
    assert len(curve) == 60 and np.mean(curve[-5:]) < 0.8 * np.mean(curve[:5])
    assert result.stopped == "max_steps" and result.best is not None  # held-out loss evaluated
    assert result.best["loss"] < np.log(len(wordpiece))  # below a uniform guess
    events = EventAccumulator(str(tmp_path / "tb"))
    events.Reload()
    assert {"train/loss", "train/lr", "eval/loss"} <= set(events.Tags()["scalars"])
    assert len(events.Scalars("train/loss")) == 60
    enc = TransformerEncoder(str(result.model_dir))
    vectors = enc.encode(["the cats often chase the mice .", "the sharks chase the seals ."])
    assert vectors.shape == (2, 32) and enc.pooling.modes == ("mean",)
    log = [json.loads(line) for line in (tmp_path / "train_log.jsonl").read_text().splitlines()]
    assert log[0]["step"] == 1 and "train/loss" in log[0]


def test_causal_lm_on_a_byte_level_bpe(tmp_path: Path) -> None:
    from embedlab.encoders import TransformerEncoder

    tok = train_tokenizer(planted_lines(), "bpe", vocab_size=300, min_frequency=1)
    config = model_config("gpt2", tok, hidden=32, layers=2, heads=2, max_positions=64)
    result = pretrain(
        planted_lines(),
        tokenizer=tok,
        config=config,
        block_size=32,
        args=args(tmp_path, max_steps=60, learning_rate=3e-3),
    )
    curve = losses(result)
    assert np.mean(curve[-5:]) < 0.8 * np.mean(curve[:5])
    enc = TransformerEncoder(str(result.model_dir))
    assert enc.is_causal and enc.pooling.modes == ("lasttoken",)
    assert enc.encode(["the owls chase the voles ."]).shape == (1, 32)


def test_albert_factorized_embeddings_and_shared_layers(tmp_path: Path) -> None:
    from transformers import AutoModel

    tok = train_tokenizer(planted_lines(), "unigram", vocab_size=100, min_frequency=1)
    shared = model_config("albert", tok, hidden=64, layers=4, heads=2, embedding_size=16,
                          share_layers=True)  # fmt: skip
    separate = model_config("albert", tok, hidden=64, layers=4, heads=2, embedding_size=16)
    assert shared.embedding_size == 16 and shared.num_hidden_groups == 1
    assert separate.num_hidden_groups == 4
    result = pretrain(
        planted_lines(),
        tokenizer=tok,
        config=shared,
        block_size=32,
        args=args(tmp_path, max_steps=25),
    )
    curve = losses(result)
    assert np.mean(curve[-5:]) < np.mean(curve[:5])
    model = AutoModel.from_pretrained(str(result.model_dir))
    params = sum(p.numel() for p in model.parameters())
    unshared = sum(p.numel() for p in AutoModel.from_config(separate).parameters())
    layer = sum(p.numel() for p in model.encoder.albert_layer_groups[0].parameters())
    assert unshared - params == 3 * layer  # four layers, one set of weights
    assert model.embeddings.word_embeddings.weight.shape == (len(tok), 16)
    with pytest.raises(ParameterError, match="ALBERT options"):
        model_config("bert", tok, embedding_size=16)


class Interrupt(Exception):
    pass


def test_resume_after_an_interruption_makes_the_same_model(tmp_path: Path, wordpiece: Any) -> None:
    import importlib

    from safetensors.torch import load_file

    pretrain_module = importlib.import_module("embedlab.neural.pretrain")  # the name is shadowed

    config = model_config("bert", wordpiece, hidden=32, layers=2, heads=2, max_positions=64)
    lines = planted_lines()
    kw: dict[str, Any] = dict(tokenizer=wordpiece, config=config, block_size=32)
    straight = pretrain(lines, **kw, args=args(tmp_path / "a", max_steps=12, grad_accum=2))

    original = pretrain_module._LanguageModelTask.loss
    calls = {"n": 0}

    def flaky(self: Any, batch: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 12:  # micro-batch 12: step 5 done, step 6 half accumulated
            raise KeyboardInterrupt
        return original(self, batch)

    pretrain_module._LanguageModelTask.loss = flaky  # type: ignore[method-assign]
    try:
        with pytest.raises(KeyboardInterrupt):
            pretrain(lines, **kw, args=args(tmp_path / "b", max_steps=12, grad_accum=2,
                                            checkpoint_every=100))  # fmt: skip
    finally:
        pretrain_module._LanguageModelTask.loss = original  # type: ignore[method-assign]
    saved = json.loads((tmp_path / "b/checkpoints/step-000005/trainer_state.json").read_text())
    assert saved["state"]["step"] == 5 and saved["state"]["micro_step"] == 10
    resumed = pretrain(lines, **kw, args=args(tmp_path / "b", max_steps=12, grad_accum=2,
                                              checkpoint_every=100, resume=True))  # fmt: skip
    assert resumed.steps == 12 and losses(resumed)[0] == pytest.approx(losses(straight)[5])
    log = [json.loads(x) for x in (tmp_path / "b/train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log if "train/loss" in r] == list(range(1, 13))  # one log, continued
    a = load_file(str(straight.model_dir / "model.safetensors"))
    b = load_file(str(resumed.model_dir / "model.safetensors"))
    assert a.keys() == b.keys()
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=0, atol=1e-6)


def test_max_time_stops_and_leaves_a_checkpoint(tmp_path: Path, wordpiece: Any) -> None:
    config = model_config("bert", wordpiece, hidden=32, layers=2, heads=2, max_positions=64)
    result = pretrain(
        planted_lines(), tokenizer=wordpiece, config=config, block_size=32,
        args=args(tmp_path, max_steps=50, max_time=0.0, checkpoint_every=100),
    )  # fmt: skip
    assert result.stopped == "max_time" and result.steps == 1
    assert (tmp_path / "checkpoints/step-000001/model.safetensors").exists()
    assert (tmp_path / "model/config.json").exists()


def test_streaming_data_needs_max_steps(tmp_path: Path, wordpiece: Any) -> None:
    config = model_config("bert", wordpiece, hidden=32, layers=2, heads=2, max_positions=64)
    with pytest.raises(ParameterError, match="pass max_steps"):
        pretrain(planted_lines(), tokenizer=wordpiece, config=config, block_size=32,
                 args=args(tmp_path))  # fmt: skip
    with pytest.raises(ParameterError, match="yields no batch"):
        pretrain(["too short"], tokenizer=wordpiece, config=config, block_size=32,
                 args=args(tmp_path, max_steps=2))  # fmt: skip
    with pytest.raises(ParameterError, match="exceeds the model's 64 positions"):
        pretrain(planted_lines(), tokenizer=wordpiece, config=config, block_size=128,
                 args=args(tmp_path, max_steps=2))  # fmt: skip


def test_classifier_learns_planted_sentiment(tmp_path: Path, tiny_bert_dir: Path) -> None:
    texts, labels = sentiment(400, 2)
    valid_texts, valid_labels = sentiment(100, 3)
    result, report = finetune_classifier(
        str(tiny_bert_dir),
        LabeledTexts(texts, labels),
        validation=LabeledTexts(valid_texts, valid_labels),
        args=args(tmp_path, epochs=4, learning_rate=2e-3, eval_every=10, log_every=5),
    )
    assert report.accuracy >= 0.95 and report.labels == ["neg", "pos"]
    assert result.best is not None and result.best["accuracy"] == pytest.approx(report.accuracy)
    assert np.array(report.confusion).sum() == 100
    assert (result.model_dir / "report.json").exists()
    assert (result.model_dir / "confusion.png").read_bytes()[:4] == b"\x89PNG"
    clf = TextClassifier.load(result.model_dir)
    # phrased like the training texts (five filler words and one that carries the label)
    pair = ["the plot was really quite wonderful", "the music was really quite dreadful"]
    assert clf.predict(pair) == ["pos", "neg"]
    probs = clf.predict_proba(["great film", "boring film", "lovely"])
    assert probs.shape == (3, 2) and np.allclose(probs.sum(1), 1, atol=1e-5)
    # the monitor's classifier: the labels mapped to sentiment names, scored -1..1
    from embedlab.apps.sentiment import FineTunedSentiment

    sentiment_of = FineTunedSentiment.load(
        result.model_dir, label_names={"neg": "negative", "pos": "positive"}
    )
    names, scores = sentiment_of.predict_texts(pair)
    p = clf.predict_proba(pair)  # score = P(positive) - P(negative)
    assert names == ["positive", "negative"] and scores[0] > 0 > scores[1]
    np.testing.assert_allclose(scores, p[:, 1] - p[:, 0], atol=1e-6)


def test_classifier_reads_files_splits_and_weighs_classes(
    tmp_path: Path, tiny_bert_dir: Path
) -> None:
    texts, labels = sentiment(600, 4)
    keep = [i for i, y in enumerate(labels) if y == "pos" or i % 4 == 0]  # 1 neg : ~4 pos
    rows = ["review\tstars"] + [f"{texts[i]}\t{labels[i]}" for i in keep]
    data = tmp_path / "train.tsv"
    data.write_text("\n".join(rows) + "\n")
    _, report = finetune_classifier(
        str(tiny_bert_dir), data, text="review", label="stars", class_weights="balanced",
        metric="macro_f1", validation_split=0.2,
        args=args(tmp_path / "out", epochs=10, learning_rate=2e-3),
    )  # fmt: skip
    held = {y: round(0.2 * sum(labels[i] == y for i in keep)) for y in ("neg", "pos")}
    assert report.support == [held["neg"], held["pos"]]  # a stratified 20% of each label
    assert report.macro_f1 >= 0.9 and min(report.support) >= 10
    bad = tmp_path / "bad.tsv"
    bad.write_text("review\tstars\nfine film\tpos\nno label here\n")
    with pytest.raises(FormatError, match=r"bad\.tsv.*line 3"):
        finetune_classifier(str(tiny_bert_dir), bad, text="review", label="stars",
                            args=args(tmp_path / "x"))  # fmt: skip
    with pytest.raises(FormatError, match="'sentiment'"):
        finetune_classifier(str(tiny_bert_dir), data, text="review", label="sentiment",
                            args=args(tmp_path / "x"))  # fmt: skip
    with pytest.raises(ParameterError, match="at least 2 labels"):
        finetune_classifier(str(tiny_bert_dir), LabeledTexts(["a", "b", "c"], ["x", "x", "x"]),
                            validation=LabeledTexts(["a"], ["x"]), args=args(tmp_path / "x"))  # fmt: skip


def test_extend_vocab_learns_words_the_tokenizer_only_knows_as_unk(
    tmp_path: Path, tiny_bert_dir: Path
) -> None:
    from embedlab.neural.classify import unknown_words

    zh = {"great": "好", "lovely": "棒", "awful": "差", "boring": "烂"}  # never seen: [UNK]

    def chinese(n: int, seed: int) -> LabeledTexts:
        texts, labels = sentiment(n, seed)
        texts = [" ".join(zh.get(w, w) for w in t.split()) for t in texts]
        keep = [i for i, t in enumerate(texts) if any(c in t for c in zh.values())]
        return LabeledTexts([texts[i] for i in keep], [labels[i] for i in keep])

    from transformers import AutoTokenizer

    train_set, valid = chinese(600, 5), chinese(200, 6)
    tok = AutoTokenizer.from_pretrained(str(tiny_bert_dir))
    assert tok.tokenize("好") == ["[UNK]"]
    found = unknown_words(tok, train_set.texts, 10)
    assert sorted(found) == sorted(zh.values())  # the known words are not proposed
    assert unknown_words(tok, train_set.texts, 2) == found[:2]
    plain, _ = finetune_classifier(str(tiny_bert_dir), train_set, validation=valid,
                                   args=args(tmp_path / "plain", epochs=3, learning_rate=2e-3))  # fmt: skip
    grown, report = finetune_classifier(
        str(tiny_bert_dir), train_set, validation=valid, extend_vocab=10,
        args=args(tmp_path / "grown", epochs=3, learning_rate=2e-3),
    )  # fmt: skip
    assert (plain.best or {})["accuracy"] <= 0.75  # the label words all read as [UNK]
    assert report.accuracy >= 0.95
    loaded = TextClassifier.load(grown.model_dir)
    new_ids = loaded.tokenizer.convert_tokens_to_ids(found)
    assert min(new_ids) >= len(tok) and loaded.tokenizer("好 film")["input_ids"][1] in new_ids
    assert loaded.predict(["the plot was 好", "the music was 烂"]) == ["pos", "neg"]
    with pytest.raises(ParameterError, match="extend_vocab must be >= 0"):
        finetune_classifier(str(tiny_bert_dir), train_set, extend_vocab=-1, args=args(tmp_path))


def test_weights_and_biases_offline(tmp_path: Path, wordpiece: Any, monkeypatch: Any) -> None:
    pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    config = model_config("bert", wordpiece, hidden=32, layers=2, heads=2, max_positions=64)
    pretrain(planted_lines(), tokenizer=wordpiece, config=config, block_size=32,
             args=args(tmp_path, max_steps=3, wandb_project="embedlab-test"))  # fmt: skip
    runs = list((tmp_path / "wandb").glob("offline-run-*/run-*.wandb"))
    assert len(runs) == 1 and runs[0].stat().st_size > 0


def test_training_arguments_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match=r"'schedule'.*'linear', 'cosine', 'constant'"):
        TrainingArguments(tmp_path, schedule="step")  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="grad_accum must be a positive integer"):
        TrainingArguments(tmp_path, grad_accum=0)
    with pytest.raises(ParameterError, match="'fp16' needs a CUDA device"):
        from embedlab.neural.training import _autocast

        _autocast("fp16", "cpu")
