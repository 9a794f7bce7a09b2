"""One decoding step's attention over the engine's KV cache, as a Triton kernel (split-KV "flash decoding").

Why a kernel of our own: in a batched decoding step the GPU's time goes to reading the KV cache (64 rows x ~4,600
cached tokens x 32 layers is ~39 GB a step in bf16), and SDPA cannot read a float8 cache, which halves that. This
kernel reads the cache once, in the dtype it is stored in (bf16/fp16 or float8 e4m3), and only the slots a row
attends to (not its left padding, not the slots not yet written).

Layout, as `greedy_decoder` keeps it: query (batch, kv_heads, group, dim), the query heads of one KV head riding in
the group axis (grouped-query attention without repeating K and V); keys and values (batch, kv_heads, slots, dim);
the slots each row attends to are one run, [starts[row], stop): the decoder writes a prompt right-aligned and each new
token after it. Each program takes one (row, kv head, split of that run); the splits' partial results are merged
with their log-sum-exp afterwards (a few small torch ops, graph-capturable like the kernel).

Triton ships with PyTorch's CUDA wheels; where it is missing (CPU builds) `available()` is False and callers keep SDPA.
"""

from __future__ import annotations

import functools
from typing import Any

# The largest magnitude float8 e4m3 holds; values are clamped to it when they are written (a cast would give NaN).
FP8_MAX = 448.0


@functools.cache
def available() -> bool:
    """Whether the kernel can run: Triton importable (a CUDA build of PyTorch), or its interpreter is on."""
    try:
        import triton  # noqa: F401
    except ImportError:
        return False
    return True


# Launch settings by the cache's bytes per value, chosen on an H100 with `tools/bench_gpu.py --sweep`: slots per
# block, warps, software-pipeline stages, and how many programs to aim for (splits of each row's run are added
# until there are that many, so a batch of 1 still fills the GPU).
# Sweep at batch 64 x 4,352 slots (one layer): bf16 0.382 ms (2,784 GiB/s, SDPA 0.451 ms); fp8 0.240 ms; one split.
CONFIG = {
    2: {"block": 128, "warps": 8, "stages": 3, "programs": 512},
    1: {"block": 64, "warps": 4, "stages": 3, "programs": 512},
}


@functools.cache
def _kernel():
    import triton
    import triton.language as tl

    @triton.jit
    def decode_attention_kernel(
        q_ptr, k_ptr, v_ptr, start_ptr, stop_ptr, out_ptr, lse_ptr,
        scale,
        stride_qb, stride_qh, stride_qg,
        stride_kb, stride_kh, stride_ks,
        stride_vb, stride_vh, stride_vs,
        GROUP: tl.constexpr, GROUP_PAD: tl.constexpr, DIM: tl.constexpr, BLOCK: tl.constexpr, HALF: tl.constexpr,
        STAGES: tl.constexpr,
    ):
        row = tl.program_id(0)
        head = tl.program_id(1)
        split = tl.program_id(2)
        n_splits = tl.num_programs(2)
        groups = tl.arange(0, GROUP_PAD)
        dims = tl.arange(0, DIM)
        offsets = tl.arange(0, BLOCK)
        q = tl.load(q_ptr + row * stride_qb + head * stride_qh + groups[:, None] * stride_qg + dims[None, :],
                    mask=groups[:, None] < GROUP, other=0.0)
        # Fold the softmax scale and log2(e) into the query: the loop then uses exp2.
        q = (q.to(tl.float32) * (scale * 1.4426950408889634)).to(HALF)
        best = tl.full((GROUP_PAD,), float("-inf"), tl.float32)
        total = tl.zeros((GROUP_PAD,), tl.float32)
        acc = tl.zeros((GROUP_PAD, DIM), tl.float32)
        # The row's attended slots are [first, stop): this split takes its share, in whole blocks.
        first = tl.load(start_ptr + row)
        stop = tl.load(stop_ptr)
        share = tl.cdiv(tl.cdiv(stop - first, n_splits), BLOCK) * BLOCK
        begin = first + split * share
        end = tl.minimum(begin + share, stop)
        k_base = k_ptr + row * stride_kb + head * stride_kh
        v_base = v_ptr + row * stride_vb + head * stride_vh
        for block in tl.range(begin, end, BLOCK, num_stages=STAGES):
            slot = block + offsets
            inside = slot < end
            k = tl.load(k_base + slot[:, None] * stride_ks + dims[None, :], mask=inside[:, None], other=0.0)
            scores = tl.dot(q, tl.trans(k.to(HALF)))  # (GROUP_PAD, BLOCK), already in log2 units
            scores = tl.where(inside[None, :], scores, float("-inf"))
            new_best = tl.maximum(best, tl.max(scores, 1))
            weights = tl.exp2(scores - new_best[:, None])
            rescale = tl.exp2(best - new_best)
            total = total * rescale + tl.sum(weights, 1)
            v = tl.load(v_base + slot[:, None] * stride_vs + dims[None, :], mask=inside[:, None], other=0.0)
            acc = acc * rescale[:, None] + tl.dot(weights.to(HALF), v.to(HALF))
            best = new_best
        safe = tl.where(total > 0, total, 1.0)
        out = acc / safe[:, None]
        # log-sum-exp of this split in log2 units; -inf where the split had no slots.
        lse = tl.where(total > 0, best + tl.log2(safe), float("-inf"))
        base = (row * tl.num_programs(1) + head) * n_splits + split
        tl.store(out_ptr + base * GROUP * DIM + groups[:, None] * DIM + dims[None, :], out,
                 mask=groups[:, None] < GROUP)
        tl.store(lse_ptr + base * GROUP + groups, lse, mask=groups < GROUP)

    return decode_attention_kernel


