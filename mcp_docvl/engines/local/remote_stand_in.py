"""A random-weight vision-language model in the remote-code style of Llama Nemotron Nano VL, written by this project.

NVIDIA's modeling code cannot be downloaded here, so this module writes our own code in the same style and with the
same traits the engine has to cope with (see ../shared notes on the real model):

- two repositories: the model's, and a second one holding the vision tower's code, which the model's config names in
  `vision_config.auto_map` as `"<repo>--hf_model.RADIOModel"` (as `nvidia/C-RADIOv2-H` is named), so reading the
  config loads code from the second repository;
- a model class whose `__init__` never calls `post_init()` (transformers >= 5 then fails in `from_pretrained`), and
  forces its language model and projector to bf16;
- an image processor that overrides the old `_process_image` hook (a 2x pre-upscale) that transformers 5 no longer
  calls, and tiles pages with Nemotron's dynamic preprocessing (512 px tiles up to 12, + a thumbnail);
- a Llama-3 chat template ending turns with `<|eot_id|>`, while the language model's config names another EOS id;
- `extract_feature` (vision tower -> pixel shuffle 0.5 -> MLP projector) and a `chat()` reference method.

`TINY` is for tests on a CPU; `NEMOTRON_NANO_VL_8B` has the real sizes (Llama-3.1-8B language model, ViT-H/16 vision
tower on 512 px tiles: 1024 patches -> 256 tokens a tile, MLP projector) for `tools/build_stand_in.py` on a GPU.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, replace
from pathlib import Path

from mcp_docvl.engines.local import random_model
from mcp_docvl.engines.local.random_model import ModelShape

# The code files of the two repositories, as the model's authors would publish them.
VISION_CODE = '''
import torch
from torch import nn
from transformers import PretrainedConfig, PreTrainedModel
from transformers.modeling_outputs import BaseModelOutput


class RADIOConfig(PretrainedConfig):
    model_type = "docvl_radio"

    def __init__(self, hidden_size=1280, num_hidden_layers=32, num_attention_heads=16, intermediate_size=5120,
                 patch_size=16, image_size=512, **kwargs):
        # PretrainedConfig keeps every keyword it does not know as an attribute.
        super().__init__(hidden_size=hidden_size, num_hidden_layers=num_hidden_layers,
                         num_attention_heads=num_attention_heads, intermediate_size=intermediate_size,
                         patch_size=patch_size, image_size=image_size, **kwargs)


class Block(nn.Module):
    def __init__(self, config):
        super().__init__()
        width = config.hidden_size
        self.heads = config.num_attention_heads
        self.norm1 = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.norm2 = nn.LayerNorm(width)
        self.fc1 = nn.Linear(width, config.intermediate_size)
        self.fc2 = nn.Linear(config.intermediate_size, width)

    def forward(self, x):
        b, n, c = x.shape
        q, k, v = self.qkv(self.norm1(x)).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        attn = nn.functional.scaled_dot_product_attention(q, k, v)
        x = x + self.proj(attn.transpose(1, 2).reshape(b, n, c))
        return x + self.fc2(nn.functional.gelu(self.fc1(self.norm2(x))))


class RADIOModel(PreTrainedModel):
    config_class = RADIOConfig
    main_input_name = "pixel_values"

    def __init__(self, config):
        super().__init__(config)
        grid = config.image_size // config.patch_size
        self.patch_embed = nn.Conv2d(3, config.hidden_size, config.patch_size, config.patch_size)
        self.pos_embed = nn.Parameter(torch.zeros(1, grid * grid, config.hidden_size))
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.num_hidden_layers))
        self.norm = nn.LayerNorm(config.hidden_size)
        self.post_init()

    def forward(self, pixel_values):
        x = self.patch_embed(pixel_values).flatten(2).transpose(1, 2) + self.pos_embed
        for block in self.blocks:
            x = block(x)
        return BaseModelOutput(last_hidden_state=self.norm(x))
'''

CONFIG_CODE = '''
from transformers import LlamaConfig, PretrainedConfig
from transformers.dynamic_module_utils import get_class_from_dynamic_module


class NanoVLConfig(PretrainedConfig):
    model_type = "docvl_nano_vl"

    def __init__(self, vision_config=None, llm_config=None, force_image_size=512, patch_size=16,
                 downsample_ratio=0.5, vit_hidden_size=1280, projector_hidden_size=4096, image_tag_type="internvl",
                 img_context_token_id=None, **kwargs):
        # PretrainedConfig keeps every keyword it does not know as an attribute.
        super().__init__(force_image_size=force_image_size, patch_size=patch_size, downsample_ratio=downsample_ratio,
                         vit_hidden_size=vit_hidden_size, projector_hidden_size=projector_hidden_size,
                         image_tag_type=image_tag_type, img_context_token_id=img_context_token_id, **kwargs)
        vision_config = dict(vision_config or {})
        if vision_config.get("auto_map"):  # the vision tower's code lives in another repository
            self.vision_config = get_class_from_dynamic_module(vision_config["auto_map"]["AutoConfig"], "")(
                **vision_config)
        else:
            self.vision_config = PretrainedConfig(**vision_config)
        self.llm_config = llm_config if isinstance(llm_config, LlamaConfig) else LlamaConfig(**(llm_config or {}))

    def to_dict(self):
        out = super().to_dict()
        out["vision_config"] = self.vision_config.to_dict()
        out["llm_config"] = self.llm_config.to_dict()
        return out
'''

MODEL_CODE = '''
import torch
from torch import nn
from transformers import AutoModel, LlamaForCausalLM, PreTrainedModel

from .configuration_nano_vl import NanoVLConfig


class NanoVLModel(PreTrainedModel):
    config_class = NanoVLConfig
    main_input_name = "pixel_values"
    _no_split_modules = ["LlamaDecoderLayer"]

    def __init__(self, config):
        super().__init__(config)
        self.num_image_token = int((config.force_image_size // config.patch_size) ** 2 * config.downsample_ratio ** 2)
        self.downsample_ratio = config.downsample_ratio
        self.vision_model = AutoModel.from_config(config.vision_config, trust_remote_code=True)
        self.language_model = LlamaForCausalLM(config.llm_config)
        width = config.vit_hidden_size * int(1 / config.downsample_ratio) ** 2
        self.mlp1 = nn.Sequential(nn.LayerNorm(width), nn.Linear(width, config.projector_hidden_size), nn.GELU(),
                                  nn.Linear(config.projector_hidden_size, config.llm_config.hidden_size))
        # As published: the language model and projector in bf16 whatever the caller asked, and no post_init().
        self.language_model = self.language_model.to(torch.bfloat16)
        self.mlp1 = self.mlp1.to(torch.bfloat16)
        self.img_context_token_id = config.img_context_token_id

    def pixel_shuffle(self, x, scale_factor=0.5):
        n, w, h, c = x.size()
        x = x.view(n, w, int(h * scale_factor), int(c / scale_factor))
        x = x.permute(0, 2, 1, 3).contiguous()
        x = x.view(n, int(h * scale_factor), int(w * scale_factor), int(c / (scale_factor * scale_factor)))
        return x.permute(0, 2, 1, 3).contiguous()

    def extract_feature(self, pixel_values):
        vit = self.vision_model(pixel_values.to(self.vision_model.dtype)).last_hidden_state
        side = int(vit.shape[1] ** 0.5)
        vit = self.pixel_shuffle(vit.reshape(vit.shape[0], side, side, -1), scale_factor=self.downsample_ratio)
        vit = vit.reshape(vit.shape[0], -1, vit.shape[-1])
        return self.mlp1(vit.to(self.mlp1[1].weight.dtype))

    @torch.inference_mode()
    def chat(self, tokenizer, pixel_values, question, generation_config):
        """The reference answer: one image, the chat template, greedy, stopping at the end of the turn."""
        eot = tokenizer.convert_tokens_to_ids("<|eot_id|>")
        tiles = pixel_values.shape[0]
        query = question if "<image>" in question else "<image>\\n" + question
        prompt = tokenizer.apply_chat_template([{"role": "user", "content": query}], tokenize=False,
                                               add_generation_prompt=True)
        prompt = prompt.replace("<image>", "<img>" + "<image>" * (self.num_image_token * tiles) + "</img>", 1)
        ids = tokenizer(prompt, add_special_tokens=False, return_tensors="pt")["input_ids"].to(self.device)
        embeds = self.language_model.get_input_embeddings()(ids)
        feats = self.extract_feature(pixel_values)
        mask = (ids == self.img_context_token_id).unsqueeze(-1).expand_as(embeds)
        embeds = embeds.masked_scatter(mask, feats.reshape(-1, feats.shape[-1]).to(embeds.dtype))
        out = self.language_model.generate(inputs_embeds=embeds, attention_mask=torch.ones_like(ids),
                                           eos_token_id=eot, **generation_config)
        return tokenizer.decode(out[0], skip_special_tokens=True)
'''

PROCESSOR_CODE = '''
import numpy as np
import torch
from PIL import Image
from transformers.image_processing_backends import PilBackend
from transformers.image_processing_utils import BatchFeature


def find_closest_aspect_ratio(aspect_ratio, target_ratios, width, height, image_size):
    best_factor, best_ratio = float("-inf"), (1, 1)
    area = width * height
    for rw, rh in target_ratios:
        target = rw / rh
        factor = min(rw * rh * image_size * image_size / area, 0.6) * min(target / aspect_ratio, aspect_ratio / target)
        if factor > best_factor:
            best_factor, best_ratio = factor, (rw, rh)
    return best_ratio


def dynamic_preprocess(image, min_num=1, max_num=12, image_size=512, use_thumbnail=True):
    width, height = image.size
    ratios = sorted({(i, j) for n in range(min_num, max_num + 1) for i in range(1, n + 1) for j in range(1, n + 1)
                     if min_num <= i * j <= max_num}, key=lambda r: r[0] * r[1])
    cols, rows = find_closest_aspect_ratio(width / height, ratios, width, height, image_size)
    resized = image.resize((image_size * cols, image_size * rows))
    tiles = [resized.crop(((i % cols) * image_size, (i // cols) * image_size, (i % cols + 1) * image_size,
                           (i // cols + 1) * image_size)) for i in range(cols * rows)]
    if use_thumbnail and len(tiles) != 1:
        tiles.append(image.resize((image_size, image_size)))
    return tiles


class NanoVLImageProcessor(PilBackend):
    model_input_names = ["pixel_values"]

    def __init__(self, image_size=512, max_num_tiles=12, use_thumbnail=True, norm_mean=(0.48145466, 0.4578275,
                 0.40821073), norm_std=(0.26862954, 0.26130258, 0.27577711), **kwargs):
        super().__init__(**kwargs)
        self.image_size = image_size
        self.max_num_tiles = max_num_tiles
        self.use_thumbnail = use_thumbnail
        self.norm_mean = list(norm_mean)
        self.norm_std = list(norm_std)

    def _process_image(self, image, **kwargs):
        """The hook transformers 4 called for each input image: pages are upscaled 2x before tiling."""
        image = image.convert("RGB")
        image = image.resize((image.width * 2, image.height * 2), Image.Resampling.BICUBIC)
        return torch.from_numpy(np.asarray(image).copy()).permute(2, 0, 1)

    def _preprocess(self, images, **kwargs):
        mean = np.asarray(self.norm_mean, dtype=np.float32)[:, None, None]
        std = np.asarray(self.norm_std, dtype=np.float32)[:, None, None]
        out = []
        for chw in images:
            array = chw.numpy() if hasattr(chw, "numpy") else np.asarray(chw)
            page = Image.fromarray(np.ascontiguousarray(np.moveaxis(array, 0, -1)).astype(np.uint8))
            for tile in dynamic_preprocess(page, max_num=self.max_num_tiles, image_size=self.image_size,
                                           use_thumbnail=self.use_thumbnail):
                out.append((np.asarray(tile, dtype=np.float32).transpose(2, 0, 1) / 255.0 - mean) / std)
        return BatchFeature(data={"pixel_values": torch.from_numpy(np.stack(out))}, tensor_type=None)
'''

CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}<|start_header_id|>{{ message['role'] }}<|end_header_id|>\n\n"
    "{{ message['content'] | trim }}<|eot_id|>{% endfor %}"
    "{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}"
)
_SPECIAL = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>",
            "<|finetune_right_pad_id|>", "<img>", "</img>", "<image>"]


# The shapes of random_model.py (tiny; Llama-3.1-8B + ViT-H/16 on 512 px tiles), with Nemotron's vocabulary of
# 128,512 at the real sizes. The projector is 4 x vision width -> LM width -> LM width.
TINY = random_model.TINY
NEMOTRON_NANO_VL_8B = replace(random_model.NEMOTRON_NANO_VL_8B, vocab=128512)


def _tokenizer(shape: ModelShape):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    alphabet = pre_tokenizers.ByteLevel.alphabet()
    tok = Tokenizer(models.BPE() if shape.merges_vocab else models.BPE(
        vocab={t: i for i, t in enumerate(_SPECIAL + sorted(alphabet))}, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    if shape.merges_vocab:
        tok.train_from_iterator(random_model._english_text(), trainers.BpeTrainer(
            vocab_size=shape.merges_vocab, special_tokens=_SPECIAL, initial_alphabet=alphabet, show_progress=False))
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens(_SPECIAL)
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|begin_of_text|>", eos_token="<|end_of_text|>",
                                   pad_token="<|finetune_right_pad_id|>", chat_template=CHAT_TEMPLATE)


def _import_file(path: Path, name: str):
    """A module from a written code file (the builder runs the code it publishes, as transformers will)."""
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def write_vision_repo(directory: str | Path, shape: ModelShape) -> Path:
    """The second repository: the vision tower's code and config (its weights ship in the model's repository)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "hf_model.py").write_text(VISION_CODE)
    (directory / "config.json").write_text(json.dumps({
        "model_type": "docvl_radio", "auto_map": {"AutoConfig": "hf_model.RADIOConfig",
                                                  "AutoModel": "hf_model.RADIOModel"},
        **_vision_fields(shape)}, indent=1))
    return directory


