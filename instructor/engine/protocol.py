"""The messages between the driver, the worker and the judge, written down in one place.

Every message is one frame of instructor.engine.wire: a JSON header (the message) and the raw
bytes of the arrays it carries; a frame over wire.MAX_MESSAGE bytes is refused from its header,
before anything is read or allocated. Values inside messages are wire trees (wire.Encoder/Decoder):
plain data only: None, bool, int, float, complex, str, bytes, slices, lists, tuples, dicts with
plain keys, numpy arrays of any shape (0-d, zero-size, views) and of every bool, int, uint, float
and complex dtype, numpy scalars, numpy dtypes, and the number types (float, np.float32, ...) by
their name in a fixed table. Anything else crosses as a handle: ["H", handle, type name, words]
(an array of strings or objects, a value over wire.MAX_VALUE bytes, a function, a class, any
object), which the judge sees as a Proxy whose every use is a request to the worker; a Proxy
refuses to become an array (TypeError naming what the student returned). A module crosses as
["M", name, handle]: the judge's own import when it is numpy, helpers or math (or a submodule),
else a Proxy. No node names a function for the judge to look up.

Start (driver -> worker): the plan from isolation.worker_plan (where to work, what to hide, the
uid, the limits). Worker -> driver: READY, with notes on the isolation it got. Start (driver ->
judge): {limits} (the judge takes the worker's memory limit as its own); judge -> driver: READY.

Student cell (driver -> worker): RUN {index, source}. Reply: {status: "ok" | "error", stdout,
stderr, truncated, error: [traceback lines] | None, result: repr of the last expression | None,
ended: how many processes the cell left running (killed with it: the worker is their
subreaper)}.

Test cell:
1. driver -> worker: SNAPSHOT {names}: the free names of the test cell. The worker forks a copy
   of itself that serves this test cell alone (seal.seal_test_copy: it can write no file, open
   no socket, signal no process, and shares no memory with the worker) and waits for it holding
   the GIL. The copy replies {"ok": {name: tree}} (or {"exc": info}); the driver forwards that
   frame unread.
2. driver -> judge: TEST {index, source}, then the snapshot frame.
3. judge -> driver -> worker, any number of times: a request {op, target, to: "worker", sync,
   ...} with op one of REQUEST_OPS: call {args, kwargs}, getattr/setattr {name[, value]},
   getitem/setitem {key[, value]}, len, iter, next. `sync` lists arrays the test read from the
   worker (e.g. model.params["W"]) and changed since, written back into the student's first.
   The worker's reply frame, relayed unread to the judge: {"ok": {"value": tree}} or {"exc": info};
   a call's reply adds "modified": [indices of the arrays passed, in wire.collect_arrays order,
   that the student changed in place], "after": [what it left in each], "params": [the callee's
   positional parameter names]. A call may ask "measure": "seconds" | "lines": the worker then
   measures the call itself with helpers.cost (its time, or the Python lines it ran) and the
   reply adds "measured": that number (helpers.cost.seconds / python_lines in a test cell; the
   student's process measures, so a test trusts it only for honest work). The judge never
   writes those changes into its own arrays: the arrays a test passes stay as it passed them
   (its pristine copies), and every call is recorded for the test (below). If the worker died,
   the driver sends the judge {"dead": why} instead.
   If the copy dies, the worker sends {COPY_ENDED: {code, why, ended}} in place of the reply; the
   judge stops the test (WorkerGone).
4. judge -> driver: DONE {status: "passed" | "failed" | "error" | "gone", ename, evalue,
   traceback (hidden lines never quoted) | why | copy: {code}}.
5. driver -> worker: END. The copy exits; the worker kills what it left running and answers
   {COPY_ENDED: {code, why, ended}}; only then does it read the next message. Nothing the copy
   saw or changed reaches later student cells.
6. driver -> worker: RUN {index, source: the test cell's visible part (its hidden blocks cut,
   as in the student's release)}, when the test ran to its end (passed, failed or error). The
   worker runs it as a student cell, on its own public inputs, so later student cells find what
   they find in the student's kernel (`out` of the last visible test, a rebound `x`). The reply
   is read only for processes it left running; the grade is the judge's.

What a test cell can ask about the calls it made (proxy.py; instructor/judging.py builds on it):
    from instructor.engine.proxy import calls, last_call
    out, cache = conv_forward(x, w, b, conv_param)   # x, w, b, conv_param: unchanged, always
    record = last_call()          # or calls(): every call of this test cell, in order
    record.name                   # "conv_forward" (the student function's name, for messages)
    record.modified               # ("x",): inputs changed in place, by the student's parameter
                                  # names; nested ones as "cache[1]", "conv_param['stride']";
                                  # "argument 2" when the name is unknown; () when none
    record.after["x"]             # what the student left in x (a copy; x itself is unchanged)
    allow_in_place()              # the test accepts inputs changed in place
Only arrays are checked (lists and dicts passed are copies the student may change freely). A
test cell that never asks (calls, last_call or allow_in_place) fails when student code changed
one of its arrays in place: "<name> modified its input <x> in place; work on a new array
instead", quoting the line of the call (or as a hidden test's failure when that line is hidden).

The driver never decodes student data beyond the RUN reply; the judge never runs student code;
the worker never sees hidden test source.
"""


def describe_death(returncode: int | None) -> str:
    """Plain words for how a process ended (a negative code: the signal that ended it)."""
    import signal

    if returncode is None:
        return "worker stopped responding"
    if returncode < 0:
        number = -returncode
        name = (signal.strsignal(number) or f"signal {number}").lower()
        return f"worker killed by signal {number} ({name})"
    return f"worker exited with code {returncode}"


RUN = "run"
END = "end"
COPY_ENDED = "copy_ended"
SNAPSHOT = "snapshot"
TEST = "test"
DONE = "done"
READY = "ready"
DEAD = "dead"
REQUEST_OPS = ("call", "getattr", "setattr", "getitem", "setitem", "len", "iter", "next")
