"""Print how many images per second the mobilenet_v2 extractor embeds, per backend.

Uses the real CIFAR-10 photos (32x32 JPEG), decoded to one uint8 array first; the timed part is
``transform`` alone (resize to --size, normalise, forward pass). Each backend gets one warm-up
batch, then --repeats timed passes over --n images; the median and best pass are printed, because
on shared cores single passes vary a lot.

    .venv/bin/python benchmarks/embedding_speed.py --n 2000 --size 128
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
from PIL import Image

from pixclass.features.mobilenet import MobileNetV2Features

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "cifar10-train-10k"


def load_photos(folder: Path, n: int) -> np.ndarray:
    files = sorted((folder / "images").glob("*.jpg"))[:n]
    if not files:
        raise SystemExit(f"no JPEGs under {folder / 'images'}")
    return np.stack([np.asarray(Image.open(f).convert("RGB")) for f in files])


def images_per_second(
    extractor: MobileNetV2Features, images: np.ndarray, repeats: int
) -> list[float]:
    extractor.transform(images[: extractor.batch_size])  # warm-up: load, export, first run
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        extractor.transform(images)
        rates.append(len(images) / (time.perf_counter() - start))
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--n", type=int, default=2000, help="images per timed pass")
    parser.add_argument("--size", type=int, default=128, help="network input, pixels per side")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--backends", default="torch,onnx")
    parser.add_argument(
        "--flip",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="also embed the mirror image and average (the extractor's default; 2x the work)",
    )
    args = parser.parse_args()

    images = load_photos(args.data, args.n)
    print(f"{len(images)} photos {images.shape[1:]} -> {args.size} px, batch {args.batch_size}")
    for backend in args.backends.split(","):
        if backend not in ("torch", "onnx", "auto"):
            raise SystemExit(f"unknown backend {backend!r}; use torch, onnx or auto")
        extractor = MobileNetV2Features(
            image_size=(args.size, args.size),
            batch_size=args.batch_size,
            backend=backend,
            num_threads=args.threads,
            flip_average=args.flip,
        )
        rates = images_per_second(extractor, images, args.repeats)
        print(
            f"{backend:>5}: median {statistics.median(rates):6.0f} images/s, "
            f"best {max(rates):6.0f} images/s  ({', '.join(f'{r:.0f}' for r in rates)})",
            flush=True,
        )


if __name__ == "__main__":
    main()
