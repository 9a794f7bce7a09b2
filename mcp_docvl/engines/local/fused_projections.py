"""Sibling projections of one input (query/key/value; gate/up) computed as one matrix product.

Why: a Llama layer calls `q_proj`, `k_proj` and `v_proj` on the same hidden states, then `gate_proj` and `up_proj`
on the same ones again. In a batched decoding step each product is small (128 rows), so five products cost five
kernel launches and five partial waves on the GPU where two would do; with float8 weights each also quantises its
input again. Fused, the layer runs one product for q|k|v and one for gate|up, over weights concatenated once at load.

How, without touching the model's code: each sibling is replaced by a `ProjectionSlice` that asks its group for its
part of the output. The group computes the whole product the first time it sees an input tensor and hands out the
slices of it; a call with another input (a model that does not share it) computes anew, so results never depend on
the call order. The last output is kept per thread (the vision encoder runs on a thread of its own).
"""

from __future__ import annotations

import functools
import logging
import threading
from typing import Any

log = logging.getLogger(__name__)

# Module attributes that hold siblings, by the parent that owns them (transformers' names across Llama-like models).
GROUPS = (("q_proj", "k_proj", "v_proj"), ("gate_proj", "up_proj"))


class _Group:
    """One fused product and the slices of its last output (per thread)."""

    def __init__(self, owner: Any, sizes: list[int]) -> None:
        self.owner = owner  # the first slice: holds the fused linear as its child `fused` (so it is a parameter)
        self.sizes = sizes
        self._last = threading.local()

    def output(self, x: Any, index: int) -> Any:
        last = self._last
        if getattr(last, "input", None) is not x or index in last.served:
            parts = self.owner.fused(x).split(self.sizes, dim=-1)
            last.input, last.parts, last.served = x, parts, set()
        last.served.add(index)
        part = last.parts[index]
        if len(last.served) == len(self.sizes):  # every sibling has its part: drop the references
            last.input = last.parts = None
        return part


@functools.cache
def _slice_class() -> type:
    import torch

    class ProjectionSlice(torch.nn.Module):
        """Stands in for one sibling projection: its part of the group's fused product."""

        def __init__(self, group: _Group, index: int, in_features: int, out_features: int) -> None:
            super().__init__()
            self.group = group
            self.index = index
            self.in_features, self.out_features = in_features, out_features

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.group.output(x, self.index)

        def extra_repr(self) -> str:
            return f"part {self.index} of a fused product, in_features={self.in_features}, " \
                   f"out_features={self.out_features}"

    return ProjectionSlice


def fuse_projections(module: Any) -> int:
    """Fuse the sibling projections of every layer under `module` in place; returns how many groups were made.

    Only plain `nn.Linear` siblings of the same input width, dtype and device are fused (already fused ones and
    quantised ones are left as they are), so calling it twice changes nothing.
    """
    import torch

    fused = 0
    for parent in list(module.modules()):
        for names in GROUPS:
            members = [getattr(parent, name, None) for name in names]
            if not all(type(m) is torch.nn.Linear for m in members):
                continue
            first = members[0].weight
            if any(m.in_features != members[0].in_features or m.weight.dtype != first.dtype
                   or m.weight.device != first.device for m in members):
                continue
            biases = [m.bias for m in members]
            if any(b is None for b in biases) and not all(b is None for b in biases):
                continue
            with torch.no_grad():
                linear = torch.nn.Linear(members[0].in_features, sum(m.out_features for m in members),
                                         bias=biases[0] is not None, device=first.device, dtype=first.dtype)
                linear.weight.copy_(torch.cat([m.weight for m in members]))
                if linear.bias is not None:
                    linear.bias.copy_(torch.cat(biases))
            slice_class = _slice_class()
            group = _Group(None, [m.out_features for m in members])
            slices = [slice_class(group, i, m.in_features, m.out_features) for i, m in enumerate(members)]
            slices[0].fused = linear
            group.owner = slices[0]
            for name, part in zip(names, slices, strict=True):
                setattr(parent, name, part)
            fused += 1
    if fused:
        log.info("Fused %d groups of sibling projections", fused)
    return fused