def _vision_fields(shape: ModelShape) -> dict:
    return {"hidden_size": shape.vision_hidden, "num_hidden_layers": shape.vision_layers,
            "num_attention_heads": shape.vision_heads, "intermediate_size": shape.vision_intermediate,
            "patch_size": shape.patch, "image_size": shape.tile}


def write_model_repo(directory: str | Path, vision_dir: str | Path, vision_repo_id: str, shape: ModelShape = TINY,
                     seed: int = 0, device: str = "cpu") -> Path:
    """The model's repository: code, config (vision code referenced in `vision_repo_id`), tokenizer, processor and
    random weights (seeded), built on `device` in bf16 (fp32 for the vision tower), saved as safetensors."""
    import torch
    from safetensors.torch import save_file

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for name, code in (("configuration_nano_vl.py", CONFIG_CODE), ("modeling_nano_vl.py", MODEL_CODE),
                       ("image_processing_nano_vl.py", PROCESSOR_CODE)):
        (directory / name).write_text(code)
    tokenizer = _tokenizer(shape)
    tokenizer.save_pretrained(directory)
    image_token = tokenizer.convert_tokens_to_ids("<image>")
    vision = {**_vision_fields(shape), "model_type": "docvl_radio",
              "auto_map": {"AutoConfig": f"{vision_repo_id}--hf_model.RADIOConfig",
                           "AutoModel": f"{vision_repo_id}--hf_model.RADIOModel"}}
    llm = {"model_type": "llama", "hidden_size": shape.hidden, "num_hidden_layers": shape.layers,
           "num_attention_heads": shape.heads, "num_key_value_heads": shape.kv_heads,
           "intermediate_size": shape.intermediate, "vocab_size": shape.vocab,
           "max_position_embeddings": shape.max_positions, "rope_theta": 500000.0, "tie_word_embeddings": False,
           "bos_token_id": tokenizer.bos_token_id, "eos_token_id": tokenizer.eos_token_id,  # not <|eot_id|>
           "pad_token_id": tokenizer.pad_token_id, "architectures": ["LlamaForCausalLM"]}
    config = {"architectures": ["NanoVLModel"], "model_type": "docvl_nano_vl",
              "auto_map": {"AutoConfig": "configuration_nano_vl.NanoVLConfig",
                           "AutoModel": "modeling_nano_vl.NanoVLModel"},
              "vision_config": vision, "llm_config": llm, "force_image_size": shape.tile, "patch_size": shape.patch,
              "downsample_ratio": 0.5, "vit_hidden_size": shape.vision_hidden,
              "projector_hidden_size": shape.hidden, "image_tag_type": "internvl",
              "img_context_token_id": image_token, "torch_dtype": "bfloat16"}
    (directory / "config.json").write_text(json.dumps(config, indent=1))
    (directory / "preprocessor_config.json").write_text(json.dumps({
        "image_processor_type": "NanoVLImageProcessor",
        "auto_map": {"AutoImageProcessor": "image_processing_nano_vl.NanoVLImageProcessor"},
        "image_size": shape.tile, "max_num_tiles": 12, "use_thumbnail": True}, indent=1))
    # Weights: the published code run from the written files, the vision config built from the second repository.
    vision_module = _import_file(Path(vision_dir) / "hf_model.py", "docvl_stand_in_vision")
    vision_config = vision_module.RADIOConfig(**_vision_fields(shape))
    torch.manual_seed(seed)
    with torch.device(device):
        tower = vision_module.RADIOModel(vision_config)
        from transformers import LlamaConfig, LlamaForCausalLM

        lm = LlamaForCausalLM(LlamaConfig(**{k: v for k, v in llm.items() if k != "model_type"})).to(torch.bfloat16)
        width = shape.vision_hidden * 4
        mlp1 = torch.nn.Sequential(torch.nn.LayerNorm(width), torch.nn.Linear(width, shape.hidden),
                                   torch.nn.GELU(), torch.nn.Linear(shape.hidden, shape.hidden))
        with torch.no_grad():
            for module in (tower, lm, mlp1):
                for name, param in module.named_parameters():
                    if param.dim() > 1:
                        param.normal_(0.0, shape.init)
                    elif "norm" in name or name.endswith(".0.weight"):
                        param.fill_(1.0)
                    else:
                        param.zero_()
    state = {f"vision_model.{k}": v for k, v in tower.state_dict().items()}
    state |= {f"language_model.{k}": v for k, v in lm.state_dict().items()}
    state |= {f"mlp1.{k}": v.to(torch.bfloat16) for k, v in mlp1.state_dict().items()}
    save_file({k: v.contiguous() for k, v in state.items()}, directory / "model.safetensors", metadata={"format": "pt"})
    del tower, lm, mlp1, state
    return directory


