"""The projector: a 10,000-word vectors file projected on the server (a job, polled), true
neighbours from the original space, and in a real browser: search a word, click it, see its
neighbours, colour by a column; a key made of markup shown as text."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from embedlab.server import ServerConfig
from embedlab.vectors import Vectors

pytest.importorskip("fastapi")
pytest.importorskip("sklearn")
XSS = "<img/src=x/onerror=alert(1)>"  # no whitespace: word2vec binary keys cannot hold it


def _words(path: Path, n: int = 10_000, dim: int = 32) -> Vectors:
    """Ten planted groups of words (a word's vector is its group's centre plus noise)."""
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(10, dim))
    groups = np.arange(n) % 10
    x = (centres[groups] + 0.6 * rng.normal(size=(n, dim))).astype(np.float32)
    keys = [f"w{i}" for i in range(n)]
    keys[7] = XSS
    vec = Vectors(keys, x, np.arange(n, 0, -1))
    vec.save(path)
    return vec


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Vectors]]:
    from embedlab.server.app import create_app
    from serverrun import Running
    from toyencoders import WordHash

    root = tmp_path_factory.mktemp("projector")
    from embedlab.search import Collection

    vec = _words(root / "words.embedlab")
    col = Collection.create(root / "docs", WordHash(dim=16), index="exact")
    topics = {"space": "rocket orbit moon launch", "food": "bread oven flour recipe"}
    texts = [f"{words.split()[i % 4]} {words} {i}" for i in range(60) for words in topics.values()]
    col.add([f"d{i}" for i in range(120)], texts,
            [{"topic": t, "n": i} for i in range(60) for t in topics])  # fmt: skip
    cfg = ServerConfig(models={}, base=root)
    cfg.vectors = {"words": "words.embedlab"}
    app = create_app(cfg, encoders={"toy": WordHash(dim=8)}, collections={"docs": col})
    with Running(app) as url:
        yield url, vec


def _done(url: str, body: dict[str, Any]) -> dict[str, Any]:
    import httpx

    job = httpx.post(url + "/v1/ui/projections", json=body, timeout=30).json()
    deadline = time.monotonic() + 120
    while job["status"] == "running":
        assert time.monotonic() < deadline
        time.sleep(0.1)
        job = httpx.get(f"{url}/v1/ui/projections/{job['job']}", timeout=30).json()
    return job  # type: ignore[no-any-return]


def test_a_projection_job_and_true_neighbours(served: tuple[str, Vectors]) -> None:
    import httpx

    url, vec = served
    job = _done(url, {"source": "words", "method": "pca", "dims": 3})
    assert job["status"] == "done", job
    coords = np.frombuffer(base64.b64decode(job["coords"]), "<f4").reshape(-1, 3)
    assert coords.shape == (10_000, 3) and np.abs(coords).max() == pytest.approx(1.0)
    assert job["ids"][7] == XSS and job["columns"]["count"][:2] == [10_000, 9_999]
    clusters = np.array(job["columns"]["cluster"])
    groups = np.arange(10_000) % 10
    agree = max(np.bincount(clusters[groups == g]).max() for g in range(10)) / 1000
    assert agree > 0.9  # k-means finds the planted groups
    again = httpx.post(url + "/v1/ui/projections", json={"source": "words", "dims": 3}).json()
    assert again["job"] == job["job"] and again["status"] == "done"  # kept, not recomputed
    r = httpx.get(url + "/v1/ui/neighbours", params={"source": "words", "key": "w3", "k": 5})
    unit = vec.vectors / np.linalg.norm(vec.vectors, axis=1, keepdims=True)
    sims = unit @ unit[3]
    sims[3] = -np.inf
    truth = [vec.index_to_key[i] for i in np.argsort(-sims)[:5]]
    assert [d["key"] for d in r.json()["data"]] == truth
    assert (
        httpx.get(url + "/v1/ui/neighbours", params={"source": "words", "key": "zz"}).status_code
        == 422
    )
    assert httpx.post(url + "/v1/ui/projections", json={"source": "nope"}).status_code == 404
    assert (
        httpx.post(url + "/v1/ui/projections", json={"source": "words", "dims": 4}).status_code
        == 422
    )


def _project(page: Any, url: str, source: str, dims: str, points: int) -> None:
    """Open the projector on ``source`` and wait for its ``points`` to be drawn."""
    page.goto(url + "/#projector")
    page.wait_for_selector(f"#pj-source option[value='{source}']", state="attached")
    page.select_option("#pj-source", source)
    page.select_option("#pj-dims", dims)
    page.click("#pj-go")
    page.wait_for_selector(f"#pj-canvas[data-points='{points}']", timeout=60_000)


def _colours(page: Any) -> int:
    """How many distinct colours the projector's canvas shows."""
    import io

    from PIL import Image

    url = page.evaluate("document.getElementById('pj-canvas').toDataURL('image/png')")
    image = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGB")
    pixels = np.asarray(image).reshape(-1, 3)
    return len(np.unique(pixels, axis=0))


