"""Greedy decoding of a batch of prompts over a KV cache the decoder owns, one CUDA graph per decoding step.

Why not `generate`: at batch 1 an 8B model reads its 16 GB of weights in ~5.5 ms a token on an H100, but
`generate`'s Python loop (logits processors, stopping criteria, cache bookkeeping, a compiled step it calls out to)
doubled that. Here a whole step (embed the last token, run the decoder, take the argmax, advance the positions) is
recorded once as a CUDA graph and replayed: the CPU only launches it.

How a batch goes:
- Prefill runs prompts of one length together, a few at a time (`prefill_groups`: no padding, so SDPA takes its
  causal flash kernel, and a batch of 64 needs the activations of a few prompts, not 64), into a throwaway
  `DynamicCache` whose keys and values are then copied into the decoder's own cache, right-aligned so every row's
  next token lands in the same cache slot.
- The cache is sized to the longest prompt + the answer, rounded up to `SLOT_BUCKET` (not a fixed 5,120: every
  step reads the whole cache). A 4D boolean mask (True = attend) hides the left padding and the slots not yet
  written, so the decoder's mask code returns it as is and never asks the cache anything.
- Every row stops at its own end-of-sequence token; the loop stops when every row has, or `should_stop` says so.

Architectures with one rotary position per token and full attention in every layer only (Llama, Qwen2/3, Granite,
Mistral without a sliding window); `unsupported_reason` says why another model stays on `generate`.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from mcp_docvl.engines.local.decode_attention import to_fp8

log = logging.getLogger(__name__)

# Cache lengths are rounded up to this many slots, so requests of similar length share one recorded graph.
SLOT_BUCKET = 256
# A recorded cache this much longer than a request needs is still reused (reading it costs less than recording).
REUSE_SLACK = 1024
# Prompts of one length are prefilled together up to this many tokens a forward pass (an 8B Llama: ~2 GB of
# activations and ~2 GB of scratch keys and values, beside a decoding cache of tens of GB).
PREFILL_TOKENS = 16384
# Steps between the checks (a device sync) of whether every row has finished or every caller has given up.
CHECK_EVERY = 16
_SUPPORTED = {"llama", "mistral", "qwen2", "qwen3", "granite"}


def unsupported_reason(model: Any) -> str | None:
    """Why `model` cannot use this decoder (None when it can)."""
    config = model.config.get_text_config()
    kind = getattr(config, "model_type", "")
    if kind not in _SUPPORTED:
        return f"text model type {kind!r} is not one of {sorted(_SUPPORTED)}"
    window = getattr(config, "sliding_window", None)
    if window and getattr(config, "use_sliding_window", True) and kind != "qwen2":
        return "sliding-window attention"
    if kind == "qwen2" and getattr(config, "use_sliding_window", False):
        return "sliding-window attention"
    rope = getattr(config, "rope_scaling", None) or getattr(config, "rope_parameters", None) or {}
    if isinstance(rope, dict) and "mrope_section" in rope:
        return "multimodal rotary positions"
    generation = getattr(model, "generation_config", None)
    if generation is not None and (getattr(generation, "repetition_penalty", None) or 1.0) != 1.0:
        return "a repetition penalty in the generation config"
    if generation is not None and getattr(generation, "no_repeat_ngram_size", None):
        return "no_repeat_ngram_size in the generation config"
    try:
        decoder = model.get_decoder()
    except (AttributeError, NotImplementedError):
        return "no get_decoder()"
    if model.get_output_embeddings() is None or "position_ids" not in inspect.signature(decoder.forward).parameters:
        return "no output embeddings or position ids"
    return None


class _SlotCache:
    """The decoder's KV cache: `update` writes this step's keys and values into slot `slot` of every row.

    Duck-types the one method of transformers' `Cache` that attention layers call; with a 4D mask given, the mask
    code returns early and asks the cache nothing else.
    """

    def __init__(self, keys: list[Any], values: list[Any], slot: Any) -> None:
        self.keys = keys
        self.values = values
        self.slot = slot

    def update(self, key_states, value_states, layer_idx: int, *args: Any, **kwargs: Any):
        keys, values = self.keys[layer_idx], self.values[layer_idx]
        _bytes(keys).index_copy_(2, self.slot, _bytes(_stored(key_states, keys.dtype)))
        _bytes(values).index_copy_(2, self.slot, _bytes(_stored(value_states, values.dtype)))
        return keys, values


def _stored(tensor: Any, dtype: Any) -> Any:
    """`tensor` in the cache's dtype: a float8 cache gets clamped values (a plain cast of a large one is NaN)."""
    if tensor.dtype == dtype:
        return tensor
    return to_fp8(tensor, dtype) if dtype.itemsize == 1 else tensor.to(dtype)


