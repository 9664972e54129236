"""Hardened grading: verdicts come from the judge, whatever the student's code does."""

import copy
import json
import os
import textwrap

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from instructor.engine import cache, isolation
from instructor.engine.driver import grade_notebook
from instructor.engine.judge import WITHHELD
from instructor.engine.limits import Limits
from instructor.engine.results import METADATA_KEY
from instructor.grading.execute import HardenedExecute
from instructor.paths import ROOT

LIMITS = Limits(cell_timeout=3.0, total_timeout=60.0, memory_mb=512, output_bytes=10_000)

SETUP = "import numpy as np"
SOLUTION = '''
def relu_forward(x):
    """Elementwise max(0, x); returns (out, cache)."""
    out = np.maximum(0, x)
    return out, x


def relu_backward(dout, cache):
    """Gradient of relu_forward."""
    return dout * (cache > 0)
'''
WRONG = '''
def relu_forward(x):
    """Wrong: the identity."""
    return x.copy(), x


def relu_backward(dout, cache):
    """Wrong: passes everything through."""
    return dout.copy()
'''
TEST_FORWARD = """
import numpy as np
x = np.array([[-1.0, 2.0], [3.0, -4.0]])
out, _ = relu_forward(x)
assert out.shape == (2, 2), f"out has shape {out.shape}, expected (2, 2)"
assert np.allclose(out, [[0.0, 2.0], [3.0, 0.0]]), "relu_forward should zero the negatives"
np.testing.assert_allclose(np.abs(out), out)
assert abs(float(out.sum()) - 5.0) < 1e-12, "relu_forward values are wrong"
"""
TEST_BACKWARD = """
import numpy as np
rng = np.random.default_rng(0)
x = rng.standard_normal((3, 4))
dout = rng.standard_normal((3, 4))
_, cache = relu_forward(x)
dx = relu_backward(dout, cache)
assert dx.shape == x.shape, f"dx has shape {dx.shape}, expected {x.shape}"
### BEGIN HIDDEN TESTS
x2 = rng.standard_normal((5, 2)) - 0.5
_, cache2 = relu_forward(x2)
dx2 = relu_backward(np.ones_like(x2), cache2)
assert np.array_equal(dx2, (x2 > 0).astype(float)), "relu backward, shifted input, dx wrong"
### END HIDDEN TESTS
"""
TEST_UNMODIFIED = """
import numpy as np
from instructor.engine.proxy import last_call
x = np.array([-1.0, 2.0, -3.0])
relu_forward(x)
changed = last_call().modified
assert not changed, f"{last_call().name} modified its input {changed[0]} in place"
"""


def student(source, gid=None):
    meta = {}
    if gid:
        meta = {"grade": False, "grade_id": gid, "locked": False, "solution": True}
        meta = {"nbgrader": dict(meta, schema_version=3)}
    return new_code_cell(textwrap.dedent(source), metadata=meta)


def graded(gid, source, points=1):
    meta = {"grade": True, "grade_id": gid, "locked": True, "points": points, "solution": False}
    return new_code_cell(
        textwrap.dedent(source), metadata={"nbgrader": dict(meta, schema_version=3)}
    )


def notebook(*middle, solution=SOLUTION, tests=None):
    """setup, solution, the given student cells, then the three test cells."""
    tests = tests or [
        graded("test_forward", TEST_FORWARD),
        graded("test_backward", TEST_BACKWARD),
        graded("test_unmodified", TEST_UNMODIFIED),
    ]
    cells = [new_markdown_cell("# Tiny assignment"), student(SETUP), student(solution, "relu")]
    return new_notebook(cells=cells + [student(m) for m in middle] + tests)


def grade(nb, tmp_path, limits=LIMITS):
    work = tmp_path / "submission"
    work.mkdir(exist_ok=True)
    return grade_notebook(nb, work, limits)


def statuses(result):
    return {c.grade_id: c.status for c in result.cells if c.grade_id and "test" in c.grade_id}


def isolated(result):
    return any("worker isolated" in n for n in result.notes)


def outputs_text(result):
    return json.dumps([c.get("outputs", []) for c in result.nb.cells])


ALL_PASS = {"test_forward": "passed", "test_backward": "passed", "test_unmodified": "passed"}
ALL_FAIL = {"test_forward": "failed", "test_backward": "failed", "test_unmodified": "passed"}


def test_correct_solution_passes_everything_and_test_cells_stay_silent(tmp_path):
    result = grade(notebook(), tmp_path)
    assert statuses(result) == ALL_PASS
    assert result.problems == []
    for cell in result.nb.cells:
        if cell.cell_type == "code" and "test" in (cell.metadata.get("nbgrader") or {}).get(
            "grade_id", ""
        ):
            assert cell.outputs == []
    meta = result.nb.metadata["hardened_grading"]
    assert meta["problems"] == [] and len(meta["cells"]) == len(result.cells)


def test_wrong_solution_fails_with_visible_feedback(tmp_path):
    result = grade(notebook(solution=WRONG), tmp_path)
    assert statuses(result) == ALL_FAIL
    forward = result.nb.cells[3]
    (error,) = forward.outputs
    assert error.output_type == "error" and error.ename == "AssertionError"
    assert "relu_forward should zero the negatives" in error.evalue
    assert any("assert np.allclose(out" in line for line in error.traceback)


def test_hidden_failure_names_the_exception_but_never_the_hidden_source(tmp_path):
    result = grade(notebook(solution=WRONG_BACKWARD), tmp_path)
    assert statuses(result)["test_backward"] == "failed"
    (error,) = result.nb.cells[4].outputs
    text = "\n".join(error.traceback)
    assert text == (
        "A hidden test in this cell failed: AssertionError: relu backward, shifted input, dx wrong"
    )
    assert "x2" not in outputs_text(result) and "HIDDEN" not in outputs_text(result)


def test_hidden_message_is_cut_to_300_characters(tmp_path):
    source = "x = 1\n### BEGIN HIDDEN TESTS\nassert relu_forward is None, 'q' * 1000\n"
    source += "### END HIDDEN TESTS\n"
    result = grade(notebook(tests=[graded("test_long", source)]), tmp_path)
    (error,) = result.nb.cells[-1].outputs
    assert error.evalue == "q" * 300
    assert "relu_forward is None" not in outputs_text(result)


