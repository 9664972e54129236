"""Collecting an LMS download: ids, resubmissions, namesakes, odd names, lateness, no abort."""

import json
import zipfile

import pytest

from instructor.grading.collect import collect, read_manifest, read_roster

NB = json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


def course(tmp_path, assignment="a2_convolution"):
    root = tmp_path / "course"
    (root / "source" / assignment).mkdir(parents=True)
    (root / "source" / assignment / f"{assignment}.ipynb").write_text(NB)
    return root


def make_zip(path, members, when=(2026, 3, 1, 12, 30, 0)):
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in members.items():
            zf.writestr(zipfile.ZipInfo(name, date_time=when), text)
    return path


def run(root, zip_path, **kw):
    lines = []
    ids = collect(zip_path, "a2_convolution", root, out=lines.append, **kw)
    return ids, "\n".join(lines)


def files_of(root, user_id, assignment="a2_convolution"):
    folder = root / "submitted" / user_id / assignment
    return sorted(p.name for p in folder.iterdir())


def test_students_are_their_lms_user_ids_and_namesakes_stay_apart(tmp_path):
    root = course(tmp_path)
    z = make_zip(tmp_path / "d.zip", {
        "smithjane_12345_67890_a2_convolution.ipynb": "A",
        "smithjane_22222_67891_a2_convolution.ipynb": "B",  # another Jane Smith
    })
    ids, said = run(root, z)
    assert sorted(ids) == ["12345", "22222"]
    assert (root / "submitted/12345/a2_convolution/a2_convolution.ipynb").read_text() == "A"
    assert (root / "submitted/22222/a2_convolution/a2_convolution.ipynb").read_text() == "B"
    assert files_of(root, "12345") == ["a2_convolution.ipynb", "timestamp.txt"]


def test_resubmissions_keep_the_newest_and_say_so(tmp_path):
    root = course(tmp_path)
    z = make_zip(tmp_path / "d.zip", {
        "smithjane_12345_67890_a2_convolution.ipynb": "old",
        "smithjane_12345_70001_a2_convolution-2.ipynb": "newest",
        "smithjane_12345_69000_a2_convolution-1.ipynb": "middle",
    })
    ids, said = run(root, z)
    assert ids == ["12345"]
    assert (root / "submitted/12345/a2_convolution/a2_convolution.ipynb").read_text() == "newest"
    assert "newest of 67890, 69000, 70001: kept 70001" in said
    # an older download collected later does not replace the newer submission
    older = make_zip(tmp_path / "old.zip", {"smithjane_12345_67890_a2_convolution.ipynb": "old"})
    ids, said = run(root, older)
    assert ids == [] and "collected earlier is newer" in said
    assert (root / "submitted/12345/a2_convolution/a2_convolution.ipynb").read_text() == "newest"


def test_lateness_is_recorded(tmp_path):
    root = course(tmp_path)
    z = make_zip(tmp_path / "d.zip", {"doejohn_late_555_777_a2_convolution.ipynb": "x",
                                      "roeann_556_778_a2_convolution.ipynb": "y"})
    _, said = run(root, z)
    manifest = read_manifest(root, "a2_convolution")
    assert manifest["555"]["late"] is True and manifest["556"]["late"] is False
    assert "[late]" in said
    stamp = (root / "submitted/555/a2_convolution/timestamp.txt").read_text()
    assert stamp == "2026-03-01 12:30:00"


def test_non_ascii_and_backslash_names_are_collected_under_their_own_id(tmp_path):
    root = course(tmp_path)
    z = make_zip(tmp_path / "d.zip", {
        "müllerjürgen_301_401_a2_convolution.ipynb": "umlaut",
        "李雷_302_402_a2_convolution.ipynb": "cjk",
        # a backslash is part of the uploaded file's name, not a folder: never student 999
        "evebad_303_403_x\\mallory_999_888_a2_convolution.ipynb": "backslash",
        "folder/roeann_304_404_a2_convolution.ipynb": "in a folder",
    })
    ids, said = run(root, z)
    assert sorted(ids) == ["301", "302", "303", "304"]
    assert not (root / "submitted" / "999").exists()
    assert (root / "submitted/302/a2_convolution/a2_convolution.ipynb").read_text() == "cjk"
    assert files_of(root, "303") == ["timestamp.txt", "x_mallory_999_888_a2_convolution.ipynb"]
    assert "collected 301: a2_convolution.ipynb" in said


def test_names_not_flagged_utf8_are_decoded(tmp_path):
    root = course(tmp_path)
    path = tmp_path / "d.zip"
    name = "garcíajosé_310_410_a2_convolution.ipynb".encode()
    placeholder = b"g" * name.index(b"_") + name[name.index(b"_"):]  # same length, ASCII
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(placeholder.decode(), "ok")
    path.write_bytes(path.read_bytes().replace(placeholder, name))  # raw UTF-8, flag not set
    with zipfile.ZipFile(path) as zf:
        assert not zf.infolist()[0].flag_bits & 0x800
    ids, _ = run(root, path)
    assert ids == ["310"]


