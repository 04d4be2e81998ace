"""uptime-sla's monitor: probes, storage, metrics and the command line around `sla`."""

from __future__ import annotations

from importlib import metadata

try:
    __version__ = metadata.version("uptime-sla")  # pyproject.toml is the one place it is set
except metadata.PackageNotFoundError:  # a source tree used without installing it
    __version__ = "0+unknown"