ATTACKS = {
    "np.allclose": "np.allclose = lambda *a, **k: True",
    "np.testing": "np.testing.assert_allclose = lambda *a, **k: None",
    "np.abs": "np.abs = lambda x: x",
    "builtins.AssertionError": """
        import builtins
        builtins.AssertionError = type("AssertionError", (Exception,), {})
    """,
    "builtins.abs": "import builtins\nbuiltins.abs = lambda x: 0.0",
    "shadowed builtins": "def abs(x):\n    return 0.0\nall = any = lambda *a: True",
    "excepthook": """
        import sys
        sys.excepthook = lambda *a: None
        sys.displayhook = lambda *a: None
    """,
    "ipython display": "get_ipython().showtraceback = lambda *a, **k: None",
    "trusted module monkeypatch at call time": """
        _inner = relu_forward
        def relu_forward(x):
            import numpy, builtins
            numpy.allclose = lambda *a, **k: True
            numpy.array_equal = lambda *a, **k: True
            builtins.abs = lambda x: 0
            return _inner(x)
    """,
    "fake int equal to everything": """
        class Liar(float):
            def __eq__(self, other):
                return True
            def __lt__(self, other):
                return True
        _inner = relu_forward
        def relu_forward(x):
            out, cache = _inner(x)
            return Liar(0), cache
    """,
    "object posing as an array": """
        class Fake:
            shape = (2, 2)
            def __array__(self, dtype=None, copy=None):
                return np.array([[0.0, 2.0], [3.0, 0.0]])
        def relu_forward(x):
            return Fake(), x
    """,
}


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_tampering_cannot_rescue_a_wrong_solution(tmp_path, name):
    result = grade(notebook(ATTACKS[name], solution=WRONG), tmp_path)
    got = statuses(result)
    assert got["test_forward"] in {"failed", "error"}, got
    assert got["test_backward"] in {"failed", "error"}, got


SMUGGLES_BUILTINS = """
import sys
_Worker = sys.modules["instructor.engine.worker"].Worker
_reply = _Worker.reply
def _smuggling(self, act, snapshot=False):
    if snapshot:
        inner = act
        def act():
            return dict(inner(), range=lambda *a: [], len=lambda *a: 0, __builtins__={})
    return _reply(self, act, snapshot)
_Worker.reply = _smuggling
"""
LOOPED_TEST = """
import numpy as np
for _ in range(3):
    x = np.array([-1.0, 2.0])
    assert relu_forward(x)[0].tolist() == [0.0, 2.0], "relu_forward values are wrong"
"""


def test_a_snapshot_brings_only_the_names_the_test_cell_reads(tmp_path):
    """A worker patched to add builtins to the snapshot (an empty range) rescues nothing."""
    tests = [graded("test_loop", LOOPED_TEST)]
    result = grade(notebook(SMUGGLES_BUILTINS, solution=WRONG, tests=tests), tmp_path)
    assert statuses(result) == {"test_loop": "failed"}, result.problems
    assert statuses(grade(notebook(SMUGGLES_BUILTINS, tests=tests), tmp_path)) == {
        "test_loop": "passed"}


def test_swallowing_every_error_returns_junk_that_fails(tmp_path):
    junk = """
    def relu_forward(x):
        try:
            raise NotImplementedError()
        except:  # noqa
            return np.zeros((2, 2)) + 1.0, x
    """
    result = grade(notebook(junk), tmp_path)
    assert statuses(result)["test_forward"] == "failed"


def test_sys_exit_inside_a_called_function_is_an_error(tmp_path):
    attack = "def relu_forward(x):\n    import sys\n    sys.exit(0)"
    result = grade(notebook(attack), tmp_path)
    got = statuses(result)
    assert got["test_forward"] == "error" and got["test_unmodified"] == "error"
    assert "RuntimeError: SystemExit: 0" in outputs_text(result)
    assert got["test_backward"] == "error"


def test_sys_exit_at_top_level_is_recorded_and_grading_goes_on(tmp_path):
    result = grade(notebook("import sys\nsys.exit(0)"), tmp_path)
    assert statuses(result) == ALL_PASS
    assert any(c.status == "error" and "SystemExit" in c.message for c in result.cells)


@pytest.mark.parametrize(
    "attack, words",
    [
        ("import os\nos._exit(0)", "worker exited with code 0 while cell 3 ran"),
        ("import ctypes\nctypes.string_at(0)", "signal 11 (segmentation fault) while cell 3"),
    ],
    ids=["os._exit", "segfault"],
)
def test_worker_death_at_top_level_is_recorded_and_later_tests_still_graded(
    tmp_path, attack, words
):
    result = grade(notebook(attack), tmp_path)
    assert statuses(result) == ALL_PASS
    assert [c.status for c in result.cells if c.index == 3] == ["crashed"]
    assert any(words in p for p in result.problems), result.problems


@pytest.mark.parametrize(
    "body, words",
    [
        ("import os; os._exit(0)", "worker exited with code 0 while cell 4 (test_forward) ran"),
        ("import ctypes; ctypes.string_at(0)", "signal 11 (segmentation fault)"),
    ],
    ids=["os._exit", "segfault"],
)
def test_worker_death_inside_a_called_function_fails_that_test_only(tmp_path, body, words):
    attack = "_real = relu_forward\ndef relu_forward(x):\n    if x.shape == (2, 2):\n"
    attack += f"        {body}\n    return _real(x)"
    result = grade(notebook(attack), tmp_path)
    assert statuses(result) == {
        "test_forward": "crashed",
        "test_backward": "passed",
        "test_unmodified": "passed",
    }
    assert any(words in p for p in result.problems), result.problems
    (error,) = result.nb.cells[4].outputs
    assert error.output_type == "error"


def test_infinite_loop_at_top_level_times_out_and_later_tests_still_graded(tmp_path):
    result = grade(notebook("while True:\n    pass"), tmp_path)
    assert statuses(result) == ALL_PASS
    assert [c.status for c in result.cells if c.index == 3] == ["timeout"]
    assert "cell 3: time limit of 3 s exceeded" in result.problems


def test_infinite_loop_inside_a_called_function_times_out_that_test_only(tmp_path):
    attack = "_real = relu_forward\ndef relu_forward(x):\n    while x.shape == (2, 2):\n"
    attack += "        pass\n    return _real(x)"
    result = grade(notebook(attack), tmp_path)
    assert statuses(result) == {
        "test_forward": "timeout",
        "test_backward": "passed",
        "test_unmodified": "passed",
    }
    assert "cell 4 (test_forward): time limit of 3 s exceeded" in result.problems


