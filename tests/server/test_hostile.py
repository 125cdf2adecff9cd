"""A hostile or broken client: timeouts, slow and abandoned connections, bad filters and names,
auth rules. Each answer is a 4xx (or 504) in OpenAI's error shape and the server stays healthy."""

from __future__ import annotations

import socket
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

from embedlab.errors import ParameterError  # noqa: E402
from embedlab.server import Limits, ServerConfig  # noqa: E402
from embedlab.server.app import create_app  # noqa: E402
from embedlab.server.guards import uvicorn_options  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Served:
    """The app on loopback with the same uvicorn options ``embedlab serve`` uses."""

    def __init__(self, cfg: ServerConfig, **parts: Any) -> None:
        self.port = _free_port()
        app = create_app(cfg, **parts)
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", **uvicorn_options(cfg)
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline
            time.sleep(0.02)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


class Slow(WordHash):
    def encode(self, texts: Any, **kw: Any) -> np.ndarray:
        time.sleep(2.0)
        return super().encode(texts, **kw)


def openai_error(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, (r.status_code, r.text[:300])
    err = r.json()["error"]
    assert set(err) == {"message", "type", "param", "code"}
    return dict(err)


@pytest.fixture(scope="module")
def hostile_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from embedlab.apps import FAQ
    from embedlab.search import Collection

    root = tmp_path_factory.mktemp("hostile")
    col = Collection.create(root / "col", WordHash(dim=24), index="exact")
    col.add(["a", "b"], ["reset your password", "parcel tracking"], [{"t": "x"}, {"t": "y"}])
    faq = FAQ.build(root / "faq", WordHash(dim=24), ["reset password"], ["Use the link."])
    cfg = ServerConfig(models={}, limits=Limits(max_body_bytes=65536, body_timeout_s=1.0))
    cfg.limits.header_timeout_s = 1.0
    parts = {
        "encoders": {"toy": WordHash(dim=24)},
        "collections": {"docs": col},
        "faqs": {"f": faq},
    }
    with Served(cfg, **parts) as url:
        yield url


@pytest.mark.parametrize(
    "where",
    [
        {"bad key": "x"},
        {"a')--": "x"},
        {f"k{i}": 1 for i in range(1001)},
        {"t": 2**63},
        {"t": -(2**63) - 1},
        {"t": [1, 2]},
        {"t": {"$gt": 1}},
    ],
    ids=["space", "sql", "1001-keys", "int-2^63", "int-below", "list", "object"],
)
def test_bad_filters_are_422_not_500(hostile_url: str, where: dict[str, Any]) -> None:
    body = {"collection": "docs", "query": "password", "where": where}
    openai_error(httpx.post(f"{hostile_url}/v1/search", json=body), 422)
    assert httpx.get(f"{hostile_url}/health").json()["status"] == "ok"


@pytest.mark.parametrize("route", ["search", "faq"])
def test_lone_surrogates_are_422(hostile_url: str, route: str) -> None:
    raw = (
        '{"collection": "docs", "query": "pass\\ud800word", "where": {"t": "\\udc00"}}'
        if route == "search"
        else '{"faq": "f", "question": "\\ud800"}'
    )
    path = "/v1/search" if route == "search" else "/v1/faq/ask"
    r = httpx.post(
        f"{hostile_url}{path}", content=raw, headers={"content-type": "application/json"}
    )
    assert "surrogate" in openai_error(r, 422)["message"]


def test_valid_filters_still_work(hostile_url: str) -> None:
    body = {"collection": "docs", "query": "password", "where": {"t": "y"}}
    r = httpx.post(f"{hostile_url}/v1/search", json=body)
    assert r.status_code == 200 and [d["id"] for d in r.json()["data"]] == ["b"]


@pytest.mark.parametrize(
    ("field", "value"), [("dimensions", True), ("dimensions", "8"), ("dimensions", 0)]
)
def test_dimensions_must_be_a_real_integer(hostile_url: str, field: str, value: Any) -> None:
    r = httpx.post(
        f"{hostile_url}/v1/embeddings", json={"model": "toy", "input": "x", field: value}
    )
    assert openai_error(r, 422)["param"] == field


def test_names_are_not_echoed_whole(hostile_url: str) -> None:
    r = httpx.post(f"{hostile_url}/v1/embeddings", json={"model": "m" * 250, "input": "x"})
    assert len(openai_error(r, 404)["message"]) < 200  # a plausible name: 404, shortened
    r = httpx.post(f"{hostile_url}/v1/embeddings", json={"model": "m" * 30000, "input": "x"})
    assert len(openai_error(r, 422)["message"]) < 200  # past any real name: the schema's 422
    r = httpx.post(f"{hostile_url}/v1/search", json={"collection": "c" * 250, "query": "x"})
    assert len(openai_error(r, 404)["message"]) < 200


def test_an_over_long_chunked_body_is_413(hostile_url: str) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"model": "toy", "input": "'
        for _ in range(100):
            yield b"x" * 1000
        yield b'"}'

    r = httpx.post(f"{hostile_url}/v1/embeddings", content=chunks())  # no Content-Length
    assert openai_error(r, 413)["code"] == "request_too_large"
    r = httpx.post(f"{hostile_url}/v1/search", content=chunks())
    assert openai_error(r, 413)["code"] == "request_too_large"


def test_unknown_routes_and_methods_are_in_openai_shape(hostile_url: str) -> None:
    openai_error(httpx.get(f"{hostile_url}/v1/../../etc/passwd"), 404)
    openai_error(httpx.get(f"{hostile_url}/v1/embeddings"), 405)


def _connect(port: int) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(10)
    return s


def _closed_by_server(s: socket.socket) -> bool:
    try:
        while True:
            data = s.recv(65536)
            if not data:
                return True
    except (TimeoutError, ConnectionResetError):
        return False


def test_idle_slow_and_half_sent_connections_are_closed(hostile_url: str) -> None:
    port = int(hostile_url.rsplit(":", 1)[1])
    idle = [_connect(port) for _ in range(8)]  # connect, send nothing
    slow = [_connect(port) for _ in range(8)]  # headers a piece at a time (slowloris)
    for s in slow:
        s.sendall(b"POST /v1/embeddings HTTP/1.1\r\nHost: x\r\n")
    time.sleep(0.5)
    for s in slow:
        s.sendall(b"X-Slow: 1\r\n")  # still trickling, never finishing
    assert all(_closed_by_server(s) for s in idle + slow)
    half = _connect(port)  # a body that never arrives in full
    half.sendall(
        b"POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b'Content-Length: 100\r\n\r\n{"model": '
    )
    answer = b""
    while chunk := half.recv(65536):
        answer += chunk
    assert answer.startswith(b"HTTP/1.1 408") and b'"code":"timeout"' in answer.replace(b" ", b"")
    for s in [*idle, *slow, half]:
        s.close()
    assert httpx.get(f"{hostile_url}/health").json()["status"] == "ok"


def test_a_request_that_takes_too_long_is_504() -> None:
    cfg = ServerConfig(models={}, limits=Limits(request_timeout_s=0.5))
    with Served(cfg, encoders={"slow": Slow(dim=8)}) as url:
        r = httpx.post(f"{url}/v1/embeddings", json={"model": "slow", "input": "x"}, timeout=30)
        err = openai_error(r, 504)
        assert err["code"] == "timeout" and err["type"] == "server_error"
        assert httpx.get(f"{url}/health").json()["status"] == "ok"


def test_auth_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMBEDLAB_API_KEY", "   ")
    with pytest.raises(ParameterError, match="EMBEDLAB_API_KEY is set but empty"):
        create_app(ServerConfig(models={}), encoders={"toy": WordHash(dim=8)})
    monkeypatch.setenv("EMBEDLAB_API_KEY", "s3cret")
    with Served(ServerConfig(models={}), encoders={"toy": WordHash(dim=8)}) as url:
        body = {"model": "toy", "input": "x"}
        for header in ("Bearer s3cret", "bearer s3cret", "BEARER  s3cret"):
            r = httpx.post(f"{url}/v1/embeddings", json=body, headers={"authorization": header})
            assert r.status_code == 200, header
        for header in ("Bearer", "Bearer s3cre", "Basic s3cret", "s3cret", "Bearer s3cret2"):
            r = httpx.post(f"{url}/v1/embeddings", json=body, headers={"authorization": header})
            assert openai_error(r, 401)["code"] == "invalid_api_key", header
        assert httpx.get(f"{url}/health").json() == {"status": "ok"}  # nothing more, anonymous
        full = httpx.get(f"{url}/health", headers={"authorization": "Bearer s3cret"}).json()
        assert full["models"] == ["toy"]
        for path in ("/docs", "/openapi.json"):
            openai_error(httpx.get(f"{url}{path}"), 401)
            ok = httpx.get(f"{url}{path}", headers={"authorization": "Bearer s3cret"})
            assert ok.status_code == 200
        assert "/v1/embeddings" in ok.json()["paths"]


def test_serve_warns_on_an_open_address_without_a_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from embedlab.cli import main

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append(kw))
    monkeypatch.delenv("EMBEDLAB_API_KEY", raising=False)
    for host in ("0.0.0.0", "127.0.0.1"):
        with pytest.raises(SystemExit) as done:
            main(["serve", "--host", host, "-m", f"m={tmp_path}"])
        assert done.value.code in (0, None)
    err = capsys.readouterr().err
    assert err.count("without an API key") == 1 and "serving on 0.0.0.0" in err
    assert calls[0]["limit_concurrency"] == 512 and calls[0]["timeout_keep_alive"] == 5
    assert calls[0]["http"].__name__ == "HeaderDeadline"