def _half(dtype: Any) -> Any:
    """The 16-bit type the products run in: the query's (bf16 or fp16); bf16 for a float8 or fp32 query."""
    import torch
    import triton.language as tl

    return tl.float16 if dtype == torch.float16 else tl.bfloat16


def splits_for(batch: int, kv_heads: int, slots: int, itemsize: int = 2) -> int:
    """How many pieces each (row, KV head) run is cut into: enough programs to fill the GPU, whole blocks each."""
    config = CONFIG[min(itemsize, 2)]
    blocks = -(-slots // config["block"])
    wanted = -(-config["programs"] // max(1, batch * kv_heads))
    return max(1, min(blocks, wanted))


def decode_attention(query: Any, key: Any, value: Any, starts: Any, stop: Any, scale: float,
                     splits: int | None = None) -> Any:
    """Attention of one new token per row: query (batch, kv_heads, group, dim) -> (batch, kv_heads, group, dim).

    Row r attends to cache slots [starts[r], stop[0]) (int tensors on the device, so a recorded graph replays with
    new values). `key`/`value` (batch, kv_heads, slots, dim) in bf16, fp16 or float8_e4m3fn (read as stored, no
    scale: values were clamped to +-448 when written). The result has the query's dtype.
    """
    import torch

    batch, kv_heads, group, dim = query.shape
    slots = key.shape[2]
    if key.stride(-1) != 1 or value.stride(-1) != 1:
        raise ValueError("keys and values must be contiguous in their last axis")
    query = query.contiguous()
    config = CONFIG[min(key.element_size(), 2)]
    splits = splits or splits_for(batch, kv_heads, slots, key.element_size())
    partial = torch.empty((batch, kv_heads, splits, group, dim), dtype=torch.float32, device=query.device)
    lse = torch.empty((batch, kv_heads, splits, group), dtype=torch.float32, device=query.device)
    _kernel()[(batch, kv_heads, splits)](
        query, key, value, starts, stop, partial, lse, float(scale),
        query.stride(0), query.stride(1), query.stride(2),
        key.stride(0), key.stride(1), key.stride(2),
        value.stride(0), value.stride(1), value.stride(2),
        GROUP=group, GROUP_PAD=max(16, 1 << (group - 1).bit_length()), DIM=dim, BLOCK=config["block"],
        HALF=_half(query.dtype), STAGES=config["stages"], num_warps=config["warps"],
    )
    if splits == 1:
        return partial[:, :, 0].to(query.dtype)
    # Merge the splits: each weighted by 2^(its lse - the largest); a split that saw nothing weighs 0.
    top = lse.amax(2, keepdim=True)
    weights = torch.exp2(lse - top)
    out = (partial * weights[..., None]).sum(2) / weights.sum(2)[..., None]
    return out.to(query.dtype)


def to_fp8(tensor: Any, dtype: Any) -> Any:
    """`tensor` in float8 e4m3 for the cache: clamped first, since a plain cast turns out-of-range values into NaN."""
    return tensor.clamp(-FP8_MAX, FP8_MAX).to(dtype)
