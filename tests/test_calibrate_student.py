"""The saved student is replaced whole: weights and record swapped in together, so a kill leaves the student before
or after, never new weights beside an old record."""

import shutil
from pathlib import Path

import pytest

from helpers.paths import read_json, write_json


def student_folder(folder: Path, version: str) -> Path:
    """A stand-in student: weights and record of one `version`."""
    folder.mkdir(parents=True)
    (folder / "model.safetensors").write_text(version)
    write_json({"version": version}, folder / "training.json")
    return folder


def versions(folder: Path) -> tuple[str, str]:
    """The stand-in student's weights and record versions."""
    return (folder / "model.safetensors").read_text(), read_json(folder / "training.json")["version"]


@pytest.mark.parametrize("atomic", [True, False])
def test_a_swap_puts_the_whole_new_student_in_place_and_leaves_nothing_beside_it(tmp_path, monkeypatch, atomic):
    """With the atomic exchange, and where the file system has none (the old student renamed aside first)."""
    import helpers.student as student

    if not atomic:
        monkeypatch.setattr(student, "exchanged", lambda first, second: False)
    folder = student_folder(tmp_path / "distilled_sentiment", "old")
    student.swap_in(student_folder(student.staging_folder(folder), "new"), folder)
    assert versions(folder) == ("new", "new") and [p.name for p in tmp_path.iterdir()] == [folder.name]


def test_a_kill_between_the_two_renames_of_a_swap_is_settled_before_or_after(tmp_path):
    """Without an atomic exchange a kill can fall between renaming the old student aside and the new one in (no
    student then) or after both (the old one still aside): the next step puts the old one back, or removes it."""
    import helpers.student as student

    folder = tmp_path / "distilled_sentiment"
    aside = student_folder(student.aside_folder(folder), "before")
    student.recover_student(folder)  # killed between the renames: the student before the step is back
    assert versions(folder) == ("before", "before") and not aside.exists()
    shutil.rmtree(folder)
    student_folder(folder, "after")
    student_folder(aside, "before")
    student.recover_student(folder)  # killed after both: the new student stays, the old one goes
    assert versions(folder) == ("after", "after") and not aside.exists()
