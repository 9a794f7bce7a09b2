"""A remote VLM behind any OpenAI-compatible `/v1/chat/completions` server (vLLM, NIM, TensorRT-LLM, llama.cpp).

This is the scale-out path: many MCP server replicas in front of one GPU deployment. Page images travel as
`image_url` parts holding PNG data URIs; with `DOCVL_OPENAI_IMAGE_EMBEDS=1`, a page whose vision embeddings
`mcp-docvl warmup` stored (same model id, `DOCVL_VLM_CACHE_DIR`) travels as an `image_embeds` part instead (vLLM
with `--enable-mm-embeds`), so the server skips its vision encoder for static documents. Rate limits (429) and
server errors (5xx) are retried with exponential backoff (honouring `Retry-After`); a semaphore bounds the requests
one process has in flight.
"""

from __future__ import annotations

import base64
import importlib.util
import io
import threading
import time
from collections.abc import Sequence
from typing import Any

import httpx
from PIL import Image

from mcp_docvl.config import Settings
from mcp_docvl.engines.base import PageTranscript
from mcp_docvl.engines.prompts import TRANSCRIBE_PROMPT
from mcp_docvl.engines.vision_cache import VisionCache, cache_key, embeds_base64, image_digest, tile_budget
from mcp_docvl.errors import EngineError, InvalidArgument

_RETRY_STATUS = {429, 500, 502, 503, 504}
# Backoff base in seconds; attempt n waits base * 2**n (or the server's Retry-After, capped).
_BACKOFF = 0.5
_MAX_WAIT = 30.0


