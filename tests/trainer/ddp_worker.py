"""Started by test_train_ddp.py under torchrun: rechroma-train as usual, then every rank saves its own
generator parameters to DUMP/rank<R>.pt so the test can compare the replicas.

Usage: torchrun --nproc_per_node 2 tests/trainer/ddp_worker.py DUMP [rechroma-train args...]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import torch

from trainer import train


def main() -> int:
    dump = Path(sys.argv[1])
    code, trainer = train.run(sys.argv[2:])
    if trainer is not None:
        params = {name: p.detach().cpu() for name, p in trainer.G.named_parameters()}
        torch.save(params, dump / f"rank{os.environ.get('RANK', '0')}.pt")
    return code


if __name__ == "__main__":
    sys.exit(main())
