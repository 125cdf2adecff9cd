"""The HTTP API over real loopback HTTP: the official openai client, errors, limits, auth, batching."""

from __future__ import annotations

import asyncio
import base64
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from toyencoders import WordHash

pytest.importorskip("fastapi")
uvicorn = pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")

from embedlab.server import Limits, ServerConfig  # noqa: E402
from embedlab.server.app import create_app  # noqa: E402
from serverrun import Running  # noqa: E402

TEXTS = ["how do I reset my password", "track my parcel", "we accept cards", "猫喜欢鱼"]


def serve(tmp_path: Path | None = None, **limits: Any) -> tuple[Running, Any]:
    cfg = ServerConfig(models={}, limits=Limits(**limits))
    enc = WordHash(dim=24)
    app = create_app(cfg, encoders={"toy": enc})
    return Running(app), enc


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from embedlab.apps import FAQ
    from embedlab.search import Collection

    root = tmp_path_factory.mktemp("srv")
    col = Collection.create(root / "col", WordHash(dim=24), index="exact")
    col.add(
        ["a", "b"], ["reset your password here", "parcel tracking page"], [{"t": "x"}, {"t": "y"}]
    )
    faq = FAQ.build(
        root / "faq",
        WordHash(dim=24),
        ["how to reset password", "where is my parcel"],
        ["Use the reset link.", "Track it online."],
    )
    app = create_app(
        ServerConfig(models={}, max_wait_ms=20),
        encoders={"toy": WordHash(dim=24)},
        collections={"docs": col},
        faqs={"support": faq},
    )
    with Running(app) as url:
        yield url


def test_openai_client_gets_the_in_process_vectors(base_url: str) -> None:
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(base_url=f"{base_url}/v1", api_key="unused")
    want = WordHash(dim=24).encode(TEXTS)
    for fmt in ("float", "base64"):
        got = client.embeddings.create(model="toy", input=TEXTS, encoding_format=fmt)
        rows = [
            np.frombuffer(base64.b64decode(d.embedding), "<f4")
            if isinstance(d.embedding, str)
            else np.array(d.embedding, np.float32)
            for d in got.data
        ]  # asked for base64 explicitly, the client hands the string back undecoded
        assert isinstance(got.data[0].embedding, str) == (fmt == "base64")
        vecs = np.stack(rows)
        assert got.model == "toy" and [d.index for d in got.data] == [0, 1, 2, 3]
        assert np.sum(vecs * want, axis=1).min() >= 0.9999
        assert got.usage.prompt_tokens == sum(len(t.split()) for t in TEXTS)
    one = client.embeddings.create(model="toy", input="track my parcel", dimensions=8)
    short = np.array(one.data[0].embedding)
    assert short.shape == (8,) and np.linalg.norm(short) == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_allclose(short, want[1][:8] / np.linalg.norm(want[1][:8]), atol=1e-5)
    assert [m.id for m in client.models.list().data] == ["toy"]


def test_raw_base64_is_little_endian_float32(base_url: str) -> None:
    r = httpx.post(
        f"{base_url}/v1/embeddings",
        json={"model": "toy", "input": "x y", "encoding_format": "base64"},
    )
    raw = base64.b64decode(r.json()["data"][0]["embedding"])
    np.testing.assert_allclose(np.frombuffer(raw, "<f4"), WordHash(dim=24).encode("x y"), atol=1e-6)


def test_quantized_answers_use_ranges_calibrated_once_per_model(base_url: str) -> None:
    from embedlab.compress import ScalarQuantizer, binarize
    from embedlab.server.quantized import calibration_texts

    want = WordHash(dim=24).encode(TEXTS)
    ask = {"model": "toy", "input": TEXTS}
    r8 = httpx.post(f"{base_url}/v1/embeddings", json={**ask, "encoding_format": "int8"}).json()
    ranges = np.array(r8["quantization"]["ranges"], np.float32)
    calib = WordHash(dim=24).encode(list(calibration_texts()))
    np.testing.assert_allclose(ranges, [calib.min(axis=0), calib.max(axis=0)], atol=1e-6)
    codes = np.array([d["embedding"] for d in r8["data"]])
    expected = ScalarQuantizer.from_ranges(ranges).transform(want)
    assert codes.shape == (4, 24) and np.abs(codes - expected).max() <= 1  # float32 rounding
    one = httpx.post(
        f"{base_url}/v1/embeddings", json={**ask, "input": TEXTS[0], "encoding_format": "int8"}
    ).json()
    assert one["data"][0]["embedding"] == r8["data"][0]["embedding"]  # the same code alone
    for fmt, signed in (("binary", True), ("ubinary", False)):
        rb = httpx.post(f"{base_url}/v1/embeddings", json={**ask, "encoding_format": fmt}).json()
        assert "quantization" not in rb
        got = np.array([d["embedding"] for d in rb["data"]])
        np.testing.assert_array_equal(got, binarize(want, signed=signed))


