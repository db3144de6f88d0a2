"""nbgrader's programs and a course's settings, found whatever the shell's PATH holds."""

import sys
from pathlib import Path

import pytest

from nnfs_cli.course import tools
from nnfs_cli.errors import NnfsError


def test_nbgrader_runs_with_the_interpreters_own_bin_folder_first_on_path(monkeypatch):
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    assert tools.env_with_bin()["PATH"].split(":")[0] == str(Path(sys.executable).parent)


def test_a_missing_program_is_a_setup_error_not_a_score(tmp_path, monkeypatch):
    monkeypatch.setattr(tools, "bin_folder", lambda: tmp_path)
    with pytest.raises(NnfsError, match="setup error: alembic is not installed") as e:
        tools.nbgrader(tmp_path, "export")
    assert e.value.exit_code == 2


def test_settings_come_from_the_course_config_without_running_it(tmp_path):
    config = tmp_path / "nbgrader_config.py"
    config.write_text('c = get_config()\nc.CourseDirectory.db_url = "postgresql://db/x"\n'
                      'c.CourseDirectory.course_id = "ml101"\nimport this_module_does_not_exist\n')  # fmt: skip
    assert tools.settings(tmp_path) == tools.Settings("postgresql://db/x", "ml101")
    assert tools.settings(tmp_path, "sqlite:///other.db").db_url == "sqlite:///other.db"


def test_a_computed_setting_runs_the_config(tmp_path):
    pytest.importorskip("traitlets")
    (tmp_path / "nbgrader_config.py").write_text(
        'c = get_config()\nc.CourseDirectory.db_url = "sqlite:///" + "a.db"\n'
    )
    assert tools.settings(tmp_path).db_url == "sqlite:///a.db"


def test_no_config_is_not_a_course(tmp_path):
    with pytest.raises(NnfsError, match="not a course folder"):
        tools.settings(tmp_path)
    assert (tmp_path / "gradebook.db").exists() is False
