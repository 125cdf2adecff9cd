"""Image inputs of ``/v1/embeddings``: base64 and data URLs, mixed with texts, limits and 4xx."""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np
import pytest

from embedlab.encoders.clip import ClipEncoder

from .conftest import Image, jpeg_bytes, photo_files

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")

from embedlab.server import Limits, ServerConfig  # noqa: E402
from embedlab.server.app import create_app  # noqa: E402
from serverrun import Running  # noqa: E402
from toyencoders import WordHash  # noqa: E402


def _post(url: str, body: dict) -> httpx.Response:  # type: ignore[type-arg]
    return httpx.post(f"{url}/v1/embeddings", json=body, timeout=60)


def test_images_and_texts_in_one_request(tiny_clip: Path) -> None:
    cfg = ServerConfig(models={"clip": str(tiny_clip)}, limits=Limits(max_image_bytes=60_000))
    app = create_app(cfg, encoders={"toy": WordHash(dim=24)})
    enc = ClipEncoder(tiny_clip)
    photo = photo_files()[0].read_bytes()
    b64 = base64.b64encode(photo).decode()
    with Running(app) as url:
        r = _post(url, {"model": "clip", "input": [
            "a dog on the beach", {"type": "image", "data": b64},
            {"type": "image", "data": "data:image/jpeg;base64," + b64},
            {"type": "text", "text": "two children"},
        ]})  # fmt: skip
        assert r.status_code == 200, r.text
        rows = np.array([d["embedding"] for d in r.json()["data"]], dtype=np.float32)
        np.testing.assert_allclose(rows[1], enc.encode_images(photo_files()[0]), atol=1e-5)
        np.testing.assert_allclose(rows[2], rows[1], atol=1e-6)
        np.testing.assert_allclose(
            rows[[0, 3]], enc.encode(["a dog on the beach", "two children"]), atol=1e-5
        )
        assert r.json()["usage"]["prompt_tokens"] > 0

        cut = base64.b64encode(photo[: len(photo) // 3]).decode()
        r = _post(url, {"model": "clip", "input": ["x", {"type": "image", "data": cut}]})
        assert r.status_code == 422 and "input[1]: expected a complete image" in r.text
        text = base64.b64encode(b"this is not a picture at all").decode()
        r = _post(url, {"model": "clip", "input": [{"type": "image", "data": text}]})
        assert r.status_code == 422 and "input[0]: expected an image" in r.text
        r = _post(url, {"model": "clip", "input": [{"type": "image", "data": "@@not base64@@"}]})
        assert r.status_code == 422 and "not valid base64" in r.text
        big = base64.b64encode(b"\xff" * 70_000).decode()
        r = _post(url, {"model": "clip", "input": [{"type": "image", "data": big}]})
        assert r.status_code == 422 and "at most 60,000" in r.text
        r = _post(
            url,
            {"model": "clip", "input": [{"type": "image", "data": "data:text/plain;base64,eA=="}]},
        )
        assert r.status_code == 422 and "data:image/<type>;base64" in r.text
        r = _post(url, {"model": "clip", "input": [{"type": "video", "data": b64}]})
        assert r.status_code == 422 and "an item is a string" in r.json()["error"]["message"]
        r = _post(url, {"model": "toy", "input": [{"type": "image", "data": b64}]})
        assert r.status_code == 422 and "encodes texts only" in r.text
        assert httpx.get(f"{url}/health").json()["status"] == "ok"


def test_an_image_over_the_pixel_limit_is_refused(tiny_clip: Path) -> None:
    cfg = ServerConfig(models={}, limits=Limits(max_image_pixels=1_000_000))
    app = create_app(cfg, encoders={"clip": ClipEncoder(tiny_clip)})
    wide = base64.b64encode(jpeg_bytes(Image.new("RGB", (2000, 600)))).decode()
    with Running(app) as url:
        r = _post(url, {"model": "clip", "input": [{"type": "image", "data": wide}]})
        assert r.status_code == 422 and "expected at most 1,000,000 pixels" in r.text
        assert "2,000 x 600" in r.text