def test_search_click_neighbours_and_colour_in_the_browser(
    browser: Any, served: tuple[str, Vectors]
) -> None:
    url, vec = served
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    _project(page, url, "words", "3", 10_000)
    assert "10,000 points" in page.inner_text("#pj-status")
    plain = _colours(page)
    page.select_option("#pj-colour", "cluster")
    page.wait_for_selector("#pj-canvas[data-colour=cluster]")
    page.wait_for_timeout(100)  # the next animation frame
    assert _colours(page) > plain + 5  # twelve cluster colours where there was one
    # search a word: the view flies to it and lists its true neighbours
    page.fill("#pj-search", "w3")
    page.press("#pj-search", "Enter")
    page.wait_for_selector("#pj-neighbours li[data-key]")
    unit = vec.vectors / np.linalg.norm(vec.vectors, axis=1, keepdims=True)
    sims = unit @ unit[3]
    sims[3] = -np.inf
    truth = [vec.index_to_key[i] for i in np.argsort(-sims)[:10]]
    shown = page.eval_on_selector_all("#pj-neighbours li", "lis => lis.map(li => li.dataset.key)")
    assert shown == truth
    # click another point: the one drawn under the pointer, and its neighbours
    page.fill("#pj-search", XSS)
    page.press("#pj-search", "Enter")
    page.wait_for_selector("#pj-side[data-key='w3']", state="detached")
    box = page.query_selector("#pj-canvas").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)  # it is centred
    page.wait_for_selector("#pj-neighbours li[data-key]")
    assert page.inner_text("#pj-picked") == XSS  # the markup key, as text
    assert page.query_selector_all("img") == []
    page.close()


def test_select_a_region_and_export_its_ids(browser: Any, served: tuple[str, Vectors]) -> None:
    url, _ = served
    job = _done(url, {"source": "words", "method": "pca", "dims": 2})
    xy = np.frombuffer(base64.b64decode(job["coords"]), "<f4").reshape(-1, 2)
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    _project(page, url, "words", "2", 10_000)
    box = page.query_selector("#pj-canvas").bounding_box()
    left, top, w, h = box["x"], box["y"], box["width"], box["height"]

    def shift_drag(x0: float, y0: float, x1: float, y1: float) -> int:
        page.keyboard.down("Shift")
        page.mouse.move(x0, y0)
        page.mouse.down()
        page.mouse.move((x0 + x1) / 2, (y0 + y1) / 2)
        page.mouse.move(x1, y1)
        page.mouse.up()
        page.keyboard.up("Shift")
        page.wait_for_selector("#pj-selection:not([hidden])")
        return int(page.inner_text("#pj-count").replace(",", ""))

    assert shift_drag(left + 1, top + 1, left + w - 2, top + h - 2) == 10_000  # everything
    # the left half of the view: the points left of the centre (x < 0 in the projection), but
    # for those within two pixels of the edge (the pointer lands on whole pixels)
    half = shift_drag(left + 1, top + 1, left + w / 2, top + h - 2)
    px = 1 / (450 * 0.9 * (600 / 900))  # one canvas pixel in projection units, at the first zoom
    assert (xy[:, 0] < -2 * px).sum() <= half <= (xy[:, 0] < 2 * px).sum()
    with page.expect_download() as info:
        page.click("#pj-export")
    lines = Path(info.value.path()).read_text().splitlines()
    assert len(lines) == half and set(lines) <= set(job["ids"])
    assert all(xy[job["ids"].index(k), 0] < 2 * px for k in lines[:200])
    assert info.value.suggested_filename == "words-selection.txt"
    page.close()