@pytest.mark.parametrize(
    ("body", "status", "param"),
    [
        ({"model": "nope", "input": "x"}, 404, "model"),
        ({"model": "toy", "input": []}, 422, "input"),
        ({"model": "toy", "input": ""}, 422, "input"),
        ({"model": "toy", "input": [[1, 2, 3]]}, 422, "input"),
        ({"model": "toy", "input": "x", "dimensions": 99}, 422, "dimensions"),
        ({"model": "toy", "input": "x", "encoding_format": "int4"}, 422, "encoding_format"),
        ({"input": "x"}, 422, "model"),
    ],
)
def test_bad_requests_get_openai_shaped_errors(
    base_url: str, body: dict, status: int, param: str
) -> None:
    r = httpx.post(f"{base_url}/v1/embeddings", json=body)
    assert r.status_code == status
    err = r.json()["error"]
    assert set(err) == {"message", "type", "param", "code"} and param in (err["param"] or "")
    assert err["message"]


def test_limits_inputs_chars_and_body_size() -> None:
    running, _ = serve(max_inputs=3, max_chars=20, max_body_bytes=2000)
    with running as url:
        r = httpx.post(f"{url}/v1/embeddings", json={"model": "toy", "input": ["a"] * 4})
        assert r.status_code == 422 and "at most 3 per request" in r.json()["error"]["message"]
        r = httpx.post(f"{url}/v1/embeddings", json={"model": "toy", "input": "x" * 21})
        assert r.status_code == 422 and "21 characters" in r.json()["error"]["message"]
        r = httpx.post(f"{url}/v1/embeddings", json={"model": "toy", "input": ["y" * 10] * 300})
        assert r.status_code == 413 and r.json()["error"]["code"] == "request_too_large"
        assert httpx.get(f"{url}/health").json()["status"] == "ok"


def test_bearer_token_is_required_when_set(monkeypatch: pytest.MonkeyPatch) -> None:
    openai = pytest.importorskip("openai")
    monkeypatch.setenv("EMBEDLAB_API_KEY", "s3cret")
    app = create_app(ServerConfig(models={}), encoders={"toy": WordHash(dim=24)})
    with Running(app) as url:
        r = httpx.post(f"{url}/v1/embeddings", json={"model": "toy", "input": "x"})
        assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
        bad = openai.OpenAI(base_url=f"{url}/v1", api_key="wrong", max_retries=0)
        with pytest.raises(openai.AuthenticationError):
            bad.embeddings.create(model="toy", input="x")
        good = openai.OpenAI(base_url=f"{url}/v1", api_key="s3cret")
        assert len(good.embeddings.create(model="toy", input="x").data) == 1
        assert httpx.get(f"{url}/health").status_code == 200  # health stays open


def test_concurrent_requests_are_micro_batched(base_url: str) -> None:
    async def burst() -> list[int]:
        async with httpx.AsyncClient() as client:
            rs = await asyncio.gather(
                *[
                    client.post(
                        f"{base_url}/v1/embeddings", json={"model": "toy", "input": [f"t {i}", "u"]}
                    )
                    for i in range(24)
                ]
            )
        return [r.status_code for r in rs]

    before = _calls(base_url)
    assert asyncio.run(burst()) == [200] * 24
    assert _calls(base_url) - before < 24  # fewer encoder calls than requests


def _calls(base_url: str) -> int:
    return int(httpx.get(f"{base_url}/health").json().get("encoder_calls", {}).get("toy", 0))


class Broken(WordHash):
    def encode(self, texts: Any, **kw: Any) -> np.ndarray:
        raise ValueError("the model is on fire")


def test_an_encoder_failure_answers_500_in_openai_shape(caplog: pytest.LogCaptureFixture) -> None:
    import re

    app = create_app(ServerConfig(models={}), encoders={"broken": Broken(dim=24)})
    with Running(app) as url, caplog.at_level("ERROR", logger="embedlab.server.routes"):
        r = httpx.post(f"{url}/v1/embeddings", json={"model": "broken", "input": "x"})
        err = r.json()["error"]
        assert r.status_code == 500 and err["type"] == "server_error"
        assert "on fire" not in err["message"]  # the client gets an id, not the exception
        ref = re.fullmatch(
            r"internal error ([0-9a-f]{12}) \(the server log has the details\)", err["message"]
        )
        assert ref is not None
        logged = [rec for rec in caplog.records if ref.group(1) in rec.getMessage()]
        assert logged and "the model is on fire" in str(logged[0].exc_info[1])
        assert httpx.get(f"{url}/health").status_code == 200  # the server keeps serving


