"""The web page in a real browser: the playground's heat map holds the server's cosines, the
neighbours and FAQ answers show, markup in data stays text, and a keyed server asks for its key."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from embedlab.server import ServerConfig
from toyencoders import ToyImages, ToySplade, WordHash

pytest.importorskip("fastapi")
XSS = "<img src=x onerror=\"document.title='pwned'\">"


def _app(root: Path, key: str | None = None) -> Any:
    from embedlab.apps import FAQ
    from embedlab.search import Collection
    from embedlab.server.app import create_app

    col = Collection.create(root / "col", WordHash(dim=24), index="exact")
    col.add(["a", XSS], ["reset your password here", "parcel tracking page"])
    faq = FAQ.build(root / "faq", WordHash(dim=24), ["how to reset password", "where is my parcel"],
                    [f"Use the reset link. {XSS}", "Track it online."])  # fmt: skip
    cfg = ServerConfig(models={}, max_wait_ms=5, api_key=key)
    from embedlab.compress import PCA
    from embedlab.encoders import StaticEncoder
    from embedlab.encoders.compressed import CompressedEncoder
    from embedlab.vectors import Vectors

    rng = np.random.default_rng(0)
    table = Vectors(["reset", "password", "parcel"], rng.normal(size=(3, 8)).astype(np.float32))
    small = PCA(4).fit(WordHash(dim=24).encode([f"text {i} of {i % 7}" for i in range(40)]))
    encoders = {"toy": WordHash(dim=24), "pics": ToyImages(), "terms": ToySplade(),
                "table": StaticEncoder(table, remove_components=0),
                "small": CompressedEncoder(WordHash(dim=24), small)}  # fmt: skip
    return create_app(cfg, encoders=encoders, collections={"docs": col}, faqs={"support": faq})


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from serverrun import Running

    with Running(_app(tmp_path_factory.mktemp("ui"))) as base:
        yield base


def test_the_playground_shows_the_servers_cosines(browser: Any, url: str) -> None:
    page = browser.new_page()
    page.goto(url + "/")
    page.wait_for_selector("#model option[value=toy]", state="attached")
    page.select_option("#model", "toy")
    texts = ["how to reset password", "reset my password", "where is my parcel"]
    page.fill("#texts", "\n".join(texts))
    page.select_option("#collection", "docs")
    page.select_option("#faq", "support")
    page.click("#compare")
    page.wait_for_selector("#heatmap td")
    cells = page.eval_on_selector_all(
        "#heatmap td", "tds => tds.map(td => [+td.dataset.row, +td.dataset.col, +td.dataset.value])"
    )
    shown = np.zeros((3, 3))
    for i, j, v in cells:
        shown[int(i), int(j)] = v
    unit = WordHash(dim=24).encode(texts)
    np.testing.assert_allclose(shown, unit @ unit.T, atol=1e-4)
    assert page.inner_text("#heatmap td[data-row='0'][data-col='1']") == f"{shown[0, 1]:.3f}"
    page.wait_for_selector("#answers .answer")
    assert "Use the reset link." in page.inner_text("#answers")
    assert "reset your password here" in page.inner_text("#neighbours")
    assert "/v1/ui/similarity" in page.inner_text("#curl")
    assert 'model="toy"' in page.inner_text("#openai")
    page.close()


def test_markup_in_data_stays_text(browser: Any, url: str) -> None:
    # with the page's Content Security Policy off: the escaping itself must hold
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    page.goto(url + "/")
    page.wait_for_selector("#model option[value=toy]", state="attached")
    page.select_option("#model", "toy")
    page.fill("#texts", f"parcel tracking page\nhow to reset password\n{XSS}")
    page.select_option("#collection", "docs")
    page.select_option("#faq", "support")
    page.click("#compare")
    page.wait_for_selector("#answers .answer")
    page.wait_for_selector("#neighbours .hits:nth-child(3) li")
    assert XSS in page.inner_text("#neighbours")  # the key, as text
    assert XSS in page.inner_text("#answers")  # the answer, as text
    assert XSS in page.inner_text("#heatmap")  # the text typed, as a label
    assert page.query_selector_all("img") == [] and page.title() == "embedlab"
    context.close()


def test_a_keyed_server_asks_for_its_key_once(browser: Any, tmp_path: Path) -> None:
    import httpx

    from serverrun import Running

    with Running(_app(tmp_path, key="s3cret")) as base:
        assert httpx.get(base + "/v1/ui/catalog").status_code == 401  # no data without it
        assert httpx.get(base + "/").status_code == 200  # the page itself holds none
        page = browser.new_page()
        page.goto(base + "/")
        page.wait_for_selector("#login:not([hidden])")
        assert page.is_hidden("#playground")
        page.fill("#token", "wrong")
        page.click("#login button")
        page.wait_for_selector("#login-error:not(:empty)")  # emptied on submit, refilled on 401
        assert "API key" in page.inner_text("#login-error") and page.is_hidden("#playground")
        assert page.evaluate("sessionStorage.getItem('embedlab.token')") is None
        page.fill("#token", "s3cret")
        page.click("#login button")
        page.wait_for_selector("#model option[value=toy]", state="attached")
        assert page.evaluate("sessionStorage.getItem('embedlab.token')") == "s3cret"
        page.reload()  # kept for the tab: no second prompt
        page.wait_for_selector("#model option[value=toy]", state="attached")
        assert page.is_hidden("#login")
        page.close()


def test_the_catalog_says_what_kind_each_model_is(url: str) -> None:
    import httpx

    models = httpx.get(url + "/v1/ui/catalog").json()["models"]
    assert {m["id"]: (m["kind"], m["dimensions"]) for m in models} == {
        "pics": ("multimodal", 24), "small": ("compressed", 4), "table": ("static", 8),
        "terms": ("sparse", 97), "toy": ("dense", 24),
    }  # fmt: skip
    r = httpx.post(url + "/v1/ui/similarity", json={"model": "toy"})
    assert r.status_code == 422 and "at least one text or image" in r.text
    r = httpx.post(url + "/v1/ui/similarity", json={"model": "toy", "images": ["aGk="]})
    assert r.status_code == 422 and "encodes texts only" in r.text


def _matrix(page: Any, n: int) -> np.ndarray:
    cells = page.eval_on_selector_all(
        "#heatmap td", "tds => tds.map(td => [+td.dataset.row, +td.dataset.col, +td.dataset.value])"
    )
    shown = np.full((n, n), np.nan)
    for i, j, v in cells:
        shown[int(i), int(j)] = v
    return shown


def test_images_and_sparse_models_in_the_playground(browser: Any, url: str, tmp_path: Path) -> None:
    from embedlab.imagefiles import load_image

    photos = sorted((Path(__file__).parents[1] / "data" / "photos").glob("*.jpg"))[:2]
    twin = tmp_path / "copy of it.jpg"  # the same picture under another name
    twin.write_bytes(photos[0].read_bytes())
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.goto(url + "/")
    page.wait_for_selector("#model option[value=pics]", state="attached")
    assert page.inner_text("#model option[value=pics]") == "pics (multimodal, 24)"
    assert page.inner_text("#model option[value=terms]") == "terms (sparse, 97)"
    page.select_option("#model", "toy")
    assert page.is_hidden("#images-box")  # a model of texts only
    page.select_option("#model", "pics")
    assert page.is_visible("#images-box")
    page.fill("#texts", "a dog on the beach")
    page.set_input_files("#images", [str(photos[0]), str(twin), str(photos[1])])
    page.click("#compare")
    page.wait_for_selector("#heatmap td[data-row='3']")
    enc = ToyImages()
    rows = np.vstack(
        [
            enc.encode(["a dog on the beach"]),
            enc.encode_images([load_image(p) for p in (photos[0], twin, photos[1])]),
        ]
    )
    np.testing.assert_allclose(_matrix(page, 4), rows @ rows.T, atol=1e-4)  # fmt: skip
    assert _matrix(page, 4)[1, 2] == pytest.approx(1.0)
    assert len(page.query_selector_all("#heatmap thead img.thumb")) == 3
    assert "copy of it.jpg" in page.inner_text("#heatmap")
    assert "$(base64 -w0 'copy of it.jpg')" in page.inner_text("#curl")
    assert 'b64("copy of it.jpg")' in page.inner_text("#openai")
    assert "1 texts · 3 images" in page.inner_text("#status")
    # a sparse model: the cosine of the term weights, and no image input
    page.select_option("#model", "terms")
    assert page.is_hidden("#images-box")
    texts = ["reset password", "password reset now", "parcel"]
    page.fill("#texts", "\n".join(texts))
    page.click("#compare")
    page.wait_for_selector("#status:has-text('3 texts')")
    weights = ToySplade().encode(texts).toarray()
    unit = weights / np.linalg.norm(weights, axis=1, keepdims=True)
    np.testing.assert_allclose(_matrix(page, 3), unit @ unit.T, atol=1e-4)
    page.close()