def image_data_uri(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


class OpenAIEngine:
    name = "openai"

    def __init__(self, settings: Settings | None = None, transport: httpx.BaseTransport | None = None) -> None:
        self.settings = settings or Settings.from_env()
        self.base_url = self.settings.openai_base_url.rstrip("/")
        self.model = self.settings.vlm_model
        headers = {"Authorization": f"Bearer {self.settings.openai_api_key}"} if self.settings.openai_api_key else {}
        timeout = httpx.Timeout(self.settings.openai_timeout, connect=min(10.0, self.settings.openai_timeout))
        self._client = httpx.Client(headers=headers, timeout=timeout, transport=transport)
        self._slots = threading.BoundedSemaphore(max(1, self.settings.openai_concurrency))
        self._embeddings = _embeddings_cache(self.settings)
        # Pages sent as embeddings (cache hits) and as pixels: what a test or an operator checks.
        self.sent_embeds = 0
        self.sent_pixels = 0

    def cache_config(self) -> dict[str, Any]:
        """What shapes a transcription, for the page cache's keys (another server or model: another entry)."""
        return {"base_url": self.base_url, "model": self.model, "max_new_tokens": self.settings.vlm_max_new_tokens,
                "prompt": TRANSCRIBE_PROMPT}

    def warm(self) -> None:
        """Check the server answers and serves the configured model (`GET /models`), so a wrong URL fails at start."""
        response = self._send("GET", "/models", None)
        names = [m.get("id") for m in _json(response, self.base_url).get("data", []) if isinstance(m, dict)]
        if names and self.model not in names:
            raise EngineError(f"The server at {self.base_url} does not serve {self.model!r} (it serves {names}).",
                              "Set DOCVL_VLM_MODEL to one of those names.")

    def close(self) -> None:
        self._client.close()

    def transcribe_page(self, image: Image.Image) -> PageTranscript:
        text = self.generate(TRANSCRIBE_PROMPT, [image], max_new_tokens=self.settings.vlm_max_new_tokens)
        return PageTranscript(words=[], confidence=1.0, markdown=text.strip())

    def generate(self, prompt: str, images: Sequence[Image.Image], max_new_tokens: int = 512) -> str:
        if max_new_tokens < 1:
            raise InvalidArgument("max_new_tokens must be at least 1.", "Pass a positive number.")
        content: list[dict[str, Any]] = [self._image_part(img) for img in images]
        content.append({"type": "text", "text": prompt})
        body = {"model": self.model, "messages": [{"role": "user", "content": content}],
                "max_tokens": max_new_tokens, "temperature": 0}
        response = self._send("POST", "/chat/completions", body)
        return _reply_text(_json(response, self.base_url), self.base_url)

    def _image_part(self, image: Image.Image) -> dict[str, Any]:
        """The page's cached embeddings as an `image_embeds` part when enabled and cached, else its pixels."""
        if self._embeddings is not None:
            rgb = image.convert("RGB")
            key = cache_key(image_digest(rgb), self.model, tile_budget(self.settings.vlm_max_tiles))
            entry = self._embeddings.get(key)
            if entry is not None:
                self.sent_embeds += 1
                return {"type": "image_embeds", "image_embeds": embeds_base64(entry)}
        self.sent_pixels += 1
        return {"type": "image_url", "image_url": {"url": image_data_uri(image)}}

    def _send(self, method: str, path: str, body: dict | None) -> httpx.Response:
        url = self.base_url + path
        attempts = self.settings.openai_max_retries + 1
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                with self._slots:
                    response = self._client.request(method, url, json=body)
            except httpx.TimeoutException:
                if last:
                    raise EngineError(
                        f"The VLM server at {self.base_url} did not answer within {self.settings.openai_timeout:.0f} s "
                        f"({attempts} attempts).", "Raise DOCVL_OPENAI_TIMEOUT, or check the server's load.") from None
                time.sleep(_BACKOFF * 2**attempt)
                continue
            except httpx.HTTPError as exc:
                if last:
                    raise EngineError(f"Could not reach the VLM server at {self.base_url} ({exc}).",
                                      "Check DOCVL_OPENAI_BASE_URL and that the server is running.") from None
                time.sleep(_BACKOFF * 2**attempt)
                continue
            if response.status_code in _RETRY_STATUS and not last:
                time.sleep(_retry_wait(response, attempt))
                continue
            if response.status_code >= 400:
                embeds = self._embeddings is not None and "embed" in response.text.lower()
                raise EngineError(
                    f"The VLM server at {self.base_url} answered {response.status_code}: {_snippet(response)}.",
                    "Start the server with vLLM's --enable-mm-embeds, or unset DOCVL_OPENAI_IMAGE_EMBEDS."
                    if embeds and response.status_code == 400 else _status_fix(response.status_code),
                )
            return response
        raise AssertionError("unreachable")


def _embeddings_cache(settings: Settings) -> VisionCache | None:
    """The warmup's embeddings on disk, when `openai_image_embeds` is on (checked: a directory, and torch)."""
    if not settings.openai_image_embeds:
        return None
    if settings.vlm_cache_dir is None:
        raise InvalidArgument("DOCVL_OPENAI_IMAGE_EMBEDS=1 needs DOCVL_VLM_CACHE_DIR: the directory where "
                              "`mcp-docvl warmup` stored the pages' embeddings.",
                              "Set DOCVL_VLM_CACHE_DIR to it, or unset DOCVL_OPENAI_IMAGE_EMBEDS.")
    if importlib.util.find_spec("torch") is None:
        raise InvalidArgument("DOCVL_OPENAI_IMAGE_EMBEDS=1 needs torch to read the stored embeddings.",
                              "pip install torch (CPU build is enough), or unset DOCVL_OPENAI_IMAGE_EMBEDS.")
    return VisionCache(max_bytes=settings.vlm_cache_mb * 1024 * 1024, directory=settings.vlm_cache_dir)


def _retry_wait(response: httpx.Response, attempt: int) -> float:
    header = response.headers.get("retry-after", "")
    try:
        return min(_MAX_WAIT, max(0.0, float(header)))
    except ValueError:
        return min(_MAX_WAIT, _BACKOFF * 2**attempt)


def _status_fix(status: int) -> str:
    if status in (401, 403):
        return "Set DOCVL_OPENAI_API_KEY (or OPENAI_API_KEY) to a key the server accepts."
    if status == 404:
        return "Check DOCVL_OPENAI_BASE_URL (it ends in /v1) and DOCVL_VLM_MODEL (the served model name)."
    if status == 429:
        return "The server is rate-limiting; retry later or lower DOCVL_OPENAI_CONCURRENCY."
    if status >= 500:
        return "The server failed; check its logs, then retry."
    return "Check the request settings (model name, max tokens, image count the server allows)."


def _snippet(response: httpx.Response) -> str:
    text = response.text.strip().replace("\n", " ")
    return text[:300] or response.reason_phrase


def _json(response: httpx.Response, base_url: str) -> dict:
    try:
        data = response.json()
    except ValueError:
        raise EngineError(f"The VLM server at {base_url} answered something that is not JSON: "
                          f"{_snippet(response)!r}.", "Check that DOCVL_OPENAI_BASE_URL points at an "
                          "OpenAI-compatible API (it ends in /v1).") from None
    if not isinstance(data, dict):
        raise EngineError(f"The VLM server at {base_url} answered JSON that is not an object.",
                          "Check that the server speaks the OpenAI chat-completions protocol.")
    return data


def _reply_text(data: dict, base_url: str) -> str:
    try:
        message = data["choices"][0]["message"]
        content = message["content"]
    except (KeyError, IndexError, TypeError):
        raise EngineError(f"The VLM server at {base_url} answered without choices[0].message.content: "
                          f"{str(data)[:300]}.", "Check that the server speaks the OpenAI chat-completions "
                          "protocol and serves a vision model.") from None
    if isinstance(content, list):  # some servers answer with content parts
        content = "".join(part.get("text", "") for part in content if isinstance(part, dict))
    if not isinstance(content, str):
        raise EngineError(f"The VLM server at {base_url} answered a message whose content is not text.",
                          "Check that the server speaks the OpenAI chat-completions protocol.")
    return content