def test_a_full_queue_answers_503() -> None:
    running, _ = serve(max_pending=2)
    with running as url:
        r = httpx.post(f"{url}/v1/embeddings", json={"model": "toy", "input": ["a", "b", "c"]})
        assert r.status_code == 503 and r.json()["error"]["type"] == "server_error"


def test_search_takes_the_splade_mode(tmp_path: Path) -> None:
    from embedlab.search import Collection
    from toyencoders import ToySplade

    col = Collection.create(
        tmp_path / "c", WordHash(dim=24), index="exact", sparse_encoder=ToySplade()
    )
    col.add(["pw", "parcel"], ["How do I reset my password?", "Track your parcel with the number"])
    app = create_app(
        ServerConfig(models={}), encoders={"toy": WordHash(dim=24)}, collections={"docs": col}
    )
    with Running(app) as url:
        body = {"collection": "docs", "query": "tracking number", "k": 3, "mode": "splade"}
        r = httpx.post(f"{url}/v1/search", json=body)
        assert r.status_code == 200, r.text
        assert [h["id"] for h in r.json()["data"]] == ["parcel"]


def test_a_sparse_model_answers_indices_and_values() -> None:
    from toyencoders import ToySplade

    app = create_app(ServerConfig(models={}, isolate=False), encoders={"sp": ToySplade()})
    with Running(app) as url:
        r = httpx.post(f"{url}/v1/embeddings", json={"model": "sp", "input": ["a b", "a"]})
        assert r.status_code == 200, r.text
        rows = [d["embedding"] for d in r.json()["data"]]
        want = ToySplade().encode(["a b", "a"])
        for row, i in zip(rows, range(2), strict=True):
            assert sorted(row["indices"]) == sorted(want[i].indices.tolist())
            assert row["values"] == [1.0] * len(row["indices"])
        bad = httpx.post(
            f"{url}/v1/embeddings", json={"model": "sp", "input": "a", "encoding_format": "int8"}
        )
        assert bad.status_code == 422 and "sparse model" in bad.json()["error"]["message"]


def test_search_and_faq_endpoints(base_url: str) -> None:
    r = httpx.post(
        f"{base_url}/v1/search", json={"collection": "docs", "query": "password reset", "k": 1}
    )
    assert r.status_code == 200 and r.json()["data"][0]["id"] == "a"
    r = httpx.post(
        f"{base_url}/v1/search", json={"collection": "docs", "query": "page", "where": {"t": "y"}}
    )
    assert [d["id"] for d in r.json()["data"]] == ["b"]
    r = httpx.post(f"{base_url}/v1/faq/ask", json={"faq": "support", "question": "reset password"})
    body = r.json()
    assert r.status_code == 200 and body["answers"][0]["text"] == "Use the reset link."
    assert (
        httpx.post(f"{base_url}/v1/search", json={"collection": "x", "query": "q"}).status_code
        == 404
    )
    assert httpx.get(f"{base_url}/docs").status_code == 200
    post = httpx.get(f"{base_url}/openapi.json").json()["paths"]["/v1/embeddings"]["post"]
    schema = post["requestBody"]["content"]["application/json"]["schema"]
    assert {"input", "model", "encoding_format", "dimensions"} <= set(schema["properties"])


def test_a_body_that_is_not_json_gets_422(base_url: str) -> None:
    r = httpx.post(
        f"{base_url}/v1/embeddings",
        content=b'{"model": "toy", "input": ',
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 422 and r.json()["error"]["type"] == "invalid_request_error"
    assert "JSON" in r.json()["error"]["message"]


class SlowEncoder(WordHash):
    def encode(self, texts: Any, **kw: Any) -> np.ndarray:
        time.sleep(0.8)
        return super().encode(texts, **kw)


def test_shutdown_finishes_in_flight_requests() -> None:
    app = create_app(ServerConfig(models={}), encoders={"slow": SlowEncoder(dim=24)})
    running = Running(app)
    result: dict[str, Any] = {}
    with running as url:

        def call() -> None:
            result["response"] = httpx.post(
                f"{url}/v1/embeddings", json={"model": "slow", "input": "x"}, timeout=10
            )

        client = threading.Thread(target=call)
        client.start()
        time.sleep(0.3)  # the request is being encoded now
        running.server.should_exit = True
        client.join(10)
    assert result["response"].status_code == 200
    assert len(result["response"].json()["data"]) == 1
