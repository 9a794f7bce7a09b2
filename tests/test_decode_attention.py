"""The decoding-step attention kernel against plain attention, on CPU through Triton's interpreter."""

from __future__ import annotations

import os

import pytest

torch = pytest.importorskip("torch")
if not torch.cuda.is_available():  # Triton reads this when it is imported: run kernels in its CPU interpreter
    os.environ.setdefault("TRITON_INTERPRET", "1")
pytest.importorskip("triton", reason="Triton is not installed (it comes with PyTorch's CUDA builds, or pip install "
                                     "triton); the kernel runs only where it is")


@pytest.fixture
def kernel():
    from mcp_docvl.engines.local import decode_attention

    device = "cuda" if torch.cuda.is_available() else "cpu"
    return decode_attention, device


def reference(query, key, value, mask, scale):
    scores = torch.einsum("bhgd,bhsd->bhgs", query.float(), key.float()) * scale
    scores = scores.masked_fill(~mask[:, None, None, :], float("-inf"))
    return torch.einsum("bhgs,bhsd->bhgd", scores.softmax(-1), value.float())


# fp16 queries: Triton's CPU interpreter mishandles bfloat16 (numpy has no such type); on a GPU the kernel runs the
# model's bf16. Shapes cover one split and several, a group of 1 and of 4, and a cache in float8.
@pytest.mark.parametrize(("batch", "heads", "group", "dim", "slots", "cache"), [
    (2, 2, 4, 32, 300, "float16"),
    (1, 2, 4, 64, 1024, "float16"),
    (3, 1, 1, 16, 200, "float8_e4m3fn"),
])
def test_kernel_matches_plain_attention(kernel, batch, heads, group, dim, slots, cache):
    kernel, device = kernel
    generator = torch.Generator().manual_seed(batch * slots)
    query = torch.randn(batch, heads, group, dim, generator=generator).half()
    key = torch.randn(batch, heads, slots, dim, generator=generator) * 3
    value = torch.randn(batch, heads, slots, dim, generator=generator)
    dtype = getattr(torch, cache)
    key, value = (kernel.to_fp8(t, dtype) if dtype.itemsize == 1 else t.to(dtype) for t in (key, value))
    # Each row attends to its own run [start, stop): its left padding and the slots not yet written are left out.
    starts = torch.tensor([7 * row + 3 for row in range(batch)], dtype=torch.int32)
    stop = torch.tensor([slots - 40], dtype=torch.int32)
    mask = torch.zeros(batch, slots, dtype=torch.bool)
    for row in range(batch):
        mask[row, starts[row]: stop[0]] = True
    want = reference(query, key, value, mask, dim ** -0.5)
    on = [t.to(device) for t in (query, key, value, starts, stop)]
    for splits in (None, 1, 3):  # the default split for this shape, none, and uneven ones merged afterwards
        out = kernel.decode_attention(*on, dim ** -0.5, splits=splits).cpu()
        assert out.shape == want.shape and out.dtype == query.dtype
        assert (out.float() - want).abs().max().item() < 2e-3, splits
    # The run matters: attending to every slot gives a different answer.
    everything = kernel.decode_attention(*on[:3], torch.zeros_like(on[3]), torch.tensor([slots], dtype=torch.int32,
                                         device=device), dim ** -0.5).cpu()
    assert (everything.float() - want).abs().max().item() > 1e-2


def test_float8_cache_values_are_clamped_not_nan(kernel):
    kernel, _ = kernel
    big = torch.tensor([1e4, -1e4, 3.0])
    stored = kernel.to_fp8(big, torch.float8_e4m3fn).float()
    assert stored.tolist() == [448.0, -448.0, 3.0]