def test_files_that_do_not_match_are_reported_by_name_and_nothing_aborts(tmp_path):
    root = course(tmp_path)
    z = make_zip(tmp_path / "d.zip", {
        "notes from the TA.txt": "?",
        "ünïcode_no_ids.ipynb": "?",
        "ctrl\x01name.ipynb": "?",
        "smithjane_12345_67890_a2_convolution.ipynb": "A",
        "smithjane_12345_67890_extra data.csv": "1,2",
    })
    ids, said = run(root, z)
    assert ids == ["12345"]
    assert "skipped (name does not match the LMS pattern): notes from the TA.txt" in said
    assert "ünïcode_no_ids.ipynb" in said and "ctrl\\x01name.ipynb" in said
    assert files_of(root, "12345") == ["a2_convolution.ipynb", "extra data.csv", "timestamp.txt"]


def test_a_corrupt_member_is_reported_and_the_class_is_collected(tmp_path):
    root = course(tmp_path)
    path = make_zip(tmp_path / "d.zip", {"aa_1_11_a2_convolution.ipynb": "A" * 50,
                                         "bb_2_22_a2_convolution.ipynb": "B" * 50})
    data = bytearray(path.read_bytes())
    data[data.index(b"A" * 50)] = ord("Z")  # CRC mismatch in student 1's file
    path.write_bytes(bytes(data))
    ids, said = run(root, path)
    assert sorted(ids) == ["1", "2"]
    assert "could not read aa_1_11_a2_convolution.ipynb" in said
    assert (root / "submitted/2/a2_convolution/a2_convolution.ipynb").read_text() == "B" * 50
    assert files_of(root, "1") == ["timestamp.txt"]  # graded as 'no notebook', by name


def test_roster_names_students_and_reports_the_rest(tmp_path):
    root = course(tmp_path)
    (root / "roster.csv").write_text("id,name,section\n12345,Jane Smith,A\n999,Nobody Here,B\n")
    z = make_zip(tmp_path / "d.zip", {"smithjane_12345_1_a2_convolution.ipynb": "A",
                                      "stranger_777_2_a2_convolution.ipynb": "S"})
    _, said = run(root, z)
    assert "collected 12345 (Jane Smith, A)" in said
    assert "collected 777: a2_convolution.ipynb [not on the roster]" in said
    assert "no submission from 1 on the roster: 999" in said


def test_a_roster_without_its_columns_is_refused(tmp_path):
    bad = tmp_path / "r.csv"
    bad.write_text("user,fullname\n1,x\n")
    with pytest.raises(ValueError, match="missing id, name, section"):
        read_roster(bad)


def test_staging_keeps_the_exchange_files_without_flagging_them(tmp_path):
    from instructor.grading.submissions import Submission, stage

    root = course(tmp_path)
    folder = root / "submitted" / "alice" / "a2_convolution"
    folder.mkdir(parents=True)
    (folder / "a2_convolution.ipynb").write_text(NB)
    (folder / "timestamp.txt").write_text("2026-03-01 12:00:00.000000 UTC")
    (folder / "submission_secret.txt").write_text("s3cret")
    (folder / "notes.txt").write_text("extra")
    sub = Submission("alice", "a2_convolution")
    stage(root, sub)
    assert sub.failure is None
    assert sub.notes == ["ignored extra files: notes.txt"]
    staged = sub.staged.parent
    assert (staged / "submission_secret.txt").read_text() == "s3cret"
    assert (staged / "timestamp.txt").is_file() and not (staged / "notes.txt").exists()


def test_the_command_line_collects_and_refuses_unknown_assignments(tmp_path, capsys):
    from instructor.grading.collect import main

    root = course(tmp_path)
    archive = make_zip(tmp_path / "d.zip", {
        "smithjane_12345_67890_a2_convolution.ipynb": NB,
        "doejohn_late_22222_33333_a2_convolution-1.ipynb": NB,
        "roefred_44444_55555_my work.ipynb": NB,
        "readme.txt": "not a submission",
    })
    assert main(["--assignment", "a2_convolution", "--root", str(root), str(archive)]) == 0
    out = capsys.readouterr().out
    submitted = sorted(str(p.relative_to(root / "submitted"))
                       for p in (root / "submitted").rglob("*.ipynb"))
    assert submitted == ["12345/a2_convolution/a2_convolution.ipynb",
                         "22222/a2_convolution/a2_convolution.ipynb",
                         "44444/a2_convolution/my work.ipynb"]
    assert "skipped (name does not match the LMS pattern): readme.txt" in out
    assert "3 submissions of a2_convolution" in out
    with pytest.raises(SystemExit):
        main(["--assignment", "a9_nothing", "--root", str(root), str(archive)])
    assert "assignment must be one of the course's assignments" in capsys.readouterr().err
