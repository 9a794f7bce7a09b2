"""Everything a model needs from the Hugging Face Hub, fetched once (`mcp-docvl model fetch ID`), then found offline.

A remote-code model can name code in other repositories: Nemotron Nano VL's config names its vision tower as
`nvidia/C-RADIOv2-H--hf_model.RADIOModel` in `vision_config.auto_map`, and transformers loads that code whenever the
config is read. `hf download` of the model alone leaves that second repository out, so an offline server cannot
start. `fetch` downloads the model and every repository its config's `auto_map` entries reference (recursively);
`check_offline` runs before loading when `HF_HUB_OFFLINE=1` and names what is missing and the command that fetches it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mcp_docvl.errors import EngineError

# Files of a referenced (code) repository that `fetch` leaves out: the model's own checkpoint holds the weights of
# the modules built from that code (Nemotron's vision tower weights are in the model's safetensors).
_WEIGHT_PATTERNS = ["*.safetensors", "*.bin", "*.pt", "*.pth", "*.ckpt", "*.onnx", "*.msgpack", "*.h5", "*.gguf"]


def fetch_command(model_id: str) -> str:
    return f"mcp-docvl model fetch {model_id}"


def code_references(config: Any) -> Iterator[tuple[str, str]]:
    """(repository, module file) of every `auto_map` entry of the form "owner/name--module.Class", at any depth."""
    if isinstance(config, dict):
        for key, value in config.items():
            if key == "auto_map" and isinstance(value, dict):
                for ref in value.values():
                    for item in ref if isinstance(ref, list | tuple) else [ref]:
                        if isinstance(item, str) and "--" in item:
                            repo, _, name = item.partition("--")
                            yield repo, name.rsplit(".", 1)[0] + ".py"
            else:
                yield from code_references(value)
    elif isinstance(config, list):
        for item in config:
            yield from code_references(item)


def _read_config(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise EngineError(f"Cannot read the model config {path} ({exc}).",
                          "Fetch the model again, or point DOCVL_VLM_MODEL at a directory with a config.json."
                          ) from None


def fetch(model_id: str, cache_dir: str | Path | None = None, revision: str | None = None) -> list[tuple[str, str]]:
    """Download `model_id` (all files) and the code repositories its config references (without weight files).

    Returns (repository, local path) of each, model first. Uses the standard hub cache (HF_HOME / HF_HUB_CACHE), so
    a later `serve` finds everything with `HF_HUB_OFFLINE=1`.
    """
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    done: list[tuple[str, str]] = []
    pending: list[tuple[str, str | None, bool]] = [(model_id, revision, True)]
    seen: set[str] = set()
    while pending:
        repo, rev, whole = pending.pop(0)
        if repo in seen:
            continue
        seen.add(repo)
        try:
            path = snapshot_download(repo, revision=rev, cache_dir=cache_dir,
                                     ignore_patterns=None if whole else _WEIGHT_PATTERNS)
        except LocalEntryNotFoundError:
            raise EngineError(f"{repo!r} is not in the local Hugging Face cache and HF_HUB_OFFLINE=1 forbids "
                              "downloading it.", f"Unset HF_HUB_OFFLINE and run `{fetch_command(model_id)}` again."
                              ) from None
        except (HfHubHTTPError, OSError, ValueError) as exc:
            raise EngineError(f"Could not download {repo!r} from the Hugging Face Hub ({type(exc).__name__}: "
                              f"{str(exc)[:300]}).",
                              "Check the id, your network and HF_TOKEN (gated models need an accepted licence); "
                              "HF_HUB_OFFLINE must not be set while fetching.") from None
        done.append((repo, path))
        config = Path(path) / "config.json"
        if config.exists():
            pending += [(ref, None, False) for ref, _ in code_references(_read_config(config))]
    return done


def _cached(repo: str, filename: str) -> Path | None:
    from huggingface_hub import try_to_load_from_cache
    from huggingface_hub.errors import HFValidationError

    try:
        found = try_to_load_from_cache(repo, filename)
    except HFValidationError:  # not a hub id at all (a path that does not exist)
        return None
    return Path(found) if isinstance(found, str) else None


def check_offline(source: str) -> None:
    """With HF_HUB_OFFLINE=1: the model (a local directory or a cached hub id) and every code repository its config
    references must be on disk; otherwise an error naming the missing repository and the command that fetches it."""
    from huggingface_hub import constants

    if not constants.HF_HUB_OFFLINE:
        return
    local = Path(source).expanduser()
    looks_local = local.exists() or source.startswith((".", "/", "~")) or source.count("/") > 1
    config_path = local / "config.json" if local.is_dir() else None if looks_local else _cached(source, "config.json")
    if config_path is None or not config_path.exists():
        if looks_local:
            raise EngineError(f"The model directory {source!r} has no config.json.",
                              "Point DOCVL_VLM_MODEL at the directory `hf download` or `mcp-docvl model fetch` made.")
        raise EngineError(f"The model {source!r} is not in the local Hugging Face cache and HF_HUB_OFFLINE=1 forbids "
                          "downloading it.", f"Run `{fetch_command(source)}` once (online), then start again.")
    model_id = source if not local.is_dir() else "<the model's hub id>"
    for repo, module in code_references(_read_config(config_path)):
        if _cached(repo, module) is None:
            raise EngineError(
                f"The model's config loads code from another repository, {repo!r} ({module}), which is not in the "
                "local Hugging Face cache; with HF_HUB_OFFLINE=1 the model cannot load.",
                f"Run `{fetch_command(model_id)}` once (online; it fetches {repo} too), or "
                f"`hf download {repo} --exclude '*.safetensors'`.")