def put_in_hub_cache(cache_dir: str | Path, repo_id: str, source: str | Path, commit: str = "0" * 40) -> Path:
    """Lay `source`'s files out as `huggingface_hub` caches a downloaded repository (what `model fetch` leaves),
    so offline loading finds `repo_id` there."""
    repo = Path(cache_dir) / ("models--" + repo_id.replace("/", "--"))
    snapshot = repo / "snapshots" / commit
    if snapshot.exists():
        shutil.rmtree(snapshot)
    # Links, as the hub's own cache links snapshots to blobs: a real-size model is not copied twice.
    shutil.copytree(Path(source).resolve(), snapshot, copy_function=os.symlink)
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(commit)
    return snapshot


def build(root: str | Path, cache_dir: str | Path, repo_id: str = "docvl-stand-in/nano-vl",
          vision_repo_id: str = "docvl-stand-in/radio", shape: ModelShape = TINY, device: str = "cpu",
          seed: int = 0) -> Path:
    """Both repositories written under `root` and laid out in the hub cache `cache_dir`; returns the model's local
    directory (load it by that path, or by `repo_id` through the cache)."""
    root = Path(root)
    vision = write_vision_repo(root / "vision", shape)
    model = write_model_repo(root / "model", vision, vision_repo_id, shape, seed=seed, device=device)
    put_in_hub_cache(cache_dir, vision_repo_id, vision)
    put_in_hub_cache(cache_dir, repo_id, model)
    (root / "shape.json").write_text(json.dumps(asdict(shape)))
    return model