def test_a_collection_in_the_projector(browser: Any, served: tuple[str, Vectors]) -> None:
    import httpx

    url, _ = served
    assert "collection:docs" in httpx.get(url + "/v1/ui/catalog").json()["vectors"]
    job = _done(url, {"source": "collection:docs", "method": "pca", "dims": 2})
    assert job["status"] == "done" and len(job["ids"]) == 120
    assert job["columns"]["topic"][:2] == ["space", "food"] and job["columns"]["n"][:2] == [0, 0]
    assert job["columns"]["text"][0].startswith("rocket rocket orbit")
    r = httpx.get(url + "/v1/ui/neighbours", params={"source": "collection:docs", "key": "d0"})
    near = [d["key"] for d in r.json()["data"]]
    assert all(int(k[1:]) % 2 == 0 for k in near)  # the same topic: even ids are space
    page = browser.new_page()
    _project(page, url, "collection:docs", "2", 120)
    options = page.eval_on_selector_all("#pj-colour option", "os => os.map(o => o.value)")
    assert options == ["", "n", "topic", "cluster"]  # the text is shown, not coloured by
    page.select_option("#pj-colour", "topic")
    page.fill("#pj-search", "d1")
    page.press("#pj-search", "Enter")
    page.wait_for_selector("#pj-neighbours li[data-key]")
    assert "food" in page.inner_text("#pj-meta")
    page.close()


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[str], Path]]:
    """An ``embed`` output of a folder of photos (ids are paths inside it), a TSV of labels,
    and the folder named for thumbnails; a photo outside the folder that must stay unread."""
    import shutil

    from embedlab.imagefiles import load_image
    from embedlab.io.tables import write_embeddings
    from embedlab.server.app import create_app
    from serverrun import Running
    from toyencoders import ToyImages, WordHash

    root = tmp_path_factory.mktemp("photos")
    files = sorted((Path(__file__).parents[1] / "data" / "photos").glob("*.jpg"))
    for n, f in enumerate(files):
        (root / "pics" / f"set{n % 2}").mkdir(parents=True, exist_ok=True)
        shutil.copy(f, root / "pics" / f"set{n % 2}" / f.name)
    shutil.copy(files[0], root / "secret.jpg")
    ids = sorted(p.relative_to(root / "pics").as_posix() for p in (root / "pics").rglob("*.jpg"))
    rows = ToyImages().encode_images([load_image(root / "pics" / i) for i in ids])
    write_embeddings(root / "pics.npy", ids, rows)
    (root / "pics.tsv").write_text("id\tset\twidth\n" + "".join(
        f"{i}\t{i.split('/')[0]}\t{load_image(root / 'pics' / i).width}\n" for i in ids))  # fmt: skip
    cfg = ServerConfig(models={}, base=root)
    cfg.vectors = {"pics": "pics.npy"}
    cfg.metadata = {"pics": "pics.tsv"}
    cfg.images = {"pics": "pics"}
    with Running(create_app(cfg, encoders={"toy": WordHash(dim=8)})) as url:
        yield url, ids, root


def test_an_embed_output_with_metadata_and_thumbnails(
    browser: Any, photos: tuple[str, list[str], Path]
) -> None:
    import io

    import httpx
    from PIL import Image

    url, ids, root = photos
    job = _done(url, {"source": "pics", "method": "pca", "dims": 2})
    assert job["status"] == "done" and job["ids"] == ids and job["images"] is True
    assert job["columns"]["set"] == [i.split("/")[0] for i in ids]
    assert all(isinstance(w, int) and w > 100 for w in job["columns"]["width"])  # TSV numbers
    r = httpx.get(url + "/v1/ui/thumbnails", params={"source": "pics", "key": ids[0]})
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    assert max(Image.open(io.BytesIO(r.content)).size) == 128
    for key in ("../secret.jpg", "set0/../../secret.jpg", str(root / "secret.jpg"), "nope.jpg"):
        r = httpx.get(url + "/v1/ui/thumbnails", params={"source": "pics", "key": key})
        assert r.status_code == 422, key  # nothing outside the folder, nothing not in the source
        assert "is not" in r.text and str(root) not in r.text.replace(key, "")
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    _project(page, url, "pics", "2", len(ids))
    options = page.eval_on_selector_all("#pj-colour option", "os => os.map(o => o.value)")
    assert options == ["", "row", "set", "width", "cluster"]
    page.fill("#pj-search", ids[3])
    page.press("#pj-search", "Enter")
    page.wait_for_selector("#pj-neighbours li[data-key] img.thumb")
    page.wait_for_selector("#pj-image img.picked[src^='blob:']")
    width = page.eval_on_selector(
        "#pj-image img.picked", "i => i.decode().then(() => i.naturalWidth)"
    )
    assert 0 < width <= 128
    assert ids[3].split("/")[0] in page.inner_text("#pj-meta")
    page.close()
