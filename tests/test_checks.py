"""helpers.checks: a failed check prints "Not yet: <hint>", records the verdict, stops nothing."""

import pytest

from helpers import checks
from helpers.checks import NOT_YET, check


@pytest.fixture(autouse=True)
def _lenient(monkeypatch):
    monkeypatch.delenv(checks.STRICT_ENV, raising=False)
    checks.results.clear()


def test_a_passing_check_prints_nothing_of_its_own_and_records_true(capsys):
    with check("sum") as c:
        assert 1 + 1 == 2, "arithmetic"
        print("correct")
    assert capsys.readouterr().out == "correct\n"
    assert c.passed is True and checks.results == {"sum": True}


def test_a_failed_assert_prints_its_message_and_the_code_after_the_block_runs(capsys):
    cell = (  # as a check cell runs it (pytest would rewrite an assert written here)
        "with check('answer') as c:\n"
        "    assert None is not None, 'set answer to a number'\n"
        "    print('never printed')\n"
        "after = 'the notebook goes on'\n"
    )
    scope = {"check": check}
    exec(compile(cell, "<check cell>", "exec"), scope)
    c, after = scope["c"], scope["after"]
    assert capsys.readouterr().out == f"{NOT_YET} set answer to a number\n"
    assert after and c.passed is False and checks.results == {"answer": False}


def test_an_assert_without_message_shows_the_hint_or_a_default(capsys):
    with check("a", hint="make it positive"):
        raise AssertionError  # an assert without message (pytest rewrites bare asserts)
    with check("b"):
        raise AssertionError
    out = capsys.readouterr().out.splitlines()
    assert out == [f"{NOT_YET} make it positive", f"{NOT_YET} {checks.DEFAULT_HINT}"]


def test_another_error_is_a_not_yet_naming_the_error(capsys):
    with check("shape", hint="w should be an array of shape (3, 3)"):
        None.shape  # noqa: B018
    out = capsys.readouterr().out
    assert out.startswith(f"{NOT_YET} w should be an array of shape (3, 3) (the check raised ")
    assert "AttributeError" in out and checks.results == {"shape": False}


def test_strict_mode_re_raises_after_printing(monkeypatch, capsys):
    monkeypatch.setenv(checks.STRICT_ENV, "1")
    with pytest.raises(AssertionError, match="set n"), check("n"):
        raise AssertionError("set n")
    assert capsys.readouterr().out == f"{NOT_YET} set n\n"
    assert checks.results == {"n": False}


def test_keyboard_interrupt_is_not_swallowed():
    with pytest.raises(KeyboardInterrupt), check("stop"):
        raise KeyboardInterrupt
    assert "stop" not in checks.results


def test_unnamed_checks_get_numbered_names_and_a_rerun_replaces_the_verdict():
    with check():
        raise AssertionError
    assert list(checks.results) == ["check 1"]
    with check("x"):
        raise AssertionError
    with check("x"):
        pass
    assert checks.results == {"check 1": False, "x": True}


@pytest.mark.parametrize("kwargs, message", [({"name": 3}, "name must be a string"),
                                             ({"hint": ["h"]}, "hint must be a string")])
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(TypeError, match=message):
        check(**kwargs)
