"""Save the UMAP layouts the default pipeline clusters, one file per panel set.

The number-of-classes rule runs on each run's UMAP layout (``ImageClusterer._choose_k``). To
compare candidate rules in seconds rather than re-running the whole pipeline, this script runs
the default pipeline's first stages once per set (features chosen by ``features="auto"``, deskew
where the default does it, scaling, PCA, UMAP) and saves every layout the estimator would make,
with the true labels, to ``OUT/<set>.npz``:

    layouts  float32 (n_layouts, n_images, umap_components)
    pca      float32 (n_images, pca_components)  the rows UMAP's neighbour graph was built on
    labels   int64 (n_images,)                    used only to score
    features the extractor ``features="auto"`` chose

    .venv/bin/python benchmarks/layouts.py --sets digits mnist-500 three
    .venv/bin/python benchmarks/layouts.py --sets cifar10-10k --cache /tmp/pixclass-cache

Network embeddings go through the content-hash feature cache (``--cache``), so a second run on
the same photos embeds nothing. ``--layouts`` defaults to what ``n_runs="auto"`` gives, but at
least 5 (so a rule can be judged on 4 of 5 layouts) up to 20,000 images and 2 above.
Compare rules on the saved files with ``benchmarks/choose_k_rules.py``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from panel import SETS  # noqa: E402


def save_layouts(name: str, out: Path, n_layouts: int | None, cache: Path | None) -> None:
    from sklearn.utils import check_array

    from pixclass.cluster.discover import _extract, _prepare
    from pixclass.cluster.estimator import ImageClusterer
    from pixclass.progress import report

    clock = time.perf_counter()
    images = SETS[name][0]()
    tell = report(None)
    prepared = _prepare(images.images, "auto", None, "auto", None, tell)  # type: ignore[attr-defined]
    X = _extract(prepared.extractor, prepared.array, cache, tell)
    X = check_array(X, dtype=[np.float64, np.float32])
    params = dict(getattr(prepared.extractor, "clusterer_params", {}))
    estimator = ImageClusterer(n_clusters="auto", **params)
    estimator._validate_params_values()
    features_s = time.perf_counter() - clock
    runs = n_layouts or max(estimator._runs(len(X)), 5 if len(X) <= 20000 else 2)
    pca_rows, layouts = estimator._reduce(X, runs, None, tell)
    out.mkdir(parents=True, exist_ok=True)
    np.savez(
        out / f"{name}.npz",
        layouts=np.stack(layouts).astype(np.float32),
        pca=np.asarray(pca_rows, np.float32),
        labels=np.asarray(images.labels, np.int64),  # type: ignore[attr-defined]
        features=np.array(prepared.features),
        deskew=np.array(prepared.deskew),
    )
    total = time.perf_counter() - clock
    print(
        f"{name}: {len(X):,} images, {prepared.features}, deskew={prepared.deskew}, "
        f"{runs} layouts; features {features_s:.0f} s, total {total:.0f} s",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="*", default=list(SETS), choices=list(SETS))
    parser.add_argument("--out", type=Path, default=Path("/tmp/layouts"))
    parser.add_argument("--layouts", type=int, help="Layouts per set (default: see above).")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/pixclass-cache"))
    parser.add_argument("--skip-done", action="store_true", help="Skip sets already saved.")
    args = parser.parse_args()
    for name in args.sets:
        if args.skip_done and (args.out / f"{name}.npz").exists():
            continue
        save_layouts(name, args.out, args.layouts, args.cache)


if __name__ == "__main__":
    main()
