"""The config's YAML: libyaml's parser when PyYAML has it, PyYAML's own for the errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from monitor.config import _FAST_LOADER, _parse_yaml, _parse_yaml_with
from monitor.errors import ConfigError

CONFIG = """\
storage: {url: "sqlite:///x.db"}
defaults: &defaults {interval: 30s, timeout: 5.5}
targets:
  - {name: api, url: "https://api.test/", also: *defaults}
  - name: "ünïcode · name"
    url: https://b.test/
    headers: {Authorization: "Bearer ${TOKEN}"}
    note: |
      two lines,
      kept
maintenance:
  - {start: 2026-03-01T02:00:00Z, end: 2026-03-01 04:00:00+02:00, public: yes}
numbers: [0x1f, 1_000, .5, -.inf, ~, null, 0o17, 1e3]
"""


def test_libyaml_is_there_to_parse_configs() -> None:
    assert _FAST_LOADER is not None


def test_both_parsers_build_the_same_data_and_lines() -> None:
    assert _FAST_LOADER is not None
    fast = _parse_yaml_with(_FAST_LOADER, Path("c.yaml"), CONFIG)
    assert fast == _parse_yaml_with(yaml.SafeLoader, Path("c.yaml"), CONFIG)
    assert fast[1]["targets[1].note"] == 8


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: 1\nb: 'x\x07y'\n", "c.yaml:2: invalid YAML: special characters are not allowed"),
        ("a: '\ud800'\n", "c.yaml:1: invalid YAML: special characters are not allowed"),
        ("a:\n\tb: 1\n", "c.yaml:2: invalid YAML: found character '\\t' that cannot start"),
        ("a: *missing\n", "c.yaml:1: invalid YAML: found undefined alias 'missing'"),
    ],
)
def test_a_file_libyaml_refuses_is_explained_by_pyyamls_loader(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as refused:
        _parse_yaml(Path("c.yaml"), text)
    assert str(refused.value).startswith(message)
