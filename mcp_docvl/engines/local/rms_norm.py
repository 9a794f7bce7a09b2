"""The language model's RMSNorm layers as one Triton kernel each, on CUDA.

Why: transformers' `LlamaRMSNorm` is six kernels (to float32, square, mean, rsqrt, scale, weight), each a pass
over the activations. An 8B Llama has 65 of them; in an H100 profile of a page's FP8 prefill their kernels added
up to ~13 of its 84 ms, and ~400 of its Python-launched operations. The kernel reads a row once and writes it
once, and computes what the module computes, in its order and roundings: the row scaled in float32, rounded to the
input's dtype, then multiplied by the weight (in float32, rounded again).

Only the norm classes of the architectures the engine's own decoding loop serves are replaced (Gemma-style norms,
which add 1 to the weight, are not among them).
"""

from __future__ import annotations

import functools
import logging
from typing import Any

log = logging.getLogger(__name__)

NORM_CLASSES = {"LlamaRMSNorm", "MistralRMSNorm", "Qwen2RMSNorm", "Qwen3RMSNorm", "GraniteRMSNorm"}
# Rows up to this many values are normalised in one pass, held in registers.
_MAX_ROW = 32768


def rms_norm(x: Any, weight: Any, eps: float) -> Any:
    """`weight * (x / sqrt(mean(x^2) + eps))` over the last axis, as transformers' Llama computes it."""
    import torch

    shape = x.shape
    flat = x.reshape(-1, shape[-1])
    flat = flat if flat.stride(-1) == 1 else flat.contiguous()
    out = torch.empty_like(flat, dtype=torch.promote_types(x.dtype, weight.dtype))
    cols = shape[-1]
    block = 1 << (cols - 1).bit_length()
    _kernel()[(flat.shape[0],)](flat, weight, out, cols, flat.stride(0), out.stride(0), float(eps), BLOCK=block,
                                num_warps=min(16, max(4, block // 1024)))
    return out.reshape(shape)


@functools.cache
def _kernel():
    import triton
    import triton.language as tl

    @triton.jit
    def rms_norm_kernel(x_ptr, w_ptr, out_ptr, cols, stride_x, stride_out, eps, BLOCK: tl.constexpr):
        row = tl.program_id(0)
        offsets = tl.arange(0, BLOCK)
        inside = offsets < cols
        x = tl.load(x_ptr + row * stride_x + offsets, mask=inside, other=0.0).to(tl.float32)
        scale = 1.0 / tl.sqrt(tl.sum(x * x, 0) / cols + eps)
        normed = (x * scale).to(x_ptr.dtype.element_ty).to(tl.float32)
        w = tl.load(w_ptr + offsets, mask=inside, other=0.0).to(tl.float32)
        tl.store(out_ptr + row * stride_out + offsets, (w * normed).to(out_ptr.dtype.element_ty), mask=inside)

    return rms_norm_kernel


@functools.cache
def _module_class() -> type:
    import torch

    class FusedRMSNorm(torch.nn.Module):
        """Drop-in for a Llama-style RMSNorm: the same weight and epsilon, one kernel."""

        def __init__(self, source: torch.nn.Module) -> None:
            super().__init__()
            self.weight = source.weight
            self.variance_epsilon = _epsilon(source)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return rms_norm(x, self.weight, self.variance_epsilon)

        def extra_repr(self) -> str:
            return f"{tuple(self.weight.shape)}, eps={self.variance_epsilon}, one Triton kernel"

    return FusedRMSNorm


def _epsilon(module: Any) -> float:
    return float(getattr(module, "variance_epsilon", getattr(module, "eps", 1e-6)))


def fuse_rms_norms(module: Any) -> int:
    """Replace every Llama-style RMSNorm under `module` by the one-kernel version, in place; returns how many.

    Callers use it where Triton runs (a CUDA build of PyTorch, or its interpreter in tests) and where nothing
    compiles the model with torch.compile.
    """
    fused_class = _module_class()
    replaced = 0
    for parent in list(module.modules()):
        for name, child in list(parent.named_children()):
            if type(child).__name__ in NORM_CLASSES and getattr(child, "weight", None) is not None \
                    and child.weight.shape[-1] <= _MAX_ROW:
                setattr(parent, name, fused_class(child))
                replaced += 1
    if replaced:
        log.info("RMSNorm as one Triton kernel in %d layers", replaced)
    return replaced
