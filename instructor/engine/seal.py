"""Seals for the worker: system calls it never needs, and a test-cell copy that can leave no trace.

The worker serves each test cell from a forked copy of itself that exits after the cell, so no
later student cell sees what the judge passed. seal_test_copy() makes sure that copy cannot
leave a trace the worker could read later: it closes every file the student opened, drops
shared memory mappings, and installs a seccomp filter that refuses writing or creating files,
sockets, signals to other processes, file locks and IPC (irreversible, inherited by any child).
seal_worker() refuses, for the worker's whole life, calls that would let one process watch
another (ptrace, inotify, System V IPC, ...). Both are Linux x86-64 only; elsewhere they report
what is missing.
"""

from __future__ import annotations

import ctypes
import os
import platform
import struct

PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2
AUDIT_ARCH_X86_64 = 0xC000003E
RET_ALLOW, RET_ERRNO = 0x7FFF0000, 0x00050000
EPERM, ENOSYS = 1, 38
LD_ABS_W, JEQ, JGE, JSET, RET = 0x20, 0x15, 0x35, 0x45, 0x06
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND

# x86-64 system call numbers
WATCHING = {  # one process observing or reaching into another: never needed by a notebook
    "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311, "kcmp": 312,
    "inotify_init": 253, "inotify_add_watch": 254, "inotify_init1": 294,
    "fanotify_init": 300, "fanotify_mark": 301, "userfaultfd": 323, "bpf": 321,
    "perf_event_open": 298, "add_key": 248, "request_key": 249, "keyctl": 250,
    "shmget": 29, "shmat": 30, "shmctl": 31, "semget": 64, "semop": 65, "semctl": 66,
    "msgget": 68, "msgsnd": 69, "msgrcv": 70, "msgctl": 71, "semtimedop": 220,
    "mq_open": 240, "mq_unlink": 241, "mq_timedsend": 242, "mq_timedreceive": 243,
    "mq_notify": 244, "mq_getsetattr": 245, "pidfd_getfd": 438,
}  # fmt: skip
TRACES = {  # a test-cell copy leaving a trace: files, sockets, signals, locks
    "creat": 85, "mkdir": 83, "mkdirat": 258, "rmdir": 84, "rename": 82, "renameat": 264,
    "renameat2": 316, "unlink": 87, "unlinkat": 263, "link": 86, "linkat": 265,
    "symlink": 88, "symlinkat": 266, "chmod": 90, "fchmod": 91, "fchmodat": 268,
    "fchmodat2": 452, "chown": 92, "fchown": 93, "lchown": 94, "fchownat": 260,
    "truncate": 76, "ftruncate": 77, "utime": 132, "utimes": 235, "utimensat": 280,
    "futimesat": 261, "mknod": 133, "mknodat": 259, "setxattr": 188, "lsetxattr": 189,
    "fsetxattr": 190, "removexattr": 197, "lremovexattr": 198, "fremovexattr": 199,
    "fallocate": 285, "name_to_handle_at": 303, "open_by_handle_at": 304,
    "socket": 41, "socketpair": 53, "connect": 42, "bind": 49,
    "kill": 62, "tkill": 200, "tgkill": 234, "rt_sigqueueinfo": 129,
    "rt_tgsigqueueinfo": 297, "pidfd_open": 434, "pidfd_send_signal": 424,
    "flock": 73, "mount": 165, "swapon": 167, "acct": 163,
}  # fmt: skip
OPEN, OPENAT, OPENAT2 = 2, 257, 437


def supported() -> bool:
    return platform.system() == "Linux" and platform.machine() in ("x86_64", "AMD64")


def _program(denied: dict, refuse_writes: bool) -> bytes:
    """A classic BPF seccomp program refusing `denied` (EPERM) and, optionally, opening to write."""
    code = []

    def op(kind, k, jt=0, jf=0):
        code.append(struct.pack("HBBI", kind, jt, jf, k))

    op(LD_ABS_W, 4)  # seccomp_data.arch
    op(JEQ, AUDIT_ARCH_X86_64, 1, 0)
    op(RET, RET_ERRNO | EPERM)
    op(LD_ABS_W, 0)  # seccomp_data.nr
    op(JGE, 0x40000000, 0, 1)  # the x32 ABI: refused
    op(RET, RET_ERRNO | EPERM)
    for number in sorted(set(denied.values())):
        op(JEQ, number, 0, 1)
        op(RET, RET_ERRNO | EPERM)
    if refuse_writes:
        op(JEQ, OPENAT2, 0, 1)  # callers fall back to openat, checked below
        op(RET, RET_ERRNO | ENOSYS)
        for number, arg in ((OPEN, 1), (OPENAT, 2)):
            op(JEQ, number, 0, 4)
            op(LD_ABS_W, 16 + 8 * arg)  # low half of the flags argument
            op(JSET, WRITE_FLAGS, 0, 1)
            op(RET, RET_ERRNO | EPERM)
            op(RET, RET_ALLOW)
    op(RET, RET_ALLOW)
    return b"".join(code)


def install(denied: dict, refuse_writes: bool = False) -> None:
    """Install a seccomp filter on this thread's process (raises OSError when it cannot)."""
    if not supported():
        raise OSError(f"seccomp filters are set up for Linux x86-64 only, not {platform.machine()}")
    libc = ctypes.CDLL(None, use_errno=True)
    program = _program(denied, refuse_writes)
    buffer = ctypes.create_string_buffer(program, len(program))

    class Prog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    prog = Prog(len(program) // 8, ctypes.addressof(buffer))
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"seccomp filter refused: {os.strerror(err)}")


def seal_worker() -> str:
    """Refuse the watching calls for the worker's life; returns a note on what is missing."""
    try:
        install(WATCHING)
    except OSError as exc:
        return f"no system-call filter ({exc}): processes of the worker could watch each other"
    return ""


def _drop_shared_mappings(libc) -> None:
    """Unmap every writable shared mapping (memory shared with the worker across the fork)."""
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    with open("/proc/self/maps") as f:
        lines = f.read().splitlines()
    for line in lines:
        fields = line.split()
        if len(fields) >= 2 and "s" in fields[1] and "w" in fields[1]:
            start, end = (int(x, 16) for x in fields[0].split("-"))
            libc.munmap(start, end - start)


def seal_test_copy(keep: set[int]) -> str:
    """In the forked copy serving a test cell: no way back to the worker; returns a note."""
    libc = ctypes.CDLL(None, use_errno=True)
    for fd in _open_fds():
        if fd > 2 and fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass
    try:
        _drop_shared_mappings(libc)
    except OSError:
        pass
    try:
        install(TRACES, refuse_writes=True)
    except OSError as exc:
        return f"no system-call filter ({exc}): a test cell's copy of the worker could write files"
    return ""


def _open_fds() -> list[int]:
    try:
        return [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:
        return list(range(3, 1024))
