"""Projections, neighbour lists, the HTML explorer and the PNG scatter."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from embedlab import Vectors
from embedlab.errors import KeyNotFoundError, ParameterError
from embedlab.viz import neighbours, plot_texts, plot_words, project, scatter_html


def test_pca_recovers_the_main_axes_with_fixed_signs() -> None:
    rng = np.random.default_rng(0)
    t = rng.normal(size=200)
    x = np.outer(t, [3.0, 0, 0, 4.0]) + np.outer(rng.normal(size=200), [0, 0.5, 0, 0])
    p = project(x, "pca")
    assert p.shape == (200, 2)
    assert abs(np.corrcoef(p[:, 0], t)[0, 1]) > 0.999
    np.testing.assert_array_equal(project(-x[::-1], "pca")[::-1], project(-x, "pca"))
    with pytest.raises(ParameterError, match="'method' parameter of project"):
        project(x, "lda")  # type: ignore[arg-type]


def test_tsne_gives_two_columns() -> None:
    pytest.importorskip("sklearn")
    x = np.random.default_rng(1).normal(size=(40, 8))
    assert project(x, "tsne").shape == (40, 2)


def test_neighbours_match_brute_force() -> None:
    x = np.random.default_rng(2).normal(size=(60, 5)).astype(np.float32)
    nn = neighbours(x, 4)
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    sims = unit @ unit.T
    np.fill_diagonal(sims, -np.inf)
    np.testing.assert_array_equal(nn, np.argsort(-sims, axis=1)[:, :4])


def _payload(page: str) -> dict:
    raw = re.search(r'<script id="data" type="application/json">(.*?)</script>', page, re.S)
    assert raw is not None
    return json.loads(raw.group(1))


def test_html_is_self_contained_and_escapes_script_endings(tmp_path: Path) -> None:
    texts = ["a cat", "</script><b>x</b>", "猫"]
    path = scatter_html(
        [[0, 0], [1, 1], [2, 0]],
        texts,
        tmp_path / "p.html",
        labels=["x", "y", "x"],
        neighbours=[[1], [0], [0]],
    )
    page = path.read_text(encoding="utf-8")
    assert "http" not in page.split("<script")[1]  # nothing loaded from the network
    data = _payload(page)
    assert data["text"] == texts and data["labels"] == ["x", "y"] and data["label_ids"] == [0, 1, 0]
    assert data["nn"] == [[1], [0], [0]]
    with pytest.raises(ParameterError, match="points must be"):
        scatter_html([[0, 0]], texts, tmp_path / "q.html")


def test_plot_words_to_html_and_png(tmp_path: Path, planted: Vectors) -> None:
    html = plot_words(planted, tmp_path / "w.html", limit=20)
    data = _payload(html.read_text(encoding="utf-8"))
    assert data["text"] == list(planted.index_to_key[:20]) and len(data["nn"][0]) == 5
    king = data["text"].index("king")
    queen = data["text"].index("queen")
    assert queen in data["nn"][king][:3]
    pytest.importorskip("matplotlib")
    png = plot_words(planted, tmp_path / "w.png", words=["king", "queen", "man", "woman"])
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(KeyNotFoundError, match="not in the vocabulary"):
        plot_words(planted, tmp_path / "x.html", words=["king", "zebra"])
    with pytest.raises(ParameterError, match=r"must end in .html or .png"):
        plot_words(planted, tmp_path / "x.svg")


def test_plot_texts_with_labels_and_the_cli(
    tmp_path: Path, planted: Vectors, capsys: pytest.CaptureFixture[str]
) -> None:
    from clirun import run
    from embedlab import save_vectors
    from embedlab.encoders import StaticEncoder

    texts = ["king queen", "man woman", "paris rome", "france italy", "cat kitten"]
    path = plot_texts(StaticEncoder(planted), texts, tmp_path / "t.html", labels=list("aabbc"))
    assert _payload(path.read_text(encoding="utf-8"))["labels"] == ["a", "b", "c"]
    save_vectors(planted, tmp_path / "v.bin")
    code, out, err = run(
        capsys,
        "viz",
        "words",
        str(tmp_path / "v.bin"),
        "-o",
        str(tmp_path / "c.html"),
        "--limit",
        "10",
    )
    assert code == 0, err
    assert "wrote" in out
    assert len(_payload((tmp_path / "c.html").read_text())["text"]) == 10


@pytest.mark.slow
def test_umap_gives_two_columns_and_keeps_clusters_apart() -> None:
    pytest.importorskip("umap")
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.normal(0, 1, (40, 10)), rng.normal(8, 1, (40, 10))])
    p = project(x, "umap")
    assert p.shape == (80, 2)
    gap = np.linalg.norm(p[:40].mean(0) - p[40:].mean(0))
    spread = max(p[:40].std(0).max(), p[40:].std(0).max())
    assert gap > 2 * spread
