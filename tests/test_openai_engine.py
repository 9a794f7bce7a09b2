"""The `openai` engine against a real chat-completions server on loopback, answering with the tiny random model."""

from __future__ import annotations

import base64
import concurrent.futures as cf
import io
import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

import pytest
from PIL import Image, ImageDraw

os.environ["HF_HUB_OFFLINE"] = "1"
pytest.importorskip("torch")
pytest.importorskip("transformers")

from http_fixtures import serve_handler

from mcp_docvl.config import Settings
from mcp_docvl.engines import create_engine
from mcp_docvl.engines.local.random_model import save_random_model
from mcp_docvl.engines.local.transformers_engine import TransformersEngine
from mcp_docvl.engines.openai_engine import OpenAIEngine
from mcp_docvl.errors import EngineError
from mcp_docvl.features.read import read_document


@dataclass
class Chat:
    """The server's script: queued failures first, then answers from `model`; what it saw, for assertions."""

    model: TransformersEngine | None = None
    script: list[tuple] = field(default_factory=list)
    requests: list[dict] = field(default_factory=list)
    # Tensors of the `image_embeds` parts received, decoded as vLLM decodes them (torch.load of the base64 bytes).
    embeds: list = field(default_factory=list)
    headers: list[dict] = field(default_factory=list)
    delay: float = 0.0
    active: int = 0
    peak: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _reply(handler: BaseHTTPRequestHandler, status: int, payload: bytes, headers: dict | None = None) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(payload)))
    for key, value in (headers or {}).items():
        handler.send_header(key, value)
    handler.end_headers()
    handler.wfile.write(payload)


