"""uptime-sla's monitor: probes, storage, metrics and the command line around `sla`."""

from __future__ import annotations


def __getattr__(name: str) -> str:
    """`__version__`, read from the installed package's metadata when first asked for (the
    lookup costs every command that does not print it; pyproject.toml is the one place it
    is set)."""
    if name != "__version__":
        raise AttributeError(f"module 'monitor' has no attribute {name!r}")
    from importlib import metadata  # noqa: PLC0415 (only when asked for)

    try:
        version = metadata.version("uptime-sla")
    except metadata.PackageNotFoundError:  # a source tree used without installing it
        version = "0+unknown"
    globals()["__version__"] = version
    return version
