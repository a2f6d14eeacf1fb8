"""A backbone from another installed package, registered only through its entry point."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from pixclass.features import available_extractors, get_extractor

pytestmark = pytest.mark.torch
pytest.importorskip("torch")

PLUGIN_MODULE = '''
"""A tiny torch backbone living outside pixclass."""
from pathlib import Path

import numpy as np
import torch

WEIGHTS = Path(__file__).with_name("my_net.pt")


class TinyNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, kernel_size=3, padding=1)
        self.pool = torch.nn.AdaptiveAvgPool2d(1)

    def forward(self, x):
        return self.pool(torch.relu(self.conv(x))).flatten(1)


class MyNet:
    name = "my_net"
    color_mode = "RGB"
    image_size = (16, 16)
    cacheable = True

    def __init__(self, *, weights=str(WEIGHTS)):
        self.weights = weights
        self.model = TinyNet()
        self.model.load_state_dict(torch.load(weights, weights_only=True))
        self.model.eval()

    def get_params(self):
        return {"weights": self.weights}

    def transform(self, images):
        if images.ndim == 3:
            images = np.repeat(images[..., None], 3, axis=-1)
        x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255
        with torch.inference_mode():
            return self.model(x).numpy().astype(np.float32)
'''


@pytest.fixture
def plugin_dir(tmp_path: Path) -> Path:
    """A pip-installed-looking package in tmp_path: the module, its weights, its dist-info."""
    import torch

    (tmp_path / "my_plugin.py").write_text(PLUGIN_MODULE)
    sys.path.insert(0, str(tmp_path))
    try:
        with torch.random.fork_rng():
            torch.manual_seed(0)  # a fixed init, so the features below are not all zero
            tiny = importlib.import_module("my_plugin").TinyNet()
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("my_plugin", None)
    torch.save(tiny.state_dict(), tmp_path / "my_net.pt")
    info = tmp_path / "my_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: my-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[pixclass.features]\nmy_net = my_plugin:MyNet\n")
    return tmp_path


def test_entry_point_plugin_is_found_without_touching_pixclass(
    plugin_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert "my_net" not in available_extractors()
    monkeypatch.syspath_prepend(str(plugin_dir))
    importlib.invalidate_caches()
    monkeypatch.delitem(sys.modules, "my_plugin", raising=False)

    assert "my_net" in available_extractors()
    extractor = get_extractor("my_net")
    features = extractor.transform(np.full((3, 16, 16, 3), 200, np.uint8))
    assert features.shape == (3, 4) and features.dtype == np.float32
    assert np.allclose(features[0], features[2]) and features.std() > 0


def test_entry_point_plugin_works_in_a_fresh_process(plugin_dir: Path) -> None:
    script = textwrap.dedent(
        """
        import numpy as np
        from pixclass.features import available_extractors, get_extractor
        features = get_extractor("my_net").transform(np.zeros((2, 16, 16), np.uint8))
        print("my_net" in available_extractors(), features.shape)
        """
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(plugin_dir), *sys.path[1:]])}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "(2,", "4)"]