def _images(message: dict) -> list[Image.Image]:
    out = []
    for part in message["content"]:
        if part["type"] == "image_url":
            header, data = part["image_url"]["url"].split(",", 1)
            assert header == "data:image/png;base64"
            out.append(Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB"))
    return out


@contextmanager
def chat_server(chat: Chat) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/v1/models":
                _reply(self, 200, json.dumps({"object": "list", "data": [{"id": "tiny", "object": "model"}]}).encode())
            else:
                _reply(self, 404, b'{"error": "not found"}')

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = json.loads(self.rfile.read(length))
            with chat.lock:
                chat.requests.append(body)
                chat.headers.append(dict(self.headers))
                step = chat.script.pop(0) if chat.script else None
                chat.active += 1
                chat.peak = max(chat.peak, chat.active)
            try:
                time.sleep(chat.delay)
                if step is not None:
                    status, payload, headers = step
                    if status == "sleep":
                        time.sleep(payload)
                        _reply(self, 200, b"{}")
                    else:
                        _reply(self, status, payload if isinstance(payload, bytes) else json.dumps(payload).encode(),
                               headers)
                    return
                message = body["messages"][0]
                prompt = next(p["text"] for p in message["content"] if p["type"] == "text")
                for part in message["content"]:
                    if part["type"] == "image_embeds":
                        import torch

                        chat.embeds.append(torch.load(io.BytesIO(base64.b64decode(part["image_embeds"])),
                                                      weights_only=True))
                text = chat.model.generate(prompt, _images(message), max_new_tokens=body["max_tokens"])
                _reply(self, 200, json.dumps({"id": "x", "object": "chat.completion", "model": body["model"],
                                              "choices": [{"index": 0, "finish_reason": "length",
                                                           "message": {"role": "assistant", "content": text}}]}
                                             ).encode())
            finally:
                with chat.lock:
                    chat.active -= 1

        def log_message(self, *args: object) -> None:
            pass

    with serve_handler(Handler) as base:
        yield f"{base}/v1"


@pytest.fixture(scope="module")
def local_model(tmp_path_factory):
    path = save_random_model(tmp_path_factory.mktemp("tiny-vlm"))
    return TransformersEngine(Settings.from_env(vlm_model=str(path)))


def page_image(text: str = "Total: 12.50") -> Image.Image:
    image = Image.new("RGB", (180, 240), "white")
    ImageDraw.Draw(image).text((12, 12), text, fill="black")
    return image


def remote(url: str, **overrides) -> OpenAIEngine:
    settings = Settings.from_env(**{"engine": "openai", "openai_base_url": url, "vlm_model": "tiny", **overrides})
    engine = create_engine(settings)
    assert isinstance(engine, OpenAIEngine)
    return engine


def test_answers_come_from_the_server_model_with_images_as_data_uris(local_model, tmp_path):
    chat = Chat(model=local_model)
    image = page_image()
    with chat_server(chat) as url:
        engine = remote(url, openai_api_key="secret-key", roots=[tmp_path], vlm_max_new_tokens=12)
        answer = engine.generate("What is the total?", [image], max_new_tokens=10)
        assert answer == local_model.generate("What is the total?", [image], max_new_tokens=10)
        request = chat.requests[0]
        assert request["model"] == "tiny" and request["max_tokens"] == 10
        assert chat.headers[0]["Authorization"] == "Bearer secret-key"
        # PNG is lossless: the server sees exactly our pixels.
        assert _images(request["messages"][0])[0].tobytes() == image.tobytes()
        # The whole tool flow: a scanned page read through the remote engine.
        path = tmp_path / "scan.png"
        image.save(path)
        result = read_document(str(path), settings=engine.settings, engine=engine)
        assert result.pages[0].method == "vlm"
        assert result.pages[0].content
        assert result.pages[0].content == engine.transcribe_page(image).markdown


def test_rate_limits_and_server_errors_are_retried_with_backoff(local_model):
    chat = Chat(model=local_model, script=[(429, {"error": "slow down"}, {"Retry-After": "0"}),
                                           (503, {"error": "overloaded"}, None)])
    with chat_server(chat) as url:
        started = time.monotonic()
        answer = remote(url).generate("Hi", [page_image()], max_new_tokens=4)
        elapsed = time.monotonic() - started
    assert answer == local_model.generate("Hi", [page_image()], max_new_tokens=4)
    assert len(chat.requests) == 3
    assert elapsed >= 0.5  # the 503 carried no Retry-After: the first backoff step


def test_persistent_server_errors_end_in_a_clear_error(local_model):
    chat = Chat(model=local_model, script=[(500, {"error": "boom"}, None)] * 5)
    with chat_server(chat) as url, pytest.raises(EngineError) as info:
        remote(url, openai_max_retries=1).generate("Hi", [page_image()])
    assert "500" in str(info.value) and "boom" in str(info.value)
    assert len(chat.requests) == 2


def test_client_errors_are_not_retried_and_say_what_to_fix(local_model):
    chat = Chat(model=local_model, script=[(401, {"error": "bad key"}, None)])
    with chat_server(chat) as url, pytest.raises(EngineError) as info:
        remote(url).generate("Hi", [page_image()])
    assert "DOCVL_OPENAI_API_KEY" in str(info.value)
    assert len(chat.requests) == 1


def test_a_slow_server_times_out(local_model):
    chat = Chat(model=local_model, script=[("sleep", 2.0, None)] * 2)
    with chat_server(chat) as url, pytest.raises(EngineError) as info:
        remote(url, openai_timeout=0.3, openai_max_retries=1).generate("Hi", [page_image()])
    assert "did not answer within" in str(info.value) and "DOCVL_OPENAI_TIMEOUT" in str(info.value)
    assert len(chat.requests) == 2


@pytest.mark.parametrize(("payload", "expected"), [
    (b"<html>gateway</html>", "not JSON"),
    ({"choices": []}, "choices[0].message.content"),
    ({"choices": [{"message": {"content": None}}]}, "content is not text"),
    ([1, 2], "not an object"),
])
def test_malformed_answers_are_clear_errors(local_model, payload, expected):
    chat = Chat(model=local_model, script=[(200, payload, None)])
    with chat_server(chat) as url, pytest.raises(EngineError) as info:
        remote(url).generate("Hi", [page_image()])
    assert expected in str(info.value)


def test_requests_in_flight_stay_under_the_concurrency_limit(local_model):
    chat = Chat(model=local_model, delay=0.5, script=[(200, {"choices": [{"message": {"content": "ok"}}]}, None)] * 6)
    with chat_server(chat) as url:
        engine = remote(url, openai_concurrency=2)
        with cf.ThreadPoolExecutor(6) as pool:
            answers = list(pool.map(lambda _: engine.generate("Hi", [page_image()]), range(6)))
    assert answers == ["ok"] * 6
    assert chat.peak == 2


def test_warm_checks_the_server_serves_the_model(local_model):
    with chat_server(Chat(model=local_model)) as url:
        remote(url).warm()
        with pytest.raises(EngineError) as info:
            create_engine(Settings.from_env(engine="openai", openai_base_url=url, vlm_model="other")).warm()
        assert "does not serve 'other'" in str(info.value) and "tiny" in str(info.value)
        with pytest.raises(EngineError) as info:
            remote(url.removesuffix("/v1")).warm()
        assert "404" in str(info.value) and "DOCVL_OPENAI_BASE_URL" in str(info.value)


def test_cached_embeddings_travel_instead_of_pixels_when_enabled(local_model, tmp_path, monkeypatch):
    import huggingface_hub.constants
    import torch

    from mcp_docvl.engines.local.remote_stand_in import put_in_hub_cache
    from mcp_docvl.errors import InvalidArgument

    cached, fresh = page_image("Total: 12.50"), page_image("Total: 99.00")
    vision = tmp_path / "vision"
    # `mcp-docvl warmup` with the id the server serves (fetched into the hub cache): the local engine stores the
    # page's embeddings on disk; the openai engine, configured with the same id, finds them.
    put_in_hub_cache(tmp_path / "hub", "docvl-test/tiny", local_model.model_id)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    warm = TransformersEngine(Settings.from_env(vlm_model="docvl-test/tiny", vlm_cache_dir=vision))
    assert warm.encode_images([cached]) == 1
    stored = next(iter(warm.cache._entries.values())).features
    warm.close()
    chat = Chat(model=local_model)
    with chat_server(chat) as url:
        engine = remote(url, openai_image_embeds=True, vlm_cache_dir=vision, vlm_model="docvl-test/tiny")
        assert engine.generate("What is the total?", [cached, fresh], max_new_tokens=4)
        parts = [p["type"] for p in chat.requests[-1]["messages"][0]["content"]]
        # The cached page went as embeddings (not pixels), the other page as pixels.
        assert parts == ["image_embeds", "image_url", "text"]
        assert len(chat.embeds) == 1 and chat.embeds[0].shape == stored.shape
        assert torch.equal(chat.embeds[0], stored.cpu())
        assert (engine.sent_embeds, engine.sent_pixels) == (1, 1)
        # Off by default: pixels only.
        plain = remote(url)
        plain.generate("What is the total?", [cached], max_new_tokens=4)
        assert [p["type"] for p in chat.requests[-1]["messages"][0]["content"]] == ["image_url", "text"]
    with pytest.raises(InvalidArgument, match="DOCVL_VLM_CACHE_DIR"):
        remote("http://127.0.0.1:9/v1", openai_image_embeds=True)
