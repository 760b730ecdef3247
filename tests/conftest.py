from pathlib import Path

import pytest

from audiodiff.data.synth import SynthSpec, build_synth


@pytest.fixture(scope="session")
def synth_dir(tmp_path_factory) -> Path:
    """A small built-in synth set (24 clips, 3 of each instrument), built once per session."""
    root = tmp_path_factory.mktemp("synth")
    return build_synth(root, SynthSpec(n=24, max_seconds=1.2), progress=False)
