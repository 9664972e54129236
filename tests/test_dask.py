"""Grading on a real Dask cluster: a scheduler and two worker processes on 127.0.0.1.

The class graded through the cluster (make grade SCHEDULER=tcp://host:8786) gets exactly the
grades of the local process pool, and the cluster's workers never see the course folder: each
job carries what it reads.
"""

import pytest

from tests.mutants import apply, reference_submission
from tests.support.course import make_course, released, run, submit

ASSIGNMENT = "a1_fully_connected"


@pytest.fixture(scope="module")
def scheduler():
    from distributed import LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           host="127.0.0.1", dashboard_address=None)
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()


def grades(results):
    return {key: (s.score, s.max_score, s.status) for key, s in results.items()}


def make_class(root):
    import importlib

    reference = reference_submission(ASSIGNMENT)
    submit(root, "reference", ASSIGNMENT, reference)
    submit(root, "untouched", ASSIGNMENT, released(root, ASSIGNMENT))
    mutants = importlib.import_module(f"tests.mutants.{ASSIGNMENT}").MUTANTS
    for mutant in mutants[:2]:
        submit(root, mutant.name, ASSIGNMENT, apply(reference, mutant))


def test_a_class_graded_on_a_dask_cluster_gets_the_local_grades(tmp_path, scheduler):
    local = make_course(tmp_path / "local", [ASSIGNMENT])
    make_class(local)
    on_cluster = make_course(tmp_path / "cluster", [ASSIGNMENT])
    make_class(on_cluster)
    expected = grades(run(local, jobs=2))
    got = run(on_cluster, scheduler=scheduler)
    assert grades(got) == expected
    assert all(s.autograded for s in got.values())
    assert (on_cluster / "feedback" / "reference" / ASSIGNMENT / f"{ASSIGNMENT}.html").is_file()


def test_an_unreachable_scheduler_is_a_clear_error(tmp_path):
    root = make_course(tmp_path, [ASSIGNMENT])
    submit(root, "reference", ASSIGNMENT, reference_submission(ASSIGNMENT))
    with pytest.raises(ValueError, match="no Dask scheduler answers at 'tcp://127.0.0.1:9'"):
        run(root, scheduler="tcp://127.0.0.1:9")