def test_total_time_limit_marks_the_rest_not_run(tmp_path):
    limits = Limits(cell_timeout=3.0, total_timeout=2.0, memory_mb=512, output_bytes=10_000)
    result = grade(notebook("import time\ntime.sleep(30)"), tmp_path, limits)
    assert set(statuses(result).values()) == {"not run"}
    assert any("total time limit of 2 s exceeded" in p for p in result.problems)


@pytest.mark.parametrize(
    "attack",
    [
        "big = np.ones((2**31,))",
        "chunks = []\nwhile True:\n    chunks.append(bytearray(2**24))",
    ],
    ids=["numpy", "list"],
)
def test_memory_bomb_is_contained(tmp_path, attack):
    result = grade(notebook(attack), tmp_path)
    assert statuses(result) == ALL_PASS
    assert any("memory limit of 512 MB exceeded in cell 3" in p for p in result.problems)


def test_enormous_output_is_truncated(tmp_path):
    result = grade(notebook("print('x' * 10**7)\nfor i in range(10**5):\n    print(i)"), tmp_path)
    assert statuses(result) == ALL_PASS
    (stream,) = result.nb.cells[3].outputs
    assert len(stream.text) < 10_100 and "output truncated at 10000 bytes" in stream.text
    assert "output of cell 3 truncated at 10000 bytes" in result.problems


def test_student_files_are_a_copy_and_outside_files_hidden(tmp_path):
    work = tmp_path / "submission"
    work.mkdir()
    (work / "data.txt").write_text("student data")
    secret = ROOT / "instructor" / "engine" / "driver.py"
    probe = f"""
        print(open("data.txt").read())
        open("data.txt", "w").write("changed")
        import os
        paths = [{str(secret)!r}, {str(work / "data.txt")!r}, {str(ROOT / ".git")!r}]
        for path in paths:
            try:
                size = len(os.listdir(path) if os.path.isdir(path) else open(path).read())
                print(path, "visible", size)
            except OSError as exc:
                print(path, "hidden", type(exc).__name__)
    """
    result = grade_notebook(notebook(probe), work, LIMITS)
    text = result.nb.cells[3].outputs[0].text
    assert text.startswith("student data\n")
    assert (work / "data.txt").read_text() == "student data"
    if isolated(result):
        assert f"{secret} hidden" in text and f"{work / 'data.txt'} hidden" in text
        git = ROOT / ".git"  # covered by an empty folder, or gone with a fresh /tmp
        assert f"{git} visible 0" in text or f"{git} hidden" in text
    else:
        assert any("scratch copy only" in n for n in result.notes)


def test_network_is_unreachable_or_the_notes_say_so(tmp_path):
    probe = """
        import socket
        try:
            socket.create_connection(("127.0.0.1", 22), timeout=1)
            print("connected")
        except OSError as exc:
            print("refused" if isinstance(exc, ConnectionRefusedError) else "unreachable")
    """
    result = grade(notebook(probe), tmp_path)
    text = result.nb.cells[3].outputs[0].text
    if isolated(result):
        assert text == "unreachable\n"
    else:
        assert any("with network" in n or "scratch copy only" in n for n in result.notes)


def test_without_namespaces_the_notes_say_so(tmp_path, monkeypatch):
    monkeypatch.setattr(isolation, "ISOLATE", False)
    result = grade(notebook(), tmp_path)
    assert statuses(result) == ALL_PASS
    assert any("namespaces not used" in n for n in result.notes)
    assert not isolated(result)


def test_in_place_modification_is_detected_and_named(tmp_path):
    inplace = '''
    def relu_forward(x):
        """Correct values, but clobbers the input."""
        np.maximum(0, x, out=x)
        return x.copy(), x
    '''
    result = grade(notebook(inplace), tmp_path)
    assert statuses(result)["test_unmodified"] == "failed"
    (error,) = result.nb.cells[-1].outputs
    assert error.evalue == "relu_forward modified its input x in place"
    assert statuses(result)["test_forward"] == "failed"  # a test that never asks fails too


OVERWRITE = """
def relu_forward(x):
    x[...] = 0.0  # make whatever the test computes from x afterwards agree
    return np.zeros_like(x), x
"""
TEST_AFTER_CALL = """
import numpy as np
x = np.array([[-1.0, 2.0], [3.0, -4.0]])
out, _ = relu_forward(x)
assert np.array_equal(x, [[-1.0, 2.0], [3.0, -4.0]]), "the judge's copy changed"
assert np.allclose(out, np.maximum(x, 0)), "relu_forward values are wrong"
"""


def test_overwriting_an_input_changes_nothing_the_judge_computes_from(tmp_path):
    tests = [graded("test_after", TEST_AFTER_CALL)]
    assert statuses(grade(notebook(tests=tests), tmp_path)) == {"test_after": "passed"}
    result = grade(notebook(OVERWRITE, tests=tests), tmp_path)
    assert statuses(result) == {"test_after": "failed"}
    assert "relu_forward values are wrong" in outputs_text(result)


IN_PLACE_KINDS = """
def modifies(a, b, cache, *, scale):
    cache[1][0] += 1.0
    scale *= 2.0
    return a.sum()
"""
TEST_IN_PLACE_KINDS = """
import numpy as np
from instructor.engine.proxy import last_call
a, b = np.ones(3), np.ones((0, 2))
cache = (np.zeros(1), [np.zeros(2)])
scale = np.ones(2)
assert modifies(a, b, cache, scale=scale) == 3.0
assert last_call().modified == ("cache[1][0]", "scale"), last_call().modified
assert last_call().after["scale"].tolist() == [2.0, 2.0] and scale.tolist() == [1.0, 1.0]
assert cache[1][0].tolist() == [0.0, 0.0]
"""


def test_in_place_changes_are_named_by_parameter_and_position(tmp_path):
    nb = notebook(IN_PLACE_KINDS, tests=[graded("test_kinds", TEST_IN_PLACE_KINDS)])
    result = grade(nb, tmp_path)
    assert statuses(result) == {"test_kinds": "passed"}, outputs_text(result)


