"""The messages between the driver, the worker and the judge, written down in one place.

Every message is one frame of instructor.engine.wire: a JSON header (the message) and the raw
bytes of the arrays it carries. Values inside messages are wire trees (wire.Encoder/Decoder):
plain data and arrays only; an object of the student's crosses as a handle (tag "H"), which the
judge sees as a Proxy whose every use is a request to the worker.

Start (driver -> worker): the plan from isolation.worker_plan (where to work, what to hide, the
uid, the limits). Worker -> driver: READY, with notes on the isolation it got. The judge sends
READY as soon as it runs.

Student cell (driver -> worker): RUN {index, source}. Reply: {status: "ok" | "error", stdout,
stderr, truncated, error: [traceback lines] | None, result: repr of the last expression | None}.

Test cell:
1. driver -> worker: SNAPSHOT {names}: the free names of the test cell. The worker replies
   {"ok": {"value": {name: tree}}} (or {"exc": info}); the driver forwards that frame unread.
2. driver -> judge: TEST {index, source}, then the snapshot frame.
3. judge -> driver -> worker, any number of times: a request {op, target, to: "worker", sync,
   ...} with op one of REQUEST_OPS: call {args, kwargs}, getattr/setattr {name[, value]},
   getitem/setitem {key[, value]}, len, iter, next. `sync` lists arrays the test changed since it
   read them, written back first. The worker's reply frame, relayed unread to the judge:
   {"ok": {"value": tree, "changed": [[argument index, tree], ...]}} or {"exc": info}. If the
   worker died, the driver sends the judge {"dead": why} instead.
4. judge -> driver: DONE {status: "passed" | "failed" | "error" | "gone", ename, evalue,
   traceback (hidden lines never quoted) | why}.

The driver never decodes student data beyond the RUN reply; the judge never runs student code;
the worker never sees test source.
"""

RUN = "run"
SNAPSHOT = "snapshot"
TEST = "test"
DONE = "done"
READY = "ready"
DEAD = "dead"
REQUEST_OPS = ("call", "getattr", "setattr", "getitem", "setitem", "len", "iter", "next")
