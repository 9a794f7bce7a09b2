"""Random-weight vision-language models of a chosen shape, built in-process (no downloads).

Tests load a tiny one through the real `transformers` engine path; `tools/bench_gpu.py` builds one of the real
Nemotron Nano VL sizes (Llama-3.1-8B language model, ViT-H/16 encoder on 512 px tiles, 2x2 pixel shuffle to 256
tokens a tile) to measure speed. Idefics3 is the transformers architecture with that shape: SigLIP-style ViT,
pixel-shuffle connector, Llama decoder, and an image processor that cuts a page into tiles plus a thumbnail.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# Tokens the Idefics3 processor writes around image tiles; the tokenizer must know them as single tokens.
_SPECIAL = ["<|pad|>", "<|bos|>", "<|eos|>", "<fake_token_around_image>", "<image>", "<global-img>",
            "<end_of_utterance>"]
_CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}{{ message['role'] | capitalize }}:"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}<image>{% else %}{{ part['text'] }}{% endif %}{% endfor %}{% endif %}"
    "<end_of_utterance>\n{% endfor %}{% if add_generation_prompt %}Assistant:{% endif %}"
)


@dataclass(frozen=True)
class ModelShape:
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    intermediate: int
    vocab: int
    vision_hidden: int
    vision_layers: int
    vision_heads: int
    vision_intermediate: int
    patch: int
    tile: int
    # Longest page edge before tiling: 4 tiles of 512 px give 3x4 = 12 tiles for a portrait page, + thumbnail.
    longest_edge: int
    max_positions: int
    init: float = 0.02
    # Text tokens learnt by byte-pair merges (0: one token a byte). The real models' tokenizers write English in
    # ~4 characters a token and the tile markers as single tokens; a benchmark of the real sizes must too, or its
    # prompts come out ~10% longer than the real model's.
    merges_vocab: int = 0


TINY = ModelShape(hidden=64, layers=2, heads=4, kv_heads=2, intermediate=128, vocab=512, vision_hidden=32,
                  vision_layers=2, vision_heads=2, vision_intermediate=64, patch=8, tile=64, longest_edge=128,
                  max_positions=4096, init=0.5)
# Llama-3.1-8B + ViT-H/16 (CRadioV2-H has the ViT-H shape: 1280 wide, 32 layers, 16 heads, MLP 5120).
NEMOTRON_NANO_VL_8B = ModelShape(hidden=4096, layers=32, heads=32, kv_heads=8, intermediate=14336, vocab=128256,
                                 vision_hidden=1280, vision_layers=32, vision_heads=16, vision_intermediate=5120,
                                 patch=16, tile=512, longest_edge=2048, max_positions=16384, merges_vocab=8000)


def build_processor(shape: ModelShape):
    """An Idefics3 processor with a byte-level BPE tokenizer built by the `tokenizers` library."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import Idefics3Processor, PreTrainedTokenizerFast
    try:  # the torchvision backend is several times faster on 2048 px pages; PIL serves where it is missing
        import torchvision  # noqa: F401
        from transformers.models.idefics3.image_processing_idefics3 import Idefics3ImageProcessor
    except ImportError:
        from transformers.models.idefics3.image_processing_pil_idefics3 import (
            Idefics3ImageProcessorPil as Idefics3ImageProcessor,
        )

    alphabet = pre_tokenizers.ByteLevel.alphabet()
    if shape.merges_vocab:
        # Idefics3 writes "<row_R_col_C>" before each tile; its real tokenizers hold them as single tokens.
        special = _SPECIAL + [f"<row_{r}_col_{c}>" for r in range(1, 7) for c in range(1, 7)]
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        trainer = trainers.BpeTrainer(vocab_size=shape.merges_vocab, special_tokens=special,
                                      initial_alphabet=alphabet, show_progress=False)
        tok.train_from_iterator(_english_text(), trainer)
    else:
        special = _SPECIAL
        vocab = {token: index for index, token in enumerate(_SPECIAL + sorted(alphabet))}
        tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens(special)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|bos|>", eos_token="<|eos|>",
                                        pad_token="<|pad|>", padding_side="left")
    image_processor = Idefics3ImageProcessor(size={"longest_edge": shape.longest_edge},
                                                max_image_size={"longest_edge": shape.tile})
    seq_len = (shape.tile // shape.patch) ** 2 // 4
    return Idefics3Processor(image_processor=image_processor, tokenizer=tokenizer, image_seq_len=seq_len,
                             chat_template=_CHAT_TEMPLATE)


def _english_text() -> list[str]:
    """English prose to learn merges from, found offline in any Python: the standard library's docstrings."""
    import importlib
    import inspect

    texts = []
    for name in ("argparse", "collections", "csv", "datetime", "email", "json", "logging", "pathlib", "string",
                 "subprocess", "textwrap", "threading", "unittest", "urllib.request", "zipfile"):
        module = importlib.import_module(name)
        texts.append(inspect.getdoc(module) or "")
        texts += [inspect.getdoc(obj) or "" for _, obj in inspect.getmembers(module) if inspect.isclass(obj)
                  or inspect.isfunction(obj)]
    return [t for t in texts if t]


def build_config(shape: ModelShape, processor):
    from transformers import Idefics3Config

    tokenizer = processor.tokenizer
    config = Idefics3Config(
        image_token_id=tokenizer.convert_tokens_to_ids("<image>"),
        scale_factor=2,
        # Wider than the default 0.02 so that a tiny random model's greedy output depends on its input.
        initializer_range=shape.init,
        tie_word_embeddings=False,
        vision_config={"hidden_size": shape.vision_hidden, "num_hidden_layers": shape.vision_layers,
                       "num_attention_heads": shape.vision_heads, "intermediate_size": shape.vision_intermediate,
                       "patch_size": shape.patch, "image_size": shape.tile, "initializer_range": shape.init},
        text_config={"model_type": "llama", "hidden_size": shape.hidden, "num_hidden_layers": shape.layers,
                     "num_attention_heads": shape.heads, "num_key_value_heads": shape.kv_heads,
                     "intermediate_size": shape.intermediate, "vocab_size": shape.vocab,
                     "max_position_embeddings": shape.max_positions, "rope_theta": 500000.0,
                     "pad_token_id": tokenizer.pad_token_id, "bos_token_id": tokenizer.bos_token_id,
                     "eos_token_id": tokenizer.eos_token_id, "tie_word_embeddings": False,
                     "initializer_range": shape.init},
    )
    return config


def build_model(shape: ModelShape, processor, dtype=None, device: str = "cpu", seed: int = 0):
    """Random weights (seeded), built straight on `device` so an 8B model never passes through host memory."""
    import torch
    from transformers import AutoModelForImageTextToText

    torch.manual_seed(seed)
    config = build_config(shape, processor)
    with torch.device(device):
        model = AutoModelForImageTextToText.from_config(config, dtype=dtype or torch.float32)
    model.generation_config.pad_token_id = processor.tokenizer.pad_token_id
    model.generation_config.eos_token_id = processor.tokenizer.eos_token_id
    return model.eval()


def save_random_model(path: str | Path, shape: ModelShape = TINY, seed: int = 0) -> Path:
    """Write a random model + processor to `path`, loadable with `from_pretrained` like any downloaded one."""
    path = Path(path)
    processor = build_processor(shape)
    model = build_model(shape, processor, seed=seed)
    model.save_pretrained(path)
    processor.save_pretrained(path)
    return path