EXCEPTIONS = """
class StudentError(Exception):
    pass

def raises(kind):
    if kind == "value":
        raise ValueError("windows do not fit")
    if kind == "custom":
        raise StudentError("mine")
    if kind == "interrupt":
        raise KeyboardInterrupt()
    if kind == "memory":
        raise MemoryError("pretend")
    return kind
"""
TEST_EXCEPTIONS = """
try:
    raises("value")
except ValueError as exc:
    assert str(exc) == "windows do not fit"
else:
    raise AssertionError("no ValueError")
try:
    raises("custom")
except RuntimeError as exc:
    assert str(exc) == "StudentError: mine", str(exc)
try:
    raises("interrupt")
except RuntimeError as exc:
    assert str(exc).startswith("KeyboardInterrupt"), str(exc)
try:
    raises("memory")
except MemoryError as exc:
    assert str(exc) == "pretend"
assert raises("ok") == "ok"
"""


def test_exceptions_map_to_builtin_types_or_runtime_error(tmp_path):
    nb = notebook(EXCEPTIONS, tests=[graded("test_exceptions", TEST_EXCEPTIONS)])
    result = grade(nb, tmp_path)
    assert statuses(result) == {"test_exceptions": "passed"}


MODEL = '''
class Model:
    """A tiny model with parameters and a loss."""

    def __init__(self):
        self.params = {"W": np.arange(6.0).reshape(2, 3), "b": np.zeros(3)}
        self.history = [1.0, 0.5]

    def loss(self, X, y=None):
        scores = X @ self.params["W"] + self.params["b"]
        if y is None:
            return scores
        return float(scores.sum()), {"W": np.ones((2, 3)), "b": np.ones(3)}

    def __len__(self):
        return 2

model = Model()
cache_like = (object(), np.ones(2))
'''
TEST_MODEL = """
import numpy as np
assert type(model.params) is dict and model.params["W"].shape == (2, 3)
X = np.ones((4, 2))
assert model.loss(X).shape == (4, 3)
loss, grads = model.loss(X, np.zeros(4))
assert isinstance(loss, float) and set(grads) == {"W", "b"}
assert model.history == [1.0, 0.5] and len(model) == 2
model.scale = 2.0
assert model.scale == 2.0
handle, ones = cache_like
assert type(ones) is np.ndarray and "student object" in repr(handle)
params = model.params
params["W"][0, 0] = 100.0
assert model.loss(np.ones((1, 2)))[0, 0] == 103.0, "changes to read arrays reach the student"
params["W"][0, 0] = 0.0
assert model.loss(np.ones((1, 2)))[0, 0] == 3.0
"""


def test_objects_are_proxied_and_plain_data_is_copied(tmp_path):
    nb = notebook(MODEL, tests=[graded("test_model", TEST_MODEL)])
    result = grade(nb, tmp_path)
    assert statuses(result) == {"test_model": "passed"}, outputs_text(result)


def test_grading_twice_gives_identical_results(tmp_path):
    nb = notebook("print('hello')", "1 / 0", solution=WRONG)
    first, second = grade(nb, tmp_path), grade(nb, tmp_path)
    assert first.cells == second.cells and first.problems == second.problems  # times aside
    report = first.nb.metadata[METADATA_KEY]
    times = [cell["seconds"] for cell in report["cells"]]
    assert min(times) >= 0 and sum(times) > 0, times
    for result in (first, second):  # the wall time of each cell is a measure, not an outcome
        for cell in result.nb.metadata[METADATA_KEY]["cells"]:
            del cell["seconds"]
    assert first.nb == second.nb


def test_the_input_notebook_is_not_modified(tmp_path):
    nb = notebook()
    before = nbformat.writes(nb)
    grade(nb, tmp_path)
    assert nbformat.writes(nb) == before


def test_preprocessor_reuses_cached_results_without_executing(tmp_path, monkeypatch):
    work = tmp_path / "submission"
    work.mkdir()
    nb = notebook(solution=WRONG)
    cache_dir = tmp_path / "cache"
    cache.precompute(nb, work, LIMITS, cache_dir)
    assert len(os.listdir(cache_dir)) == 1

    def refuse(*args, **kwargs):
        raise AssertionError("executed despite a cached result")

    monkeypatch.setattr(cache, "grade_notebook", refuse)
    pre = HardenedExecute(
        cell_timeout=LIMITS.cell_timeout,
        total_timeout=LIMITS.total_timeout,
        memory_mb=LIMITS.memory_mb,
        output_bytes=LIMITS.output_bytes,
        cache_dir=str(cache_dir),
    )
    out, resources = pre.preprocess(nb, {"metadata": {"path": str(work)}})
    assert resources["hardened"]["problems"] == []
    assert {c["grade_id"]: c["status"] for c in resources["hardened"]["cells"]}["test_forward"] == (
        "failed"
    )
    assert out.cells[3].outputs[0].ename == "AssertionError"
    assert "hardened_grading" in out.metadata


def test_preprocessor_grades_without_a_cache(tmp_path):
    work = tmp_path / "submission"
    work.mkdir()
    pre = HardenedExecute(cell_timeout=4.0, total_timeout=60.0, memory_mb=512)
    out, resources = pre.preprocess(notebook(), {"metadata": {"path": str(work)}})
    cells = {c["grade_id"]: c["status"] for c in resources["hardened"]["cells"]}
    assert {k: v for k, v in cells.items() if k and "test" in k} == ALL_PASS


