"""Downloading IDX files from a real (local) HTTP server: the happy path, corruption, offline."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from pytest_httpserver import HTTPServer

from pixclass.errors import InputError
from pixclass.io import download_dataset, load_idx_dir
from pixclass.io.download import CHECKSUMS, FILES


def _serve(httpserver: HTTPServer, files: dict[str, bytes]) -> str:
    for name, data in files.items():
        httpserver.expect_request(f"/mnist/{name}").respond_with_data(
            data, content_type="application/gzip"
        )
    return httpserver.url_for("/mnist/")


@pytest.fixture(scope="module")
def mnist_files(mnist_dir: Path) -> dict[str, bytes]:
    return {name: (mnist_dir / name).read_bytes() for name in FILES}


def test_download_verifies_and_keeps_good_files(
    httpserver: HTTPServer, mnist_files: dict[str, bytes], tmp_path: Path
) -> None:
    base = _serve(httpserver, mnist_files)
    # The shared copy is reshuffled, so its checksums are not the published ones.
    sums = {name: hashlib.md5(data).hexdigest() for name, data in mnist_files.items()}
    sums[FILES[0]] = hashlib.sha256(mnist_files[FILES[0]]).hexdigest()  # SHA-256 works too
    calls: list[tuple[str, int, int]] = []
    dest = download_dataset(
        "mnist",
        tmp_path / "mnist",
        base_url=base,
        checksums=sums,
        progress=lambda stage, done, total: calls.append((stage, done, total)),
    )
    assert sorted(p.name for p in dest.iterdir()) == sorted(FILES)
    size = len(mnist_files[FILES[0]])
    assert (f"download {FILES[0]}", size, size) in calls
    assert len(load_idx_dir(dest)) == 70_000

    # A second run finds every file in place and asks the server for nothing.
    requests = len(httpserver.log)
    download_dataset("mnist", dest, base_url=base, checksums=sums)
    assert len(httpserver.log) == requests


def test_wrong_checksum_is_rejected_and_nothing_is_kept(
    httpserver: HTTPServer, mnist_files: dict[str, bytes], tmp_path: Path
) -> None:
    base = _serve(httpserver, mnist_files)
    # The published checksums do not match the reshuffled copy: exactly a wrong-file case.
    with pytest.raises(InputError) as caught:
        download_dataset("mnist", tmp_path, base_url=base)
    message = str(caught.value)
    assert f"checksum mismatch for {base}{FILES[0]}" in message
    assert f"expected md5 {CHECKSUMS['mnist'][FILES[0]]}" in message
    assert list(tmp_path.iterdir()) == []  # no partial or wrong file left behind


def test_corrupted_transfer_is_rejected(
    httpserver: HTTPServer, mnist_files: dict[str, bytes], tmp_path: Path
) -> None:
    sums = {name: hashlib.md5(data).hexdigest() for name, data in mnist_files.items()}
    damaged = dict(mnist_files)
    raw = np.frombuffer(damaged[FILES[1]], dtype=np.uint8).copy()
    raw[len(raw) // 2] ^= 0xFF
    damaged[FILES[1]] = raw.tobytes()
    base = _serve(httpserver, damaged)
    with pytest.raises(InputError, match=f"checksum mismatch for .*{FILES[1]}"):
        download_dataset("mnist", tmp_path, base_url=base, checksums=sums)
    assert sorted(p.name for p in tmp_path.iterdir()) == [FILES[0]]  # the good one stays


def test_offline_and_http_errors_say_what_to_do(httpserver: HTTPServer, tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        download_dataset("fashion-mnist", tmp_path, base_url="http://127.0.0.1:9/", timeout=5)
    message = str(caught.value)
    assert "may be offline" in message and "apt-get install -y dataset-fashion-mnist" in message
    with pytest.raises(InputError, match="the server answered 500"):
        download_dataset("mnist", tmp_path, base_url=httpserver.url_for("/missing/"))
    with pytest.raises(InputError, match="cannot download 'digits'"):
        download_dataset("digits", tmp_path)