def _bytes(tensor: Any) -> Any:
    """A float8 tensor seen as uint8 (CUDA has no float8 `index_copy_`; copying bytes is the same); others as is."""
    import torch

    return tensor.view(torch.uint8) if tensor.element_size() == 1 else tensor


@dataclass
class _State:
    """Buffers of one (rows, slots) shape, and the step recorded over them."""

    rows: int
    slots: int
    cache: _SlotCache
    mask: Any  # (rows, 1, 1, slots) bool: which cache slots each row attends to
    token: Any  # (rows, 1): the last token of each row, input of the next step
    position: Any  # (rows, 1): its rotary position
    step: Any  # (1,): index of the step in `out`
    out: Any  # (rows, slots): tokens produced by the steps
    finished: Any  # (rows,) bool: the row has produced an end-of-sequence token
    starts: Any  # (rows,) int32: each row's first cache slot (its prompt is right-aligned at the current slot)
    stop: Any  # (1,) int32: one past the slot this step writes; every row attends to [starts[row], stop)
    graph: Any = None


def _prefill_kv(cache: Any, layer: int):
    """Keys and values of `layer` in a transformers `DynamicCache` (the attribute names changed across versions)."""
    layers = getattr(cache, "layers", None)
    if layers is not None:
        return layers[layer].keys, layers[layer].values
    return cache.key_cache[layer], cache.value_cache[layer]


