"""A Jupyter kernel client whose waits for a message look again at least once a second.

nbclient waits for a cell's reply with one poll of the shell socket for the whole cell timeout.
pyzmq's asyncio poll can miss the wake-up of a message that has already arrived (the socket's
file descriptor is edge-triggered); the poll then only sees the message when its timeout fires
and checks once more, so a cell that took a second is reported after the full timeout, as if it
had hung. Polling in steps of STEP seconds bounds that delay to one step.
"""

from __future__ import annotations

import time
from queue import Empty

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.channels import AsyncZMQSocketChannel
from nbclient import NotebookClient
from traitlets import Type

STEP = 1.0  # seconds between two looks at a socket while waiting for a message


class SteppedChannel(AsyncZMQSocketChannel):
    """A kernel channel whose get_msg polls in steps of STEP seconds up to its timeout."""

    async def get_msg(self, timeout: float | None = None) -> dict:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = STEP if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                return await super().get_msg(timeout=min(STEP, left))
            except Empty:
                if deadline is not None and time.monotonic() >= deadline:
                    raise


class SteppedKernelClient(AsyncKernelClient):
    """An asynchronous kernel client with SteppedChannel for shell, iopub and control."""

    shell_channel_class = Type(SteppedChannel)
    iopub_channel_class = Type(SteppedChannel)
    control_channel_class = Type(SteppedChannel)


class SteppedNotebookClient(NotebookClient):
    """nbclient's NotebookClient, talking to its kernel through a SteppedKernelClient."""

    def create_kernel_manager(self):
        km = super().create_kernel_manager()
        km.client_factory = SteppedKernelClient
        return km
