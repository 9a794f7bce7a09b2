"""Write a Nemotron-Nano-VL-style remote-code model directory with random weights, for `bench_gpu.py --model DIR`.

NVIDIA's modeling code cannot be downloaded here, so the code is the project's own in the same style
(`mcp_docvl/engines/local/remote_stand_in.py`): Llama-3.1-8B language model, ViT-H/16 vision tower on 512 px
tiles (256 tokens a tile after pixel shuffle), MLP projector; a model class that skips post_init, a processor
overriding the old `_process_image` hook, the vision code in a second repository referenced from the config's
`auto_map`. The second repository is laid out in a Hugging Face hub cache, as `mcp-docvl model fetch` leaves it:
load with `HF_HUB_CACHE=<hub-cache> HF_HUB_OFFLINE=1`.

    PYTHONPATH=. python tools/build_stand_in.py --out /tmp/nano --hub-cache /tmp/hub            # real sizes, GPU
    PYTHONPATH=. python tools/build_stand_in.py --out /tmp/nano --hub-cache /tmp/hub --tiny --device cpu
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mcp_docvl.engines.local import remote_stand_in


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="where the two repositories are written")
    parser.add_argument("--hub-cache", type=Path, required=True, help="hub cache to lay both repositories out in")
    parser.add_argument("--tiny", action="store_true", help="the tiny sizes (CPU tests)")
    parser.add_argument("--device", default="cuda", help="where the random weights are drawn (cuda: fast)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    shape = remote_stand_in.TINY if args.tiny else remote_stand_in.NEMOTRON_NANO_VL_8B
    model = remote_stand_in.build(args.out, args.hub_cache, shape=shape, device=args.device)
    size = sum(f.stat().st_size for f in model.iterdir()) / 2**30
    print(f"built {model} ({size:.1f} GiB) in {time.perf_counter() - started:.0f} s; vision code in "
          f"{args.hub_cache}", flush=True)
    print(model)


if __name__ == "__main__":
    main()