class GreedyDecoder:
    """Greedy decoding of `model`'s language model (a `PreTrainedModel` with `get_decoder()`), batched."""

    def __init__(self, model: Any, eos_ids: Sequence[int], use_graphs: bool, kv_dtype: Any = None) -> None:
        import torch

        self.model = model
        self.decoder = model.get_decoder()
        self.embed = model.get_input_embeddings()
        self.head = model.get_output_embeddings()
        self.config = model.config.get_text_config()
        params = inspect.signature(self.decoder.forward).parameters
        self.cache_arg = "cache" if "cache" in params else "past_key_values"
        self.device = self.embed.weight.device
        self.dtype = self.embed.weight.dtype
        # float8 halves the bytes each step reads (decode_attention reads it; SDPA cannot), else the model's dtype.
        self.kv_dtype = kv_dtype or self.dtype
        self.eos = torch.tensor(sorted(set(eos_ids)) or [-1], device=self.device)
        self.use_graphs = use_graphs
        self._state: _State | None = None
        heads = self.config.num_attention_heads
        self.kv_heads = getattr(self.config, "num_key_value_heads", None) or heads
        self.head_dim = getattr(self.config, "head_dim", None) or self.config.hidden_size // heads
        self.layers = self.config.num_hidden_layers

    # -- one step, recorded as a graph on a GPU -----------------------------------------------------------------

    def _step(self) -> None:
        st = self._state
        st.mask.index_fill_(3, st.cache.slot, True)  # the token written this step sees itself
        # The run of slots each row attends to also goes down to the attention as two small tensors: the decoding
        # kernel (decode_attention) reads only that run instead of the whole cache; SDPA paths use the mask.
        hidden = self.decoder(inputs_embeds=self.embed(st.token), position_ids=st.position, attention_mask=st.mask,
                              use_cache=True, decode_starts=st.starts, decode_stop=st.stop,
                              **{self.cache_arg: st.cache}).last_hidden_state
        nxt = self.head(hidden[:, -1]).argmax(-1)
        st.out.index_copy_(1, st.step, nxt[:, None])
        st.finished.logical_or_((nxt[:, None] == self.eos).any(-1))
        st.token.copy_(nxt[:, None])
        st.position.add_(1)
        st.cache.slot.add_(1)
        st.stop.add_(1)
        st.step.add_(1)

    def _prepare(self, rows: int, needed: int) -> _State:
        """The state for `rows` x `needed` slots: the current one if it fits, else new buffers (and a new graph)."""
        import torch

        st = self._state
        if st is not None and st.rows == rows and needed <= st.slots < needed + REUSE_SLACK:
            return st
        self._state = None
        del st
        if self.device.type == "cuda":
            torch.cuda.empty_cache()
        slots = -(-needed // SLOT_BUCKET) * SLOT_BUCKET
        dev = self.device
        shape = (rows, self.kv_heads, slots, self.head_dim)
        keys = [torch.zeros(shape, dtype=self.kv_dtype, device=dev) for _ in range(self.layers)]
        values = [torch.zeros(shape, dtype=self.kv_dtype, device=dev) for _ in range(self.layers)]
        zero = torch.zeros(1, dtype=torch.long, device=dev)
        st = _State(rows=rows, slots=slots, cache=_SlotCache(keys, values, zero.clone()),
                    mask=torch.zeros((rows, 1, 1, slots), dtype=torch.bool, device=dev),
                    token=torch.zeros((rows, 1), dtype=torch.long, device=dev),
                    position=torch.zeros((rows, 1), dtype=torch.long, device=dev), step=zero.clone(),
                    out=torch.zeros((rows, slots), dtype=torch.long, device=dev),
                    finished=torch.zeros(rows, dtype=torch.bool, device=dev),
                    starts=torch.zeros(rows, dtype=torch.int32, device=dev),
                    stop=torch.ones(1, dtype=torch.int32, device=dev))
        self._state = st
        if self.use_graphs:
            try:
                side = torch.cuda.Stream()
                side.wait_stream(torch.cuda.current_stream())
                with torch.cuda.stream(side):  # warm-up outside the graph: cuBLAS workspaces, lazy inits
                    for _ in range(2):
                        self._step()
                torch.cuda.current_stream().wait_stream(side)
                graph = torch.cuda.CUDAGraph()
                # thread_local: the encoder's thread keeps working on its own stream while this one records.
                with torch.cuda.graph(graph, capture_error_mode="thread_local"):
                    self._step()
                st.graph = graph
            except Exception as exc:  # a model whose step cannot be recorded still decodes, step by step
                log.warning("Decoding without a CUDA graph (recording failed: %s: %s)", type(exc).__name__, exc)
                self.use_graphs = False
                torch.cuda.synchronize()
        log.info("Decoder state: %d rows x %d cache slots%s", rows, slots, " (CUDA graph)" if st.graph else "")
        return st

    # -- a batch ------------------------------------------------------------------------------------------------

    def decode(self, prompts: Sequence[Any], max_new: int, rows: int | None = None,
               should_stop: Callable[[], bool] | None = None,
               on_prefill: Callable[[], None] | None = None) -> list[list[int]]:
        """Greedy tokens for each prompt (a (length, hidden) tensor of input embeddings), at most `max_new` each.

        `rows` pads the batch (graphs are recorded per row count); each list ends before its end-of-sequence token.
        """
        import torch

        rows = max(rows or len(prompts), len(prompts))
        lengths = [int(p.shape[0]) for p in prompts]
        longest = max(lengths)
        with torch.inference_mode():
            st = self._prepare(rows, longest + max_new)
            st.mask.zero_()
            st.finished.zero_()
            st.step.zero_()
            st.token.zero_()
            st.position.zero_()
            st.cache.slot.fill_(longest)
            st.stop.fill_(longest + 1)
            st.starts.fill_(longest)  # padding rows: only the slots written from now on
            first: list[Any] = [None] * len(prompts)
            for rows_of_group in prefill_groups(lengths):
                for row, token in zip(rows_of_group, self._prefill(st, rows_of_group, prompts, longest), strict=True):
                    first[row] = token
            st.token[: len(prompts), 0] = torch.stack(first)
            st.position[: len(prompts), 0] = torch.tensor(lengths, device=self.device)
            st.finished[: len(prompts)] = (st.token[: len(prompts)] == self.eos).any(-1)
            # Padding rows count as finished from the start; they still run (the graph has `rows` rows).
            st.finished[len(prompts):] = True
            if on_prefill is not None:
                on_prefill()
            for step in range(max_new - 1):
                if step % CHECK_EVERY == 0 and (bool(st.finished.all()) or (should_stop and should_stop())):
                    break
                if st.graph is not None:
                    st.graph.replay()
                else:
                    self._step()
            done = int(st.step.item())
            out = torch.cat([torch.stack(first)[:, None], st.out[: len(prompts), :done]], 1).cpu()
        eos = set(self.eos.tolist())
        results = []
        for row in range(len(prompts)):
            tokens = out[row, :max_new].tolist()
            cut = next((i for i, t in enumerate(tokens) if t in eos), len(tokens))
            results.append(tokens[:cut])
        return results

    def _prefill(self, st: _State, rows: list[int], prompts: Sequence[Any], longest: int) -> list[Any]:
        """Run prompts `rows` (all of one length) together; copy their keys and values into their rows of the
        cache, right-aligned at slot `longest`. Returns each one's first token."""
        import torch
        from transformers import DynamicCache

        embeds = torch.stack([prompts[row] for row in rows]).to(self.dtype)
        length = embeds.shape[1]
        try:
            scratch = DynamicCache(config=self.config)
        except TypeError:
            scratch = DynamicCache()
        positions = torch.arange(length, device=self.device)[None].expand(len(rows), -1)
        hidden = self.decoder(inputs_embeds=embeds, position_ids=positions, use_cache=True,
                              **{self.cache_arg: scratch}).last_hidden_state
        start = longest - length
        index = torch.tensor(rows, device=self.device)
        for layer in range(self.layers):
            keys, values = _prefill_kv(scratch, layer)
            for cache, new in ((st.cache.keys[layer], keys), (st.cache.values[layer], values)):
                _bytes(cache)[:, :, start:longest].index_copy_(0, index, _bytes(_stored(new, self.kv_dtype)))
        st.mask[index, :, :, start:longest] = True
        st.starts[index] = start
        return list(self.head(hidden[:, -1]).argmax(-1).unbind())


def prefill_groups(lengths: Sequence[int]) -> list[list[int]]:
    """Rows to prefill together: neighbours of equal length, up to `PREFILL_TOKENS` tokens a group.

    Why: prefilling one prompt runs ~1,500 small operations from Python besides the big products, and with callers'
    threads preparing the next pages beside it, the GPU waited on that Python (an H100 prefill of a 13-tile page
    took 84 ms of kernels and 138 ms of wall time). Prompts of one length (same template, same tile count: the
    pages of a document) stack into one batch without padding, so SDPA keeps its causal flash kernel.
    """
    groups: list[list[int]] = []
    for row, length in enumerate(lengths):
        last = groups[-1] if groups else None
        if last and lengths[last[0]] == length and (len(last) + 1) * length <= PREFILL_TOKENS:
            last.append(row)
        else:
            groups.append([row])
    return groups