@pytest.mark.parametrize(
    "kwargs", [{"cell_timeout": 0}, {"memory_mb": -1}, {"output_bytes": "many"}]
)
def test_limits_reject_nonsense(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        Limits(**kwargs)


def test_grade_notebook_checks_its_arguments(tmp_path):
    with pytest.raises(ValueError, match="workdir"):
        grade_notebook(notebook(), tmp_path / "missing", LIMITS)
    with pytest.raises(TypeError, match="nb must be"):
        grade_notebook("notebook.ipynb", tmp_path, LIMITS)


TEST_GRADCHECK = """
import numpy as np
from helpers.gradcheck import check_layer, rel_error
x = np.random.default_rng(3).standard_normal((4, 5))
check_layer(relu_forward, relu_backward, {"x": x})
assert rel_error(relu_forward(x)[0], np.maximum(x, 0)) < 1e-12
"""
WRAP_GRADCHECK = """
import helpers.gradcheck
from helpers import gradcheck
gradcheck.check_layer = lambda *args, **kwargs: None
gradcheck.rel_error = lambda a, b: 0.0
from helpers.gradcheck import check_layer, rel_error
"""


WRONG_BACKWARD = SOLUTION.replace("return dout * (cache > 0)", "return dout.copy()")


@pytest.mark.parametrize("solution", [SOLUTION, WRONG_BACKWARD], ids=["correct", "wrong"])
def test_wrapped_gradcheck_helpers_change_nothing(tmp_path, solution):
    nb = notebook(WRAP_GRADCHECK, solution=solution, tests=[graded("test_grad", TEST_GRADCHECK)])
    result = grade(nb, tmp_path)
    expected = "passed" if solution is SOLUTION else "failed"
    assert statuses(result) == {"test_grad": expected}, outputs_text(result)
    if expected == "failed":
        assert "GradientCheckError" in outputs_text(result)


LINEAR = '''
class Linear:
    """Least squares on a linear map: loss(X, y) -> (loss, grads)."""

    def __init__(self):
        rng = np.random.default_rng(0)
        self.params = {"W": rng.standard_normal((3, 2)), "b": np.zeros(2)}

    def loss(self, X, y):
        err = X @ self.params["W"] + self.params["b"] - y  # (N, 2)
        grads = {"W": X.T @ err, "b": err.sum(axis=0)}
        return 0.5 * float((err**2).sum()), grads

model = Linear()
'''
TEST_WHOLE_MODEL = """
import numpy as np
from helpers.gradcheck import check_gradients
rng = np.random.default_rng(1)
X, y = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
loss, grads = model.loss(X, y)
check_gradients(lambda: model.loss(X, y)[0], model.params, grads)
"""


def test_whole_model_gradient_check_sees_parameter_changes(tmp_path):
    nb = notebook(LINEAR, tests=[graded("test_model_grads", TEST_WHOLE_MODEL)])
    result = grade(nb, tmp_path)
    assert statuses(result) == {"test_model_grads": "passed"}, outputs_text(result)
    wrong = LINEAR.replace('"b": err.sum(axis=0)', '"b": err.mean(axis=0)')
    result = grade(notebook(wrong, tests=[graded("test_model_grads", TEST_WHOLE_MODEL)]), tmp_path)
    assert statuses(result) == {"test_model_grads": "failed"}
    assert "grads['b']" in outputs_text(result)


NOISY = """
import sys
_quiet = relu_forward
def relu_forward(x):
    print("debug", x)
    print("warning: noisy", file=sys.stderr)
    return _quiet(x)
"""


def test_student_output_during_a_test_never_reaches_the_test_cell(tmp_path):
    result = grade(notebook(NOISY), tmp_path)
    assert statuses(result) == ALL_PASS
    for cell in result.nb.cells[4:]:
        assert cell.outputs == []


HIDDEN_CALL = """
import numpy as np
def check(value):
    assert value > 0, "value must be positive"
check(1.0)
### BEGIN HIDDEN TESTS
secret_input = np.array([-7.25, 3.5])
check(float(relu_forward(secret_input)[0][0]))
### END HIDDEN TESTS
"""
RAISES = '''
def relu_forward(x):
    """Refuses negative inputs."""
    if (x < 0).any():
        raise ValueError("negative input")
    return x, x
'''


LEAKS = """
def relu_forward(x):
    raise ValueError(f"saw {x.tolist()}")
"""
WRAPS = """
import numpy as np
try:
    relu_forward(np.ones(2))
except ValueError:
    pass
### BEGIN HIDDEN TESTS
secret_input = np.array([-7.25, 3.5])
try:
    relu_forward(secret_input)
except ValueError as error:
    raise AssertionError(f"relu_forward refused the input: {error}") from error
### END HIDDEN TESTS
"""


@pytest.mark.parametrize(
    "solution, test, expected",
    [
        (SOLUTION, HIDDEN_CALL,
         "A hidden test in this cell failed: AssertionError: value must be positive"),
        (RAISES, HIDDEN_CALL, f"A hidden test in this cell failed: ValueError: {WITHHELD}"),
        (LEAKS, HIDDEN_CALL, f"A hidden test in this cell failed: ValueError: {WITHHELD}"),
        (LEAKS, WRAPS, "A hidden test in this cell failed: AssertionError: relu_forward refused "
                       f"the input: {WITHHELD}"),
    ],
    ids=["assert-in-visible-helper", "student-exception", "message-with-the-inputs",
         "message-quoted-by-the-test"],
)
def test_hidden_failures_through_helpers_or_student_errors_stay_hidden(
    tmp_path, solution, test, expected
):
    """A student exception during a hidden test shows its type, never its message (which could
    carry the hidden inputs out); a visible call's exception keeps its message."""
    result = grade(notebook(solution=solution, tests=[graded("test_h", test)]), tmp_path)
    (error,) = result.nb.cells[-1].outputs
    assert error.traceback == [expected]
    assert "secret_input" not in outputs_text(result) and "-7.25" not in outputs_text(result)


def test_a_student_exception_in_a_visible_call_keeps_its_message(tmp_path):
    visible = "import numpy as np\nrelu_forward(np.array([-1.0]))\n"
    result = grade(notebook(solution=RAISES, tests=[graded("test_v", visible)]), tmp_path)
    assert statuses(result) == {"test_v": "error"}
    assert "ValueError: negative input" in outputs_text(result)


def test_syntax_error_in_hidden_tests_does_not_quote_them(tmp_path):
    source = "x = 1\n### BEGIN HIDDEN TESTS\nassert relu_forward(x) ==== 3\n### END HIDDEN TESTS\n"
    result = grade(notebook(tests=[graded("test_syntax", source)]), tmp_path)
    assert statuses(result) == {"test_syntax": "error"}
    assert "====" not in outputs_text(result)


def test_processes_forked_by_student_code_do_not_answer_for_the_worker(tmp_path):
    fork = "import os\nfor _ in range(6):\n    try:\n        os.fork()\n"
    fork += "    except OSError:\n        pass"
    result = grade(notebook(fork), tmp_path)
    assert statuses(result) == ALL_PASS
    assert [c.status for c in result.cells if c.index == 3] == ["ok"]


BROADCAST = """
_real = relu_forward
def relu_forward(x):
    out, cache = _real(x)
    return (out.reshape(-1, 1) if x.size > 1000 else out), cache
"""
TEST_BROADCAST = """
import numpy as np
x = np.random.default_rng(0).standard_normal(20_000)
out, _ = relu_forward(x)
assert np.allclose(out, np.maximum(x, 0)), "relu_forward values are wrong"
"""


def test_a_return_value_that_blows_up_a_comparison_stops_at_the_judges_memory_limit(tmp_path):
    tests = [graded("test_broadcast", TEST_BROADCAST), graded("test_forward", TEST_FORWARD)]
    result = grade(notebook(BROADCAST, tests=tests), tmp_path)
    got = statuses(result)
    assert got["test_broadcast"] == "error" and got["test_forward"] == "passed", got
    assert "MemoryError" in outputs_text(result)
    honest = grade(notebook(tests=tests), tmp_path)
    assert statuses(honest) == {"test_broadcast": "passed", "test_forward": "passed"}


TEST_PLAIN_CALL = """
import numpy as np
x = np.array([[-1.0, 2.0], [3.0, -4.0]])
out, _ = relu_forward(x)
assert np.allclose(out, [[0.0, 2.0], [3.0, 0.0]]), "relu_forward values are wrong"
"""


def test_a_test_that_never_asks_fails_when_an_input_was_changed_in_place(tmp_path):
    inplace = "def relu_forward(x):\n    np.maximum(0, x, out=x)\n    return x.copy(), x"
    tests = [graded("test_plain", TEST_PLAIN_CALL)]
    result = grade(notebook(inplace, tests=tests), tmp_path)
    assert statuses(result) == {"test_plain": "failed"}
    (error,) = result.nb.cells[-1].outputs
    assert error.traceback[-2:] == [
        "    out, _ = relu_forward(x)",
        "AssertionError: relu_forward modified its input x in place; work on a new array instead",
    ]
    assert statuses(grade(notebook(tests=tests), tmp_path)) == {"test_plain": "passed"}


LEAKS = """
import glob, mmap, os, signal, threading
seen, heard = [], []
shared = mmap.mmap(-1, 4096)
read_end, write_end = os.pipe()
os.set_blocking(read_end, False)
signal.signal(signal.SIGUSR1, lambda *a: heard.append("signal"))
_real = relu_forward
def relu_forward(x):
    seen.append(x.tolist())
    text = repr(x.tolist())
    for attempt in (
        lambda: open("leak.txt", "w").write(text),
        lambda: open("/tmp/leak.txt", "a").write(text),
        lambda: os.mkdir("leak_" + str(abs(int(x.ravel()[0] * 100)))),
        lambda: os.write(write_end, text.encode()),
        lambda: os.kill(os.getppid(), signal.SIGUSR1),
        lambda: os.kill(1, signal.SIGUSR1),
    ):
        try:
            attempt()
        except Exception as exc:
            heard.append(type(exc).__name__)
    shared[: len(text)] = text.encode()  # unmapped in the test's copy: it dies here
    return _real(x)
"""
PRINT_LEAKS = """
print("seen", seen, "heard", heard)
print("files", sorted(glob.glob("leak*") + glob.glob("/tmp/leak*")))
try:
    print("pipe", os.read(read_end, 1000))
except BlockingIOError:
    print("pipe empty")
print("shared", bytes(shared[:40]).strip(b"\\0"))
"""


SECRET_CALL = """
import numpy as np
### BEGIN HIDDEN TESTS
secret_input = np.array([-7.25, 3.5])
assert relu_forward(secret_input)[0].tolist() == [0.0, 3.5], "relu_forward values are wrong"
### END HIDDEN TESTS
"""


def test_hidden_inputs_seen_during_a_test_never_reach_a_later_cell(tmp_path):
    tests = [graded("test_h", SECRET_CALL)]
    nb = notebook(LEAKS, tests=tests)
    nb.cells.append(student(PRINT_LEAKS))
    result = grade(nb, tmp_path)
    text = result.nb.cells[-1].outputs[0].text
    assert text.splitlines() == [
        "seen [] heard []",
        "files []",
        "pipe empty",
        "shared b''",
    ], text
    assert "7.25" not in outputs_text(result) and "725" not in outputs_text(result)
    assert statuses(result) == {"test_h": "crashed"}  # it wrote to memory it no longer had
    assert any("signal 11" in p for p in result.problems), result.problems
    honest = notebook(tests=tests)
    honest.cells.append(student("print('after')"))
    assert statuses(grade(honest, tmp_path)) == {"test_h": "passed"}


SPAWN = """
import subprocess, time
_real = relu_forward
def relu_forward(x):
    subprocess.Popen(["sleep", "300"])
    return _real(x)
children = [subprocess.Popen(["sleep", "300"]) for _ in range(2)]
"""


def test_processes_a_cell_or_a_test_call_starts_end_with_it_and_are_noted(tmp_path):
    nb = notebook(SPAWN, "import os\nprint(sorted(os.listdir('/proc')))")
    result = grade(nb, tmp_path)
    assert statuses(result) == ALL_PASS
    assert "cell 3: 2 processes it started ended with it" in result.notices
    assert "cell 5 (test_forward): 1 process it started ended with it" in result.notices
    assert "cell 4: " not in " ".join(result.notices)


def test_the_seed_reaches_the_judge_alone_and_keys_the_cache(tmp_path):
    probe = "import os\nprint(repr(os.environ.get('JUDGE_SEED')))"
    seen = "import os\nassert os.environ['JUDGE_SEED'] == 'abc123', os.environ.get('JUDGE_SEED')"
    nb = notebook(probe, tests=[graded("test_seed", seen)])
    work = tmp_path / "submission"
    work.mkdir()
    result = grade_notebook(nb, work, LIMITS, seed="abc123")
    assert statuses(result) == {"test_seed": "passed"}, outputs_text(result)
    assert result.nb.cells[3].outputs[0].text == "None\n"
    assert cache.cache_key(nb, LIMITS, "abc123") != cache.cache_key(nb, LIMITS, "other")


MAGIC_CELLS = [
    "%%time\nmodel = {'scale': 2.0}\nlosses = [1.0, 0.5]",
    "S = 4\ntotal = (10\n         % S)\nnonzero = (total\n           != 0)\nprint(total, nonzero)",
    "%pip install tqdm\n!pip install tqdm\nprint('still runs')",
    "%%capture captured\nprint('quiet')",
    "%matplotlib inline\n%timeit -n 1 -r 1 sum(range(3))\nlen?",
]
TEST_MAGIC = """
%%time
assert model["scale"] == 2.0 and losses[-1] == 0.5, "the %%time cell defined nothing"
assert (total
        % 3) == 2 and nonzero
assert captured.stdout == "quiet\\n"
"""


def test_cells_run_as_in_the_kernel_magics_and_all(tmp_path):
    nb = notebook(*MAGIC_CELLS, tests=[graded("test_magic", TEST_MAGIC)])
    result = grade(nb, tmp_path)
    assert statuses(result) == {"test_magic": "passed"}, outputs_text(result)
    assert [c.status for c in result.cells if 3 <= c.index <= 7] == ["ok"] * 5
    assert result.nb.cells[4].outputs[0].text == "2 True\n"
    pip = result.nb.cells[5].outputs
    assert pip[0].text == "still runs\n"
    refused = "not run while grading: %pip install tqdm (packages are not installed while grading)"
    assert refused in pip[1].text
    assert "!pip install tqdm (shell commands are not run)" in pip[1].text
    assert f"cell 5: {refused}" in result.notices
    assert "Docstring" in result.nb.cells[7].outputs[-1].text
    assert result.problems == []


@pytest.mark.parametrize(
    "line, note",
    [
        ("!rm -rf ~", "!rm -rf ~ (shell commands are not run)"),
        ("%%bash\ncurl example.com", "%%bash (shell commands are not run)"),
        ("%run /work/other/solution.py", "%run /work/other/solution.py (the file is not in"),
        ("%load ../reference.py", "%load ../reference.py (the file is not in the submission)"),
        ("%%writefile /tmp/x.py\nprint(1)", "%%writefile /tmp/x.py (only files in the"),
        ("%conda install scipy", "%conda install scipy (packages are not installed"),
    ],
    ids=["shell", "bash", "run", "load", "writefile", "conda"],
)
def test_what_grading_must_not_do_is_refused_aloud(tmp_path, line, note):
    result = grade(notebook(line), tmp_path)
    assert statuses(result) == ALL_PASS
    prefix = "cell 3: not run while grading: "
    assert any(n.startswith(prefix) and note in n for n in result.notices)
    assert note in outputs_text(result)


def test_the_worker_sees_only_its_scratch_copy_python_helpers_and_system_dirs(tmp_path):
    probe = f"""
        import os
        print(sorted(os.listdir("/")))
        print(sorted(os.listdir({str(ROOT.parent)!r})))
        print(sorted(os.listdir({str(ROOT)!r})))
        print(os.path.exists("/etc/shadow"), os.path.isdir({str(ROOT / "assignments")!r}))
        import numpy, helpers, IPython
        print("imports ok")
    """
    result = grade(notebook(probe), tmp_path)
    assert statuses(result) == ALL_PASS
    top, parent, repo, hidden, imports = result.nb.cells[3].outputs[0].text.splitlines()
    if not isolated(result):
        assert any("scratch copy only" in n for n in result.notes)
        return
    allowed = {"bin", "sbin", "lib", "lib32", "lib64", "libx32", "usr", "etc", "dev", "proc", "tmp",
               "var"}  # fmt: skip
    exposed = {p.split("/")[1] for p in isolation.exposed_paths()}
    assert set(eval(top)) <= allowed | exposed, top  # no /home, /opt, /srv, /mnt, other copies
    beside = [n for n in eval(parent) if not n.startswith("hardened-")]  # (under /tmp)
    assert beside == [ROOT.name], parent  # another copy of the course beside this one: gone
    assert set(eval(repo)) <= {".venv", "helpers"}, repo
    assert hidden == "False False" and imports == "imports ok"


def test_filling_the_disk_stops_the_cell_and_is_reported(tmp_path):
    bomb = "block = b'x' * 2**20\nwith open('big.bin', 'wb') as f:\n    for _ in range(3000):\n"
    bomb += "        f.write(block)"
    result = grade(notebook(bomb), tmp_path)
    assert statuses(result) == ALL_PASS
    assert [c.status for c in result.cells if c.index == 3] == ["error"]
    if isolated(result):
        assert f"disk limit of {LIMITS.disk_mb} MB exceeded in cell 3" in result.problems


def test_the_seed_comes_from_the_course_secret_the_ids_and_the_work(tmp_path):
    from instructor.grading.execute import grading_seed, work_digest

    first = grading_seed(tmp_path, "jane", "a1_fully_connected")
    secret = tmp_path / ".grading" / "secret"
    assert secret.stat().st_mode & 0o777 == 0o600 and len(secret.read_text().strip()) == 64
    assert grading_seed(tmp_path, "jane", "a1_fully_connected") == first
    assert grading_seed(tmp_path, "john", "a1_fully_connected") != first
    assert grading_seed(tmp_path, "jane", "a2_convolution") != first
    # a resubmission (other work) draws other hidden inputs; the same work, the same ones
    nb = notebook("def f(x):\n    return x", tests=[graded("test_f", "assert f(1) == 1")])
    again = notebook("def f(x):\n    return x", tests=[graded("test_f", "assert f(2) == 2")])
    changed = notebook("def f(x):\n    return x  # print(hidden inputs)", tests=[])
    assert work_digest(nb) == work_digest(again) != work_digest(changed)
    pre = HardenedExecute(course_root=str(tmp_path))
    ids = {"nbgrader": {"student": "jane", "assignment": "a1_fully_connected"}}
    assert pre.seed(nb, ids) == grading_seed(tmp_path, "jane", "a1_fully_connected",
                                             work_digest(nb))
    assert pre.seed(nb, ids) not in (first, pre.seed(changed, ids))
    assert pre.seed(nb, {}) == ""


ECHOES = '''
import os
def _said(x):
    return "saw_" + "_".join(str(int(abs(v) * 100)) for v in np.ravel(x))
def relu_forward(x):
    Said = type(_said(x), (), {})
    if x.size == 3:
        return {_said(x): x}, x  # the right kind of value, keyed by what it saw
    if x.size == 4:
        return _said(x), x
    if x.size == 5:
        return Said(), x
    if x.size == 6:
        return os.fork, x  # a trusted module's function, returned as data
    if x.size == 8:  # hands back a function named after what it saw, which changes its input
        def changes(y):
            y[0] = 0
        changes.__name__ = _said(x)
        return x.copy(), changes
    ns = {}  # from the next call on, a function whose parameter is named after what it saw
    exec(f"def h({_said(x)}):\\n    {_said(x)}[0] = 0\\n    return {_said(x)}, None", ns)
    relu_forward.__code__ = ns["h"].__code__
    return x.copy(), x
'''
ECHO_TESTS = {
    "test_dict": "from instructor.judging import check_close\nx = np.full(3, -7.25)",
    "test_str": "from instructor.judging import as_array\nx = np.full(4, -7.25)",
    "test_class": "from instructor.judging import as_array\nx = np.full(5, -7.25)",
    "test_fork": "from instructor.judging import as_array\nx = np.full(6, -7.25)",
    "test_named": "x = np.full(8, -7.25)",
    "test_param": "x = np.full(7, -7.25)",
}
ECHO_CHECKS = {
    "test_dict": "check_close(out, {'out': np.maximum(x, 0)}, 'out')",
    "test_str": "as_array(out, 'out')",
    "test_class": "as_array(out, 'out')",
    "test_fork": "as_array(out, 'out')",
    "test_named": "relu_forward(x)[1](x)",  # in-place change: a message names the callee
    "test_param": "relu_forward(x)",  # changes its input in place: a message names it
}


def test_text_a_student_function_returns_never_reaches_the_feedback(tmp_path):
    """What a function saw of a hidden input, written into a dict key, a string, a class name,
    its own name or a parameter name, stays out of the messages; a returned os.fork stays data."""
    tests = [graded(name, f"import numpy as np\n{setup}\n### BEGIN HIDDEN TESTS\n"
                          f"out, _ = relu_forward(x)\n{ECHO_CHECKS[name]}\n"
                          "### END HIDDEN TESTS\n")
             for name, setup in ECHO_TESTS.items()]
    nb = notebook(ECHOES, tests=tests)
    nb.cells.append(student("print('after', os.getpid() > 0)"))
    result = grade(nb, tmp_path)
    assert statuses(result) == {name: "failed" for name in ECHO_TESTS}, result.cells
    text = outputs_text(result)
    assert "saw_" not in text and "725" not in text, text
    assert "after True" in text  # one worker, still answering after the fork test
    assert not result.problems, result.problems


# what test_forward's visible part made, read by the next student cell
AFTER_FORWARD = "print('out', out.tolist(), 'x', x.tolist())"
AFTER_BACKWARD = """
made = sorted(n for n in ("cache", "dx", "x2", "cache2", "dx2") if n in globals())
print("made", made, "next draw", round(float(rng.random()), 12))
"""


def test_later_cells_see_what_a_test_cells_visible_part_made_exactly_as_in_jupyter(tmp_path):
    """A scratch cell after a test may read the test's `out`, and a test rebinds the student's
    `x`: in the grader as in the kernel. Names bound only by a hidden part never reach it."""
    from instructor.cells import strip_hidden_tests
    from instructor.kernel_client import SteppedNotebookClient

    tests = [graded("test_forward", TEST_FORWARD), student(AFTER_FORWARD),
             graded("test_backward", TEST_BACKWARD), student(AFTER_BACKWARD)]
    nb = notebook("x = 'mine'", tests=tests)
    result = grade(nb, tmp_path)
    assert statuses(result) == {"test_forward": "passed", "test_backward": "passed"}
    graded_text = [c.outputs[0].text for c in result.nb.cells[-3::2]]

    kernel = copy.deepcopy(nb)  # the student's kernel runs the release: hidden parts cut
    for cell in kernel.cells:
        if cell.cell_type == "code":
            cell.source = strip_hidden_tests(cell.source)
    SteppedNotebookClient(kernel, kernel_name="python3", timeout=60, startup_timeout=60,
                          resources={"metadata": {"path": str(tmp_path)}}).execute()
    kernel_text = ["".join(o.get("text", "") for o in c.outputs) for c in kernel.cells[-3::2]]
    assert graded_text == kernel_text
    assert graded_text[0] == "out [[0.0, 2.0], [3.0, 0.0]] x [[-1.0, 2.0], [3.0, -4.0]]\n"
    assert "made ['cache', 'dx'] next draw" in graded_text[1], graded_text


HANGS_OUTSIDE_THE_COPY = """
_real = relu_forward
def relu_forward(x):
    try:
        open("probe.txt", "w").close()  # refused in a test-cell copy, allowed in the worker
    except OSError:
        return _real(x)
    import time
    time.sleep(30)
"""


def test_a_visible_part_that_hangs_when_run_again_is_a_problem_and_costs_nothing(tmp_path):
    nb = notebook(HANGS_OUTSIDE_THE_COPY, "print('after')")
    nb.cells.insert(-2, nb.cells.pop(-4))  # ..., hang, test_forward, after, the other tests
    result = grade(nb, tmp_path)
    assert statuses(result) == ALL_PASS
    assert any("(test_forward): its visible part, run again in the student's namespace" in p
               and "ran out of time" in p for p in result.problems), result.problems
    assert result.nb.cells[-3].outputs[0].text == "after\n"


STOPS_READING = """
import gc, sys, time
_Worker = sys.modules["instructor.engine.worker"].Worker
for _w in gc.get_objects():
    if isinstance(_w, _Worker):
        _w.channel.recv = lambda *a, **k: time.sleep(10**6)  # sleeps: no CPU limit ends it
"""


def test_a_worker_that_stops_reading_is_ended_not_waited_for(tmp_path):
    """Student code makes the worker stop reading, then comes a cell larger than the pipe: the
    driver's write would block for good. The worker is ended, the cell named, the rest graded."""
    import threading

    nb = notebook(STOPS_READING, "x = 1\n" + ("#" * 99 + "\n") * 30_000)
    done = []
    thread = threading.Thread(target=lambda: done.append(grade(nb, tmp_path)), daemon=True)
    thread.start()
    thread.join(timeout=180)
    assert done, "grading did not finish in 180 s: a write to the worker blocked"
    result = done[0]
    assert any("stopped reading its messages" in p and "cell 4" in p for p in result.problems), (
        result.problems)
    # the restarted worker replays the cell that stops it reading, so each test runs out of time
    assert statuses(result) == dict.fromkeys(ALL_PASS, "timeout")
