"""``onnx:PATH``: embeddings from any ONNX image model, with a stated input convention.

The input convention (docs/features.md says the same):

* **Input**: the model's first input, float32, one batch of images. Its **layout** is read from
  the input's shape: a 1 or 3 in the second axis means NCHW, in the last axis NHWC (NCHW when
  the shape does not say). One channel means grayscale (luma, as Pillow's ``L``), three mean RGB.
* **Size**: the input's fixed height and width when the shape has them; 224 x 224 when they are
  dynamic. Images are resized bilinearly (antialiased when shrinking).
* **Values**: ``(pixel / 255 - mean) / std`` per channel, ImageNet's mean and std by default
  (what torchvision-trained models expect). ``mean=0&std=1`` gives 0..1; ``mean=0.5&std=0.5``
  gives -1..1.
* **Output**: the model's first output (or the one named ``output``), one row per image,
  flattened; a model that ends in pooled features gives the best rows.

Every part is overridable in the spec, after a ``?``:
``onnx:model.onnx?size=160x160&mean=0.5,0.5,0.5&std=0.5,0.5,0.5&layout=nhwc&output=pool``
(a single number for ``mean``/``std`` stands for all channels).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar, Literal
from urllib.parse import parse_qsl

import numpy as np

from pixclass.errors import InputError, MissingExtraError
from pixclass.features.base import ColorMode, as_mode

PREFIX = "onnx:"
DEFAULT_SIZE = (224, 224)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
Layout = Literal["auto", "nchw", "nhwc"]
LAYOUTS = ("auto", "nchw", "nhwc")
SPEC_KEYS = ("size", "mean", "std", "layout", "output")


def is_onnx_spec(features: str) -> bool:
    return features.startswith(PREFIX)


def parse_onnx_spec(spec: str) -> dict[str, Any]:
    """``onnx:PATH[?key=value&...]`` as ``OnnxModelFeatures`` keyword arguments (path absolute).

    Raises ``InputError`` for a missing file or an option it does not know or cannot read.
    """
    body = spec[len(PREFIX) :] if is_onnx_spec(spec) else spec
    path_text, _, query = body.partition("?")
    if not path_text.strip():
        raise InputError("give the model file as onnx:PATH, e.g. --features onnx:model.onnx")
    path = Path(path_text.strip()).expanduser().resolve()
    if not path.is_file():
        raise InputError(f"no ONNX model file at {path} (from --features {spec})")
    params: dict[str, Any] = {"path": str(path)}
    for key, value in parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query)):
        if key not in SPEC_KEYS:
            raise InputError(f"unknown onnx option {key!r} in {spec!r}; use {', '.join(SPEC_KEYS)}")
        if key == "size":
            params["image_size"] = _parse_size(value)
        elif key in ("mean", "std"):
            params[key] = _parse_channels(key, value)
        else:
            params[key] = value.strip().lower() if key == "layout" else value.strip()
    return params


def canonical_spec(spec: str) -> str:
    """``spec`` with its path made absolute (a job in another working directory finds it)."""
    parse_onnx_spec(spec)  # validates
    body = spec[len(PREFIX) :]
    path_text, sep, query = body.partition("?")
    return f"{PREFIX}{Path(path_text.strip()).expanduser().resolve()}{sep}{query}"


def _parse_size(value: str) -> tuple[int, int]:
    parts = value.lower().replace(",", "x").split("x")
    try:
        numbers = [int(p) for p in parts]
    except ValueError:
        numbers = []
    if len(numbers) == 1:
        numbers = numbers * 2
    if len(numbers) != 2 or min(numbers) < 8:
        raise InputError(
            f"onnx size must be HEIGHTxWIDTH or one side of at least 8 px, not {value!r}"
        )
    return numbers[0], numbers[1]


def _parse_channels(key: str, value: str) -> tuple[float, ...]:
    try:
        numbers = tuple(float(p) for p in value.split(","))
    except ValueError:
        raise InputError(f"onnx {key} must be numbers separated by commas, not {value!r}") from None
    if len(numbers) not in (1, 3) or (key == "std" and min(numbers) <= 0):
        raise InputError(
            f"onnx {key} must be 1 or 3 numbers{' above 0' if key == 'std' else ''}, not {value!r}"
        )
    return numbers


class OnnxModelFeatures:
    """Rows of any ONNX image model's output (the convention: see the module docstring).

    Parameters
    ----------
    path : str or path
        The ``.onnx`` file.
    image_size : tuple of (int, int) or None, default=None
        Network input (height, width); None reads it from the model's input shape, 224 x 224
        when that is dynamic.
    mean, std : sequence of 1 or 3 floats, default=ImageNet's
        Input normalisation as fractions of 255: ``(x / 255 - mean) / std``.
    layout : {"auto", "nchw", "nhwc"}, default="auto"
        "auto" reads it from the input shape (NCHW when it does not say).
    output : str or None, default=None
        Name of the output to use; None takes the first.
    batch_size : int, default=32
        Images per run (a model exported with a fixed batch size gets batches of that size).
    num_threads : int or None, default=None
        ONNX Runtime's threads; None lets it choose.
    """

    name = "onnx"
    cacheable = True
    # The file's SHA-256 stands for the path in cache keys: a moved file keeps its cache.
    cache_ignore_params = ("path", "batch_size", "num_threads")
    clusterer_params: ClassVar[dict[str, Any]] = {"scale": "l2"}

    def __init__(
        self,
        *,
        path: str | os.PathLike[str],
        image_size: tuple[int, int] | None = None,
        mean: tuple[float, ...] = IMAGENET_MEAN,
        std: tuple[float, ...] = IMAGENET_STD,
        layout: Layout = "auto",
        output: str | None = None,
        batch_size: int = 32,
        num_threads: int | None = None,
    ) -> None:
        if layout not in LAYOUTS:
            raise InputError(f"onnx layout must be one of {', '.join(LAYOUTS)}, not {layout!r}")
        if batch_size < 1:
            raise InputError(f"batch_size must be at least 1, not {batch_size}")
        self.path = str(path)
        self.mean = tuple(float(v) for v in mean)
        self.std = tuple(float(v) for v in std)
        self.layout = layout
        self.output = output
        self.batch_size = batch_size
        self.num_threads = num_threads
        self._session = self._open()
        self._input = self._session.get_inputs()[0]
        self.layout_, channels, fixed_size, self._fixed_batch = _read_input_shape(
            list(self._input.shape), layout
        )
        self.color_mode: ColorMode | None = "L" if channels == 1 else "RGB"
        given = (int(image_size[0]), int(image_size[1])) if image_size else None
        self.image_size: tuple[int, int] | None = given or fixed_size or DEFAULT_SIZE
        self._given_size = given
        outputs = [o.name for o in self._session.get_outputs()]
        if output is not None and output not in outputs:
            raise InputError(f"{self.path} has no output {output!r}; it has {', '.join(outputs)}")
        self._output = output or outputs[0]
        from pixclass.features.weights import file_sha256

        self.weights_sha256 = file_sha256(Path(self.path))

    def _open(self) -> Any:
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise MissingExtraError("onnxruntime", "torch", "The onnx:PATH extractor") from exc
        options = ort.SessionOptions()
        if self.num_threads:
            options.intra_op_num_threads = self.num_threads
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            return ort.InferenceSession(self.path, options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # ORT raises its own exception types for a bad file
            raise InputError(f"ONNX Runtime cannot load {self.path}: {exc}") from exc

    def get_params(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "image_size": self._given_size,
            "mean": self.mean,
            "std": self.std,
            "layout": self.layout,
            "output": self.output,
            "batch_size": self.batch_size,
            "num_threads": self.num_threads,
        }

    def transform(self, images: np.ndarray) -> np.ndarray:
        """Run uint8 images (n, h, w) or (n, h, w, 3) through the model: float32 (n, d)."""
        images = np.asarray(images)
        if images.dtype != np.uint8 or images.ndim not in (3, 4):
            raise InputError(
                f"images must be uint8 of shape (n, h, w) or (n, h, w, 3), not "
                f"{images.dtype} {images.shape}"
            )
        step = self._fixed_batch or self.batch_size
        rows = [self._run(images[start : start + step]) for start in range(0, len(images), step)]
        if not rows:
            return np.empty((0, 0), np.float32)
        return np.concatenate(rows).astype(np.float32, copy=False)

    def _run(self, batch: np.ndarray) -> np.ndarray:
        n = len(batch)
        x = self._preprocess(as_mode(batch, self.color_mode))
        if self._fixed_batch and n < self._fixed_batch:  # pad the last batch
            pad = np.zeros((self._fixed_batch - n, *x.shape[1:]), np.float32)
            x = np.concatenate([x, pad])
        try:
            (out,) = self._session.run([self._output], {self._input.name: x})
        except Exception as exc:
            raise InputError(
                f"{self.path} refused a {self.layout_.upper()} float32 batch of shape "
                f"{x.shape}: {exc}. Give its input convention in the spec, e.g. "
                f"onnx:{self.path}?size=HxW&layout=nhwc (docs/features.md)"
            ) from exc
        out = np.asarray(out, dtype=np.float32)[:n]
        return out.reshape(n, -1)

    def _preprocess(self, batch: np.ndarray) -> np.ndarray:
        """uint8 (n, h, w[, 3]) -> normalised float32 in the model's layout and size."""
        from pixclass.features.base import as_size

        assert self.image_size is not None
        batch = as_size(batch, self.image_size)
        x = batch.astype(np.float32) / 255.0
        if x.ndim == 3:
            x = x[..., None]
        channels = x.shape[-1]
        mean = np.resize(np.asarray(self.mean, np.float32), channels)
        std = np.resize(np.asarray(self.std, np.float32), channels)
        x = (x - mean) / std
        if self.layout_ == "nchw":
            x = x.transpose(0, 3, 1, 2)
        return np.ascontiguousarray(x, dtype=np.float32)


