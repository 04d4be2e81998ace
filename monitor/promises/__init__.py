"""Promises beyond uptime (docs/promises.md): the extra checks per (target, family), the
webhook receivers, and what runs them beside the probes without ever delaying one."""
