"""Export to the LMS: Canvas' import columns, scores equal to grades.csv, one zip of feedback."""

import csv
import zipfile

import nbformat
import pytest

from instructor.grading.collect import collect
from instructor.grading.export import (
    CANVAS_COLUMNS,
    canvas_rows,
    export,
    feedback_zip,
    parse_lms_ids,
    with_banner,
)
from instructor.grading.pipeline import refresh
from tests.support.course import make_course, read_csv, released, run

ASSIGNMENT = "a2_convolution"


def test_canvas_table_has_the_import_columns_and_one_column_per_assignment():
    rows = [
        {"student_id": "12345", "assignment": "a1", "score": "7.5", "max_score": "24"},
        {"student_id": "12345", "assignment": "a2", "score": "3", "max_score": "28"},
        {"student_id": "678", "assignment": "a1", "score": "0", "max_score": "24"},
    ]
    roster = {"12345": {"id": "12345", "name": "=cmd|' /C calc'!A0", "section": "B"},
              "999": {"id": "999", "name": "Absent Al", "section": "A"}}
    table = canvas_rows(rows, roster, {"a2": "4567"})
    assert table[0] == list(CANVAS_COLUMNS) + ["a1", "a2 (4567)"]
    assert table[1] == ["Points Possible", "", "", "", "", "24", "28"]
    by_id = {r[1]: r for r in table[2:]}
    assert by_id["12345"] == ["'=cmd|' /C calc'!A0", "12345", "", "", "B", "7.5", "3"]
    assert by_id["678"][5:] == ["0", ""]  # no a2 submission: empty, which Canvas skips
    assert by_id["999"][5:] == ["", ""]


def test_lms_ids_are_checked():
    assert parse_lms_ids(["a2=17", " a1 = 3 "]) == {"a2": "17", "a1": "3"}
    with pytest.raises(ValueError, match="a2_convolution=4567"):
        parse_lms_ids(["a2:17"])


def test_banner_goes_at_the_top_of_the_body():
    page = with_banner('<html><body class="x"><h1>T</h1></body></html>', "Provisional <b>")
    assert page.index("Provisional &lt;b&gt;") < page.index("<h1>")
    assert page.index('<body class="x">') < page.index("Provisional")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """A course with an LMS zip collected and graded: one unsolved notebook, one broken file."""
    tmp = tmp_path_factory.mktemp("export")
    root = make_course(tmp, [ASSIGNMENT])
    (root / "roster.csv").write_text("id,name,section\n101,Ada Byron,A\n102,Alan T,B\n"
                                     "103,Grace H,A\n")
    nb = released(root, ASSIGNMENT)
    for cell in nb.cells:  # written answers given: they wait for a grader
        if cell.cell_type == "markdown" and cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = "My answer, for a human to grade."

    archive = tmp / "lms.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(f"byronada_101_1_{ASSIGNMENT}.ipynb", nbformat.writes(nb))
        zf.writestr(f"talan_late_102_2_{ASSIGNMENT}.ipynb", "{ not json")
    collect(archive, ASSIGNMENT, root, out=lambda *_: None)
    run(root)
    return root


def test_export_scores_match_grades_csv(graded):
    root = graded
    export(root, {ASSIGNMENT: "4567"}, out=lambda *_: None)
    grades = {r["student_id"]: r for r in read_csv(root)}
    assert set(grades) == {"101", "102"}
    assert grades["102"]["status"].startswith("failed: notebook is not valid JSON")
    with (root / "export" / "canvas_gradebook.csv").open(newline="") as fh:
        table = list(csv.reader(fh))
    column = table[0].index(f"{ASSIGNMENT} (4567)")
    assert table[0][:5] == list(CANVAS_COLUMNS)
    assert table[1][column] == grades["101"]["max_score"]
    by_id = {r[1]: r for r in table[2:]}
    for student, row in grades.items():
        assert float(by_id[student][column]) == float(row["score"])
    assert by_id["101"][0] == "Ada Byron" and by_id["101"][4] == "A"
    assert by_id["103"][column] == ""  # on the roster, nothing submitted
    with (root / "export" / "grades.csv").open(newline="") as fh:
        named = {r["student_id"]: r for r in csv.DictReader(fh)}
    assert named["102"]["late"] == "yes" and named["101"]["late"] == "no"
    assert named["102"]["name"] == "Alan T"


def test_nbgrader_export_never_touches_grades_csv(graded):
    root = graded
    before = (root / "grades.csv").read_text()
    export(root, with_nbgrader=True, out=lambda *_: None)
    assert (root / "grades.csv").read_text() == before
    text = (root / "export" / "nbgrader_grades.csv").read_text()
    assert "101" in text and "student_id" in text


def test_feedback_zip_has_a_page_for_every_submission(graded):
    root = graded
    refresh(root, out=lambda *_: None)
    path = feedback_zip(root, out=lambda *_: None)
    with zipfile.ZipFile(path) as zf:
        names = sorted(zf.namelist())
        assert names == [f"101/{ASSIGNMENT}.html", f"102/{ASSIGNMENT}.html"]
        failed = zf.read(f"102/{ASSIGNMENT}.html").decode()
        graded_page = zf.read(f"101/{ASSIGNMENT}.html").decode()
    assert "not valid JSON" in failed and "<script" not in failed
    assert "Provisional" in graded_page  # its written answers are not graded yet
    page = root / "feedback" / "101" / ASSIGNMENT / f"{ASSIGNMENT}.html"
    assert "Provisional feedback" in page.read_text()  # nbgrader's page says so itself
    assert read_csv(root)[0]["status"] == "needs manual grading"
    assert len(graded_page) > 10_000  # nbgrader's page, not a status page


def test_the_mark_scheme_goes_under_each_written_answer_on_formgrader_pages_only():
    from instructor.grading.markscheme import MarkScheme, mark_scheme
    from instructor.paths import COURSE

    assert mark_scheme("Model.\n=== BEGIN MARK SCHEME ===\n2 points: x\n=== END MARK SCHEME ===") \
        == "2 points: x"
    assert mark_scheme("### BEGIN SOLUTION\nThe answer.\n### END SOLUTION") == "The answer."
    nb = nbformat.read(str(COURSE / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"), 4)
    answers = [c.metadata["nbgrader"]["grade_id"] for c in nb.cells
               if c.cell_type == "markdown" and c.metadata.get("nbgrader", {}).get("solution")]
    assert answers
    page = {"submission_id": "x", "assignment_id": ASSIGNMENT, "notebook_id": ASSIGNMENT}
    shown, _ = MarkScheme(root=str(COURSE)).preprocess(nbformat.from_dict(nb), dict(page))
    boxes = [c for c in shown.cells if "mark-scheme" in c.metadata.get("tags", [])]
    assert [b.source.split("`")[1] for b in boxes] == answers
    feedback, _ = MarkScheme(root=str(COURSE)).preprocess(nbformat.from_dict(nb), {})
    assert len(feedback.cells) == len(nb.cells)  # not the formgrader: nothing added
