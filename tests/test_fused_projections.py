"""Fused sibling projections and the float8 row quantiser, on a tiny random model built here (CPU)."""

from __future__ import annotations

import os

import pytest

from mcp_docvl.engines.local.fused_projections import fuse_projections
from mcp_docvl.engines.local.random_model import TINY, build_model, build_processor

torch = pytest.importorskip("torch")
if not torch.cuda.is_available():  # Triton reads this when it is first imported: run kernels in its CPU interpreter
    os.environ.setdefault("TRITON_INTERPRET", "1")
pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def model():
    return build_model(TINY, build_processor(TINY))


def test_fused_layers_give_the_outputs_of_the_separate_ones(model):
    decoder = model.get_decoder()
    vision = model.model.vision_model
    ids = torch.arange(3, 40)[None]
    pixels = torch.randn(2, 3, TINY.tile, TINY.tile, generator=torch.Generator().manual_seed(1))
    attention = decoder.layers[0].self_attn
    x = torch.randn(1, 5, TINY.hidden, generator=torch.Generator().manual_seed(2))
    with torch.inference_mode():
        before = decoder(input_ids=ids).last_hidden_state
        seen = vision(pixel_values=pixels).last_hidden_state
        separate = [attention.q_proj(x), attention.k_proj(x), attention.v_proj(x)]
        groups = fuse_projections(model)
        after = decoder(input_ids=ids).last_hidden_state
        seen_after = vision(pixel_values=pixels).last_hidden_state
        # Asked in another order, and one part twice: each call still gets its own part of this input.
        out_of_order = [attention.q_proj(x), attention.q_proj(x), attention.v_proj(x), attention.k_proj(x)]
    # q|k|v and gate|up in each of the language model's 2 layers; q|k|v in each of the encoder's 2 (its MLP has no
    # siblings).
    assert groups == 2 * 2 + 2
    assert fuse_projections(model) == 0  # already fused: nothing changes
    assert type(attention.q_proj).__name__ == "ProjectionSlice"
    assert attention.q_proj.fused.out_features == TINY.hidden + 2 * TINY.hidden // TINY.heads * TINY.kv_heads
    torch.testing.assert_close(after, before, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(seen_after, seen, rtol=1e-5, atol=1e-5)
    for got, want in zip(out_of_order, [separate[0], separate[0], separate[2], separate[1]], strict=True):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    # Once every part of an input was handed out, the group holds no activations.
    assert attention.q_proj.group._last.input is None


def test_fp8_weights_over_fused_layers_quantise_the_fused_product_once(model):
    from mcp_docvl.engines.local.quantization import quantize_fp8

    fuse_projections(model)
    decoder = model.get_decoder()
    ids = torch.arange(3, 40)[None]
    with torch.inference_mode():
        exact = decoder(input_ids=ids).last_hidden_state
        replaced = quantize_fp8(decoder, "cpu")
        approx = decoder(input_ids=ids).last_hidden_state
    # Per layer: the fused q|k|v, o, the fused gate|up, down.
    assert replaced == 4 * TINY.layers
    assert decoder.layers[0].self_attn.q_proj.fused.weight.dtype == torch.float8_e4m3fn
    assert torch.isfinite(approx).all()
    assert ((approx - exact).norm() / exact.norm()).item() < 0.5  # the tiny model's wide random weights


def test_row_quantiser_kernel_matches_torch():
    """The Triton kernel (in its CPU interpreter here, on the GPU in CI of a GPU build) against the torch path."""
    pytest.importorskip("triton", reason="Triton is not installed (it comes with PyTorch's CUDA builds)")
    from mcp_docvl.engines.local import quantization

    device = "cuda" if torch.cuda.is_available() else "cpu"
    generator = torch.Generator().manual_seed(0)
    # fp16: the interpreter has no bfloat16 (numpy lacks it). A row of zeros must not divide by zero; 300 columns
    # is not a power of two (masked tail).
    x = (torch.randn(7, 300, generator=generator) * torch.logspace(-2, 3, 7)[:, None]).half().to(device)
    x[2] = 0
    ours, scale = quantization._quantize_rows_triton(x)
    theirs, their_scale = quantization.quantize_rows(x.cpu())
    assert ours.dtype == torch.float8_e4m3fn and scale.shape == (7, 1)
    torch.testing.assert_close(scale.cpu(), their_scale)
    got, want = ours.float().cpu(), theirs.float()
    assert got.abs().max() <= 448 and want.abs().max() == 448  # each row's largest value maps to float8's largest
    differ = got != want
    if device == "cpu":
        # Triton's interpreter rounds a value just below a power of two down a binade (126.9 -> 64, not 128): a
        # fault of its numpy emulation, not of the kernel, which the GPU converts in hardware. Only those may differ.
        assert (want[differ].abs().log2() % 1 == 0).all() and (got[differ] * 2 == want[differ]).all()
        assert differ.float().mean() < 0.05
    else:
        assert not differ.any()
    assert (got[2] == 0).all()
    # Dequantised, within float8's 3 mantissa bits of the input.
    error = ((want * their_scale - x.float().cpu()).abs() / (x.float().cpu().abs() + 1e-3 * their_scale)).max()
    assert error <= 2 ** -4 + 1e-3


def test_rms_norm_kernel_computes_what_the_module_computes(model):
    """The one-kernel RMSNorm (Triton's interpreter here) against transformers' module, alone and in the model."""
    pytest.importorskip("triton", reason="Triton is not installed (it comes with PyTorch's CUDA builds)")
    from transformers.models.llama.modeling_llama import LlamaRMSNorm

    from mcp_docvl.engines.local.rms_norm import fuse_rms_norms

    generator = torch.Generator().manual_seed(4)
    norm = LlamaRMSNorm(300, eps=1e-5).half()
    with torch.no_grad():
        norm.weight.copy_(torch.randn(300, generator=generator))
    x = (torch.randn(2, 5, 300, generator=generator) * 7).half()
    holder = torch.nn.Sequential(norm)
    with torch.inference_mode():
        expected = norm(x)
        assert fuse_rms_norms(holder) == 1
        got = holder[0](x)
    assert type(holder[0]).__name__ == "FusedRMSNorm" and got.dtype == expected.dtype
    # The same roundings in the same order: equal to fp16's last bit but for rare ties.
    assert (got.float() - expected.float()).abs().max() <= 2 ** -9 * expected.float().abs().max()
    assert (got == expected).float().mean() > 0.99

    decoder = model.get_decoder()
    ids = torch.arange(3, 30)[None]
    with torch.inference_mode():
        before = decoder(input_ids=ids).last_hidden_state
        # 2 per layer + the final norm; the vision encoder's LayerNorms are not RMSNorms.
        assert fuse_rms_norms(decoder) == 2 * TINY.layers + 1
        after = decoder(input_ids=ids).last_hidden_state
    torch.testing.assert_close(after, before, rtol=1e-4, atol=1e-4)
