"""Where the packaged folders come from: this repository's `messaging/` and `sandbox/` (two levels up) when built
from the tree, the same folders beside this file when built from an unpacked sdist (which holds them there), so
the wheel built from the sdist holds exactly the files of the wheel built from the tree. The package's README is
messaging/README.md, read from the same place."""

from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface
from hatchling.metadata.plugin.interface import MetadataHookInterface

PACKAGES = ("messaging", "sandbox")


def source(root: str) -> Path:
    """The folder holding messaging/ and sandbox/: the unpacked sdist itself, else the repository's root."""
    here = Path(root)
    return here if all((here / name).is_dir() for name in PACKAGES) else here.parents[1]


class PackagedFoldersHook(BuildHookInterface):
    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        for name in PACKAGES:
            build_data["force_include"][str(source(self.root) / name)] = name


class ReadmeHook(MetadataHookInterface):
    def update(self, metadata: dict[str, Any]) -> None:
        readme = source(self.root) / "messaging" / "README.md"
        metadata["readme"] = {"content-type": "text/markdown", "text": readme.read_text(encoding="utf-8")}
