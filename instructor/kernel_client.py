"""A Jupyter kernel client whose waits for a message look again at least once a second, and
whose kernel is started once more if the first dies before it answers.

nbclient waits for a cell's reply with one poll of the shell socket for the whole cell timeout.
pyzmq's asyncio poll can miss the wake-up of a message that has already arrived (the socket's
file descriptor is edge-triggered); the poll then only sees the message when its timeout fires
and checks once more, so a cell that took a second is reported after the full timeout, as if it
had hung. Polling in steps of STEP seconds bounds that delay to one step.

jupyter_client picks a kernel's ports free and the kernel binds them a moment later: with many
kernels starting at once, another process can take one in between, and the kernel exits before
it answers ("Kernel died before replying to kernel_info"), or the client's first messages go
unanswered ("Kernel didn't respond in N seconds"). It has run none of the notebook, so a second
kernel is started in its place (once).
"""

from __future__ import annotations

import time
from queue import Empty

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.channels import AsyncZMQSocketChannel
from jupyter_core.utils import run_sync
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


DIED_AT_START = "Kernel died before replying to kernel_info"  # jupyter_client's words
NO_ANSWER = "Kernel didn't respond in"  # jupyter_client's words, then the startup timeout


class SteppedNotebookClient(NotebookClient):
    """nbclient's NotebookClient, talking to its kernel through a SteppedKernelClient; a kernel
    that dies or stays silent before it answers is replaced once."""

    def create_kernel_manager(self):
        km = super().create_kernel_manager()
        km.client_factory = SteppedKernelClient
        return km

    async def async_start_new_kernel(self, **kwargs) -> None:
        self._start_kwargs = kwargs  # to start a replacement the same way
        await super().async_start_new_kernel(**kwargs)

    async def async_start_new_kernel_client(self):
        try:
            return await super().async_start_new_kernel_client()
        except RuntimeError as error:  # nbclient has shut that kernel down and let it go
            if DIED_AT_START not in str(error) and NO_ANSWER not in str(error):
                raise
        self.km = self.create_kernel_manager()
        await super().async_start_new_kernel(**getattr(self, "_start_kwargs", {}))
        return await super().async_start_new_kernel_client()

    # nbclient's synchronous names wrap its own coroutines: wrap these instead
    start_new_kernel = run_sync(async_start_new_kernel)
    start_new_kernel_client = run_sync(async_start_new_kernel_client)