def _read_input_shape(
    shape: list[Any], layout: Layout
) -> tuple[Literal["nchw", "nhwc"], int, tuple[int, int] | None, int | None]:
    """(layout, channels, fixed (h, w) or None, fixed batch or None) from an input's shape."""
    if len(shape) != 4:
        raise InputError(
            f"the model's first input has shape {shape}; an image model takes 4 axes "
            "(batch, channels, height, width) or (batch, height, width, channels)"
        )

    def fixed(value: Any) -> int | None:
        return int(value) if isinstance(value, int) and value > 0 else None

    if layout == "auto":
        layout = "nhwc" if fixed(shape[3]) in (1, 3) and fixed(shape[1]) not in (1, 3) else "nchw"
    if layout == "nchw":
        channels, height, width = shape[1], shape[2], shape[3]
    else:
        height, width, channels = shape[1], shape[2], shape[3]
    channel_count = fixed(channels) or 3
    if channel_count not in (1, 3):
        raise InputError(
            f"the model's input has {channel_count} channels in {layout.upper()} layout; "
            "images have 1 (grayscale) or 3 (RGB). Give ?layout=nchw or ?layout=nhwc"
        )
    h, w = fixed(height), fixed(width)
    size = (h, w) if h and w else None
    return layout, channel_count, size, fixed(shape[0])
