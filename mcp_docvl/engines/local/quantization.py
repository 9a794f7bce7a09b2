"""Smaller weights for the resident model: float8 (our own, no extra package) or 4-bit (bitsandbytes, at load).

`fp8`: every linear layer of the language model's decoder keeps its weights in float8 e4m3 with one scale per
output channel, and quantises its input per token on the fly; the product is one `torch._scaled_mm` (FP8 tensor
cores on Hopper/Ada GPUs). Why: decoding reads every weight once a step, so half the bytes is nearly half the step
at small batches, and prefill runs on the FP8 tensor cores at about twice the bf16 rate. This is the "dynamic FP8"
scheme (per-channel weights, per-token activations) that serving stacks use for Llama models with little loss; the
vision encoder and the output head stay in bf16.

`4bit`: NF4 weights through bitsandbytes' `BitsAndBytesConfig`, chosen when the model is loaded (memory first: an
8B model in ~6 GB), for GPUs where FP8 is missing.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from mcp_docvl.engines.local import decode_attention
from mcp_docvl.errors import EngineError, InvalidArgument

log = logging.getLogger(__name__)

QUANTIZATIONS = ("none", "fp8", "4bit")
_FP8_MAX = 448.0


def check(name: str) -> str:
    if name not in QUANTIZATIONS:
        raise InvalidArgument(f"Unknown quantization {name!r}.", f"Use one of: {', '.join(QUANTIZATIONS)}.")
    return name


def load_kwargs(name: str, dtype: Any) -> dict[str, Any]:
    """Extra `from_pretrained` arguments for `name` ("4bit" needs them; the others quantise after loading)."""
    if name != "4bit":
        return {}
    try:
        import bitsandbytes  # noqa: F401
        from transformers import BitsAndBytesConfig
    except ImportError as exc:
        raise EngineError("4-bit weights need the bitsandbytes package.",
                          "pip install bitsandbytes (CUDA GPU), or choose DOCVL_VLM_QUANTIZATION=fp8 or none.") from exc
    return {"quantization_config": BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                                                      bnb_4bit_compute_dtype=dtype)}


def fp8_linear(linear: Any) -> Any:
    """A module computing `linear(x)` with float8 weights (per output channel) and float8 inputs (per token)."""
    return _fp8_linear_class()(linear)


@functools.cache
def _fp8_linear_class() -> type:
    import torch

    class Fp8Linear(torch.nn.Module):
        def __init__(self, source: torch.nn.Linear) -> None:
            super().__init__()
            weight = source.weight.detach()
            scale = weight.abs().amax(dim=1, keepdim=True).float().clamp(min=1e-12) / _FP8_MAX
            # (out, in) row-major: its transpose is the column-major right operand `_scaled_mm` wants.
            self.register_buffer("weight", (weight.float() / scale).to(torch.float8_e4m3fn))
            self.register_buffer("weight_scale", scale.reshape(1, -1).contiguous())
            self.bias = source.bias
            self.in_features, self.out_features = source.in_features, source.out_features
            self.out_dtype = weight.dtype

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            shape = x.shape
            quantised, scale = quantize_rows(x.reshape(-1, shape[-1]))
            out = torch._scaled_mm(quantised, self.weight.t(), scale_a=scale, scale_b=self.weight_scale,
                                   bias=self.bias, out_dtype=self.out_dtype)
            return out.reshape(*shape[:-1], self.out_features)

        def extra_repr(self) -> str:
            return f"in_features={self.in_features}, out_features={self.out_features}, float8_e4m3fn"

    return Fp8Linear


def quantize_rows(x: Any) -> tuple[Any, Any]:
    """`x` (rows, cols) in float8 e4m3 with one float32 scale a row: (quantised, scales of shape (rows, 1)).

    On a GPU one Triton kernel reads each row once (largest magnitude, scale, cast); in torch the same takes six
    kernels and six passes over the activations, which cost more than float8 saved at small batches (each decoding
    step quantises 4 inputs a layer) and ~10% of an FP8 prefill.
    """
    import torch

    if x.device.type == "cuda" and decode_attention.available() and x.shape[-1] <= _MAX_ROW:
        return _quantize_rows_triton(x)
    scale = x.abs().amax(dim=1, keepdim=True).float().clamp(min=1e-12) / _FP8_MAX
    return (x.float() / scale).clamp(-_FP8_MAX, _FP8_MAX).to(torch.float8_e4m3fn), scale


# Rows up to this many values are quantised in one pass, held in registers (the down projection's input of an 8B
# Llama is 14,336 wide); wider ones take the torch path.
_MAX_ROW = 32768


def _quantize_rows_triton(x: Any) -> tuple[Any, Any]:
    import torch

    cols = x.shape[-1]
    x = x if x.stride(-1) == 1 else x.contiguous()
    out = torch.empty(x.shape, dtype=torch.float8_e4m3fn, device=x.device)
    scale = torch.empty((x.shape[0], 1), dtype=torch.float32, device=x.device)
    block = 1 << (cols - 1).bit_length()
    _quantize_kernel()[(x.shape[0],)](x, out, scale, cols, x.stride(0), out.stride(0), FP8_MAX=_FP8_MAX,
                                      BLOCK=block, num_warps=min(16, max(4, block // 1024)))
    return out, scale


@functools.cache
def _quantize_kernel():
    import triton
    import triton.language as tl

    @triton.jit
    def quantize_rows_kernel(x_ptr, out_ptr, scale_ptr, cols, stride_x, stride_out, FP8_MAX: tl.constexpr,
                             BLOCK: tl.constexpr):
        row = tl.program_id(0)
        offsets = tl.arange(0, BLOCK)
        inside = offsets < cols
        x = tl.load(x_ptr + row * stride_x + offsets, mask=inside, other=0.0).to(tl.float32)
        scale = tl.maximum(tl.max(tl.abs(x), 0), 1e-12) / FP8_MAX
        tl.store(scale_ptr + row, scale)
        q = tl.minimum(tl.maximum(x / scale, -FP8_MAX), FP8_MAX)
        tl.store(out_ptr + row * stride_out + offsets, q.to(out_ptr.dtype.element_ty), mask=inside)

    return quantize_rows_kernel


def fp8_supported(device: str) -> str | None:
    """Why float8 matmuls cannot run on `device` (None when they can)."""
    import torch

    if not hasattr(torch, "float8_e4m3fn") or not hasattr(torch, "_scaled_mm"):
        return f"this PyTorch ({torch.__version__}) has no float8 matrix products"
    if device.startswith("cuda"):
        major, minor = torch.cuda.get_device_capability(torch.device(device))
        if (major, minor) < (8, 9):
            return f"the GPU (compute capability {major}.{minor}) has no FP8 tensor cores (Ada or Hopper needed)"
    return None


def quantize_fp8(decoder: Any, device: str) -> int:
    """Replace every `nn.Linear` inside `decoder` (the language model's layers) by its float8 version, in place.

    Returns how many layers were replaced. The output head and the vision encoder are left as they are.
    """
    import torch

    reason = fp8_supported(device)
    if reason is not None:
        raise EngineError(f"FP8 weights cannot be used: {reason}.",
                          "Set DOCVL_VLM_QUANTIZATION=none (or 4bit with bitsandbytes).")
    replaced = 0
    for parent in list(decoder.modules()):
        for name, child in list(parent.named_children()):
            if type(child) is torch.nn.Linear and child.in_features % 16 == 0 and child.out_features % 16 == 0:
                setattr(parent, name, fp8_linear(child))
                replaced += 1
    if device.startswith("cuda"):
        torch.cuda.empty_cache()
    log.info("FP8 weights in %d linear layers of the language model", replaced)
    return replaced
