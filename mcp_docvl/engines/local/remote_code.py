"""Loading a model's remote (Hub) code under transformers 5: what its authors wrote for transformers 4 and how the
engine copes (finished initialisation, its processor class loaded directly, load failures as clear errors)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mcp_docvl.engines.local import hub
from mcp_docvl.errors import EngineError


def finishing_init(model_class: type) -> type:
    """`model_class` with `post_init()` run after `__init__` when the model's own code skipped it.

    Remote code written for transformers 4 (Nemotron Nano VL's) never calls `post_init()`; transformers 5 needs what
    it sets (`all_tied_weights_keys`...) inside `from_pretrained`, which then fails with an AttributeError.
    """

    class Finished(model_class):
        def __init__(self, config, *args, **kwargs):
            super().__init__(config, *args, **kwargs)
            if "all_tied_weights_keys" not in self.__dict__:
                self.post_init()

    Finished.__name__ = model_class.__name__
    Finished.__qualname__ = model_class.__qualname__
    Finished.__module__ = model_class.__module__
    return Finished


def remote_image_processor(source: str) -> Any:
    """The model's own image processor class, loaded from its `auto_map` directly: some transformers versions (5.17)
    make `AutoImageProcessor` a placeholder demanding torchvision even for a processor that does not use it."""
    import transformers
    from transformers.dynamic_module_utils import get_class_from_dynamic_module
    from transformers.utils import cached_file

    path = cached_file(source, "preprocessor_config.json", _raise_exceptions_for_missing_entries=False)
    reference = json.loads(Path(path).read_text()).get("auto_map", {}).get("AutoImageProcessor") if path else None
    if reference:
        return get_class_from_dynamic_module(reference, source).from_pretrained(source)
    return transformers.AutoImageProcessor.from_pretrained(source, trust_remote_code=True)


# Modules remote vision-language code imports that are not our dependencies, and what to install for them.
_REMOTE_PACKAGES = {"timm": "timm", "einops": "einops", "open_clip": "open-clip-torch"}


def load_error(source: str, exc: BaseException) -> EngineError:
    """A load failure as an error that says what to do."""
    import transformers

    if isinstance(exc, ImportError):
        text = str(exc)
        missing = [pip for module, pip in _REMOTE_PACKAGES.items() if module in text or exc.name == module]
        packages = " ".join(missing) or (exc.name or "the missing package")
        return EngineError(f"The model {source!r} needs Python packages that are not installed ({text[:300]}).",
                           f"pip install 'mcp-docvl[nemotron]' (or: pip install {packages}), then start again.")
    if isinstance(exc, AttributeError | TypeError | NotImplementedError):
        return EngineError(
            f"The model's own code failed to load under transformers {transformers.__version__} "
            f"({type(exc).__name__}: {str(exc)[:300]}).",
            "Its remote code may not support this transformers version: use the version its model card names, "
            "or serve it with vLLM and --engine openai.")
    local = Path(source).expanduser().exists()
    return EngineError(
        f"Could not load the vision-language model {source!r} ({type(exc).__name__}: {str(exc)[:300]}).",
        "Point DOCVL_VLM_MODEL at a directory holding the model's files (config, weights, processor)."
        if local else
        f"Download it once with `{hub.fetch_command(source)}` (or set DOCVL_VLM_MODEL to a local directory); "
        "the server never downloads weights by itself when HF_HUB_OFFLINE=1.")
