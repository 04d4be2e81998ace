"""`status build -o DIR` and `run`'s `status_page.output_dir` replace only a site they wrote.

Before the marker file, `status build -o DIR` moved any DIR aside and deleted it: `-o .` in
a project folder removed its sources and `.git`, and `-o ""` (an unset variable) meant the
current folder. Each refusal below failed that way against that code: the folder was gone.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from support.commands import uptime_sla
from support.project import migrated, write_project

from monitor.cli import main
from monitor.outputs.folders import MARKER


def tree(root: Path) -> dict[str, bytes | None]:
    """Every file (its bytes) and folder (None) under root."""
    return {
        str(path.relative_to(root)): None if path.is_dir() else path.read_bytes()
        for path in root.rglob("*")
    }


def a_project(folder: Path) -> Path:
    """A folder as a developer's checkout looks: sources and a .git."""
    (folder / ".git" / "objects").mkdir(parents=True)
    (folder / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (folder / "src").mkdir()
    (folder / "src" / "app.py").write_text("print('hello')\n")
    (folder / "README.md").write_text("# my project\n")
    return folder


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return migrated(write_project(tmp_path / "project"))


@pytest.fixture
def refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., str]:
    """`status build -o GIVEN` from `cwd` (and HOME): exit 2, one line, which it returns."""

    def build(config: Path, given: str, cwd: Path, home: Path | None = None) -> str:
        capsys.readouterr()  # what came before (a migrate's line) is not this command's
        monkeypatch.chdir(cwd)
        if home is not None:
            monkeypatch.setenv("HOME", str(home))
        assert main(["-c", str(config), "status", "build", "-o", given]) == 2
        out, err = capsys.readouterr()
        assert err.count("\n") == 1, err
        assert out == ""
        return err

    return build


def built(config: Path, site: Path) -> None:
    assert main(["-c", str(config), "status", "build", "-o", str(site)]) == 0


def test_a_folder_with_files_and_git_is_refused_and_left_alone(
    config: Path, tmp_path: Path, refused: Callable[..., str]
) -> None:
    project = a_project(tmp_path / "checkout")
    before = tree(project)
    err = refused(config, str(project), cwd=tmp_path)
    assert f"{project}: not a folder for the status site" in err
    assert MARKER in err
    assert tree(project) == before


def test_the_current_folder_is_refused_even_as_dot(
    config: Path, tmp_path: Path, refused: Callable[..., str]
) -> None:
    project = a_project(tmp_path / "checkout")
    before = tree(project)
    for given in (".", "./", "src/..", str(project)):
        err = refused(config, given, cwd=project)
        assert "it is the current folder" in err, err
    assert tree(project) == before


def test_an_empty_argument_is_refused_not_read_as_the_current_folder(
    config: Path, tmp_path: Path, refused: Callable[..., str]
) -> None:
    project = a_project(tmp_path / "checkout")
    before = tree(project)
    err = refused(config, "", cwd=project)
    assert "-o: the folder is empty" in err
    assert tree(project) == before


def test_the_home_folder_is_refused(
    config: Path, tmp_path: Path, refused: Callable[..., str]
) -> None:
    home = a_project(tmp_path / "home")
    before = tree(home)
    assert "it is the home folder" in refused(config, str(home), cwd=tmp_path, home=home)
    assert tree(home) == before


def test_the_root_folder_is_refused(
    config: Path, tmp_path: Path, refused: Callable[..., str]
) -> None:
    assert "it is the root folder" in refused(config, "/", cwd=tmp_path)


def test_a_folder_holding_the_config_or_the_database_is_refused_even_when_marked(
    tmp_path: Path, refused: Callable[..., str]
) -> None:
    config = migrated(write_project(tmp_path / "project", storage="sqlite:///data/sla.db"))
    (tmp_path / "project" / MARKER).write_text("")  # even a marker does not make it a site
    before = tree(tmp_path / "project")
    assert "holds the config" in refused(config, str(tmp_path / "project"), cwd=tmp_path)
    assert "holds the database" in refused(config, str(tmp_path / "project/data"), cwd=tmp_path)
    assert "holds the config" in refused(config, str(tmp_path), cwd=tmp_path.parent)
    assert tree(tmp_path / "project") == before


def test_a_missing_or_empty_folder_gets_the_site_and_its_marker(
    config: Path, tmp_path: Path
) -> None:
    for site in (tmp_path / "new" / "site", tmp_path / "empty"):
        if site.name == "empty":
            site.mkdir()
        built(config, site)
        assert (site / "index.html").is_file()
        assert (site / MARKER).is_file()


def test_a_site_an_earlier_build_wrote_is_replaced_whole(config: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    built(config, site)
    (site / "stale.html").write_text("from an older version\n")
    built(config, site)
    assert not (site / "stale.html").exists()
    assert (site / MARKER).is_file()


def test_a_symlink_to_a_site_is_followed(config: Path, tmp_path: Path) -> None:
    (tmp_path / "sites" / "status").mkdir(parents=True)
    link = tmp_path / "www"
    link.symlink_to("sites/status")
    built(config, link)
    assert link.is_symlink()
    assert (tmp_path / "sites" / "status" / "index.html").is_file()


def test_run_refuses_an_output_dir_that_is_not_a_site(tmp_path: Path) -> None:
    """`run` removes its older `site-*` folders from status_page.output_dir: a project folder
    given there is refused before anything is written."""
    project = a_project(tmp_path / "checkout")
    (project / "site-docs").mkdir()  # what `run` would have taken for an old site of its own
    before = tree(project)
    config = write_project(
        tmp_path / "conf", f"status_page: {{output_dir: {project}, refresh: 1s}}\n"
    )
    result = uptime_sla("-c", str(config), "run", timeout=60)
    assert result.returncode == 2, result
    assert result.stderr.startswith(
        f"uptime-sla: error: status_page.output_dir: {project}: not a folder"
    ), result.stderr
    assert result.stderr.count("\n") == 1
    assert tree(project) == before
    assert not os.path.exists(tmp_path / "conf" / "sla.db")
