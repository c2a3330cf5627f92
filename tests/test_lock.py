"""requirements.lock pins every dependency of pyproject.toml inside its range."""

from __future__ import annotations

import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from lulcbook.config import ROOT


def _lock() -> dict[str, Version]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        assert "==" in line, f"requirements.lock: {line!r} is not an exact pin"
        name, version = line.split("==", 1)
        pins[canonicalize_name(name)] = Version(version)
    return pins


def test_every_dependency_is_pinned_in_range() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = [Requirement(r) for r in project["dependencies"]]
    reqs += [Requirement(r) for r in project["optional-dependencies"]["dev"]]
    pins = _lock()
    for req in reqs:
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is not pinned in requirements.lock"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"requirements.lock pins {req.name}=={pins[name]}, outside {req.specifier}"
        )


def test_torch_is_the_cpu_release_the_results_were_made_with() -> None:
    """torch==2.13.0+cpu: an install that cannot find the CPU wheel fails instead of pulling CUDA."""
    torch = _lock()["torch"]
    assert torch.public == "2.13.0" and torch.local == "cpu"
    assert not any(name.startswith("nvidia-") for name in _lock()), "a CUDA build is locked"
