"""ACC/NMI/ARI of the SCAN clustering head (``pixclass.cluster.head``) on cached embeddings.

Needs the embeddings ``benchmarks/backbones.py --embed-only`` caches (plain and mirror-image
views). Labels only score the result.

    OMP_NUM_THREADS=2 nice -n 10 .venv/bin/python benchmarks/head.py --sets cifar10-10k \\
        --backbones efficientnet_lite0 efficientnet_lite2
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backbones import BACKBONES, SETS, cache_file, load_labels  # noqa: E402


def views(cache: Path, set_name: str, backbones: list[str]) -> list[np.ndarray]:
    """The plain and the mirror view, each the L2-normalised concatenation of the backbones."""
    out = []
    for view in ("plain", "flip"):
        parts = []
        for backbone in backbones:
            rows = np.load(cache_file(cache, set_name, backbone, BACKBONES[backbone], view))
            parts.append(rows / np.linalg.norm(rows, axis=1, keepdims=True))
        out.append(np.concatenate(parts, axis=1).astype(np.float32))
    return out


def main() -> None:
    from pixclass.cluster.head import fit_scan_head
    from pixclass.evaluate import evaluate_labels

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=list(SETS), choices=list(SETS))
    parser.add_argument("--backbones", nargs="+", default=["efficientnet_lite0"])
    parser.add_argument("--cache", type=Path, default=Path("/work/cache/backbones"))
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=30)
    args = parser.parse_args()
    for set_name in args.sets:
        labels = load_labels(set_name)
        plain, flip = views(args.cache, set_name, args.backbones)
        k = SETS[set_name][1]
        for seed in range(args.seeds):
            start = time.perf_counter()
            result = fit_scan_head(plain, k, views=[flip], epochs=args.epochs, random_state=seed)
            s = evaluate_labels(labels, result.labels)
            print(
                f"{set_name} k={k} {'+'.join(args.backbones)} seed {seed}: ACC {s['acc']:.3f} "
                f"NMI {s['nmi']:.3f} ARI {s['ari']:.3f} ({time.perf_counter() - start:.0f} s, "
                f"{result.n_confident} confident)",
                flush=True,
            )


if __name__ == "__main__":
    main()
