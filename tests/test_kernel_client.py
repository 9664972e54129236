"""instructor.kernel_client: a message whose poll missed its wake-up is read within a step."""

import asyncio
import time
from queue import Empty

import pytest
from jupyter_client.channels import AsyncZMQSocketChannel

from instructor import kernel_client
from instructor.kernel_client import SteppedChannel


class MissedWakeUp:
    """AsyncZMQSocketChannel.get_msg as pyzmq behaves when it misses a wake-up.

    The message arrives `arrives` s after the start; a poll that was already waiting then does
    not wake, and only finds it when its own timeout fires; a poll started after the message
    arrived returns at once.
    """

    def __init__(self, arrives: float | None):
        self.start, self.arrives, self.polls = time.monotonic(), arrives, []

    async def __call__(self, channel, timeout=None):
        self.polls.append(timeout)
        began = time.monotonic() - self.start
        if self.arrives is not None and began >= self.arrives:
            return {"msg": "reply"}
        await asyncio.sleep(timeout)
        if self.arrives is not None and time.monotonic() - self.start >= self.arrives:
            return {"msg": "reply"}
        raise Empty


def channel(monkeypatch, arrives):
    fake = MissedWakeUp(arrives)
    monkeypatch.setattr(AsyncZMQSocketChannel, "get_msg",
                        lambda self, timeout=None: fake(self, timeout))
    return SteppedChannel.__new__(SteppedChannel), fake


def test_a_message_whose_wake_up_was_missed_is_read_within_a_step(monkeypatch):
    monkeypatch.setattr(kernel_client, "STEP", 0.2)
    stepped, fake = channel(monkeypatch, arrives=0.1)
    started = time.monotonic()
    assert asyncio.run(stepped.get_msg(timeout=30)) == {"msg": "reply"}
    assert time.monotonic() - started < 1.0, "held until the 30 s timeout"
    assert all(t <= 0.2 for t in fake.polls), fake.polls


def test_no_message_is_empty_at_the_timeout_not_before(monkeypatch):
    monkeypatch.setattr(kernel_client, "STEP", 0.2)
    stepped, fake = channel(monkeypatch, arrives=None)
    started = time.monotonic()
    with pytest.raises(Empty):
        asyncio.run(stepped.get_msg(timeout=0.7))
    assert 0.7 <= time.monotonic() - started < 1.5
    assert len(fake.polls) >= 4



DIES_FIRST = """
import os, sys
mark = os.environ["KERNEL_MARK"]
if not os.path.exists(mark):  # the first start: exit before answering, as on a taken port
    open(mark, "w").close()
    sys.exit(1)
from ipykernel import kernelapp
kernelapp.launch_new_instance()
"""


def kernel_that_dies(tmp_path, monkeypatch, script):
    """A kernelspec "dies" running script, found through JUPYTER_PATH."""
    import json
    import sys

    spec = tmp_path / "kernels" / "dies"
    spec.mkdir(parents=True)
    (tmp_path / "kernel.py").write_text(script)
    argv = [sys.executable, str(tmp_path / "kernel.py"), "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "dies",
                                                  "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    monkeypatch.setenv("KERNEL_MARK", str(tmp_path / "started-once"))


def test_a_kernel_that_dies_before_it_answers_is_replaced_once(tmp_path, monkeypatch):
    import nbformat

    from instructor.kernel_client import SteppedNotebookClient

    kernel_that_dies(tmp_path, monkeypatch, DIES_FIRST)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(6 * 7)")])
    SteppedNotebookClient(nb, kernel_name="dies", startup_timeout=60, timeout=60).execute()
    assert (tmp_path / "started-once").exists()  # the first kernel did die
    assert nb.cells[0].outputs[0]["text"] == "42\n"


SILENT_FIRST = """
import os, time
mark = os.environ["KERNEL_MARK"]
if not os.path.exists(mark):  # the first start: alive but never answering
    open(mark, "w").close()
    time.sleep(600)
from ipykernel import kernelapp
kernelapp.launch_new_instance()
"""


def test_a_kernel_that_stays_silent_at_start_is_replaced_once(tmp_path, monkeypatch):
    import nbformat

    from instructor.kernel_client import SteppedNotebookClient

    kernel_that_dies(tmp_path, monkeypatch, SILENT_FIRST)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(6 * 7)")])
    SteppedNotebookClient(nb, kernel_name="dies", startup_timeout=10, timeout=60).execute()
    assert (tmp_path / "started-once").exists()  # the first kernel did stay silent
    assert nb.cells[0].outputs[0]["text"] == "42\n"


def test_a_kernel_that_always_dies_is_an_error(tmp_path, monkeypatch):
    import nbformat

    from instructor.kernel_client import DIED_AT_START, SteppedNotebookClient

    kernel_that_dies(tmp_path, monkeypatch, "import sys\nsys.exit(1)\n")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")])
    client = SteppedNotebookClient(nb, kernel_name="dies", startup_timeout=60, timeout=60)
    with pytest.raises(RuntimeError, match=DIED_AT_START):
        with client.setup_kernel():
            pass
