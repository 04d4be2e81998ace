"""The monitor package's one exception family: what the command line turns into exit 2."""

from __future__ import annotations


class MonitorError(Exception):
    """Base of every error the monitor raises on purpose; its message is one line for users."""


class ConfigError(MonitorError):
    """The config file is missing, unreadable or invalid; the message names the file and path."""


class InputError(MonitorError):
    """Bad input other than the config: a CSV file, a command-line argument."""


class AlertmanagerError(MonitorError):
    """Alertmanager could not be reached or refused a request."""


class StoreError(MonitorError):
    """The database refused or failed; the message says which database (without credentials)."""
