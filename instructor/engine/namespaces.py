"""Linux namespaces for the worker: its own user, mount, network and PID spaces, and a file view
that holds its scratch copy, the Python environment, helpers and system directories only."""

from __future__ import annotations

import ctypes
import os
import resource
import shutil
import signal

CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWNET = 0x00020000, 0x10000000, 0x40000000
CLONE_NEWPID = 0x20000000
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_BIND, MS_REC, MS_PRIVATE = 2, 4, 8, 4096, 16384, 1 << 18
MOUNT_ATTR_RDONLY, AT_RECURSIVE, SYS_MOUNT_SETATTR = 0x1, 0x8000, 442
PR_SET_NO_NEW_PRIVS, PR_CAPBSET_DROP, PR_SET_DUMPABLE, PR_SET_PDEATHSIG = 38, 24, 4, 1
MAX_PROCESSES = 16


class _Libc:
    """The few libc calls the isolation needs, raising OSError on failure."""

    def __init__(self):
        self.lib = ctypes.CDLL(None, use_errno=True)

    def check(self, result: int, what: str) -> None:
        if result != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"{what}: {os.strerror(err)}")

    def unshare(self, flags: int) -> None:
        self.check(self.lib.unshare(flags), "unshare")

    def mount(self, source, target, fstype, flags, data=None) -> None:
        enc = [None if s is None else s.encode() for s in (source, target, fstype, data)]
        self.check(self.lib.mount(enc[0], enc[1], enc[2], flags, enc[3]), f"mount {target}")

    def set_readonly(self, path: str, recursive: bool, readonly: bool) -> bool:
        change = (MOUNT_ATTR_RDONLY, 0) if readonly else (0, MOUNT_ATTR_RDONLY)
        attr = (ctypes.c_uint64 * 4)(*change, 0, 0)
        flags = AT_RECURSIVE if recursive else 0
        return self.lib.syscall(SYS_MOUNT_SETATTR, -100, path.encode(), flags, attr, 32) == 0

    def drop_capabilities(self) -> None:
        self.lib.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
        for cap in range(64):
            self.lib.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)
        header = (ctypes.c_uint32 * 2)(0x20080522, 0)
        self.check(self.lib.capset(header, (ctypes.c_uint32 * 6)()), "capset")


def _map_ids(uid: int, gid: int) -> None:
    for name, text in (("setgroups", "deny"), ("uid_map", f"0 {uid} 1"), ("gid_map", f"0 {gid} 1")):
        with open(f"/proc/self/{name}", "w") as f:
            f.write(text)


SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
ETC = (
    *("passwd", "group", "nsswitch.conf", "ld.so.cache", "ld.so.conf", "ld.so.conf.d"),
    *("localtime", "hosts", "mime.types", "fonts", "alternatives"),
)
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
MNT_DETACH = 2
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}


def _bind(libc: _Libc, source: str, root: str, target: str | None = None) -> str | None:
    """Bind `source` at the same path (or `target`) under `root`; the path bound, or None."""
    target = root + (target or source)
    if os.path.isdir(source):
        os.makedirs(target, exist_ok=True)
    elif os.path.exists(source):
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if not os.path.exists(target):
            open(target, "w").close()
    else:
        return None
    libc.mount(source, target, None, MS_BIND | MS_REC)
    return target[len(root) :]


def _build_view(libc: _Libc, plan: dict, owner: int | None = None) -> list[str]:
    """A fresh root (a size-limited tmpfs) holding only what the worker may see, pivoted into.

    Visible: the scratch copy and home (copied into the tmpfs, with /tmp, /var/tmp and /dev/shm:
    one disk limit for all), the Python environment and helpers (plan["expose"]), the system
    directories, a few files of /etc, a few devices and /proc. Everything else of the machine
    (other copies of the course, /root, /home, /opt, /srv, the host's /tmp) is not there.
    """
    notes = []
    libc.mount(None, "/", None, MS_REC | MS_PRIVATE)
    root = plan["rootfs"]
    size = f"size={plan['limits']['disk_mb']}m,mode=755"
    libc.mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, size)
    readonly = []
    for path in SYSTEM_DIRS:
        if os.path.islink(path):
            os.symlink(os.readlink(path), root + path)
        elif os.path.isdir(path):
            readonly.append(_bind(libc, path, root))
    os.makedirs(root + "/etc", exist_ok=True)
    for name in ETC:
        readonly.append(_bind(libc, f"/etc/{name}", root))
    for path in plan["expose"]:
        if not any(path == d or path.startswith(d + "/") for d in SYSTEM_DIRS):
            readonly.append(_bind(libc, path, root))
    os.makedirs(root + "/dev", exist_ok=True)
    for name in DEVICES:
        _bind(libc, f"/dev/{name}", root)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):  # fmt: skip
        os.symlink(target, f"{root}/dev/{name}")
    _bind(libc, "/proc", root)  # overmounted by the worker's own /proc once it is PID 1
    for path in ("/tmp", "/var/tmp", "/dev/shm"):
        os.makedirs(root + path, exist_ok=True)
        os.chmod(root + path, 0o1777)
    box = plan["box"]
    shutil.copytree(box, root + box, symlinks=True, dirs_exist_ok=True)
    if owner is not None:  # grading as root: the box belongs to the worker's own uid
        for directory, dirs, files in os.walk(root + box):
            for name in [directory] + [os.path.join(directory, n) for n in dirs + files]:
                os.lchown(name, owner, owner)
    os.chdir(root)
    number = SYS_PIVOT_ROOT.get(os.uname().machine)
    if number is None or libc.lib.syscall(number, b".", b".") != 0:
        raise OSError(ctypes.get_errno(), "pivot_root failed")
    libc.check(libc.lib.umount2(b".", MNT_DETACH), "umount2")
    os.chdir("/")
    for path in filter(None, readonly):
        if not libc.set_readonly(path, True, True):
            notes.append("system directories not remounted read-only (mount_setattr unavailable)")
            break
    return notes


def isolate(plan: dict) -> list[str]:
    """Enter user, mount, network and PID namespaces with instructor paths hidden; returns notes.

    Returns in a forked child that is PID 1 of the new PID namespace; the parent only waits
    for it and exits the same way, so the driver sees the child's fate.
    """
    libc = _Libc()
    uid, gid = os.getuid(), os.getgid()
    flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID
    if uid == 0:  # build the view as root, then become an unused uid in fresh namespaces
        libc.unshare(CLONE_NEWNS)
        notes = _build_view(libc, plan, plan["uid"])
        os.setgroups([])
        uid = gid = plan["uid"]
        os.setgid(gid)
        os.setuid(uid)
        libc.lib.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)
        resource.setrlimit(resource.RLIMIT_NPROC, (MAX_PROCESSES, MAX_PROCESSES))
        libc.unshare(flags)
        _map_ids(uid, gid)
        notes.append("worker runs as an unprivileged user of its own")
    else:
        libc.unshare(flags)
        _map_ids(uid, gid)
        notes = _build_view(libc, plan)
    os.chdir(plan["box"])
    child = os.fork()
    if child:
        _wait_and_mirror(child, plan["fds"])
    libc.lib.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    libc.mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    libc.drop_capabilities()
    return notes


def _wait_and_mirror(child: int, fds: list[int]) -> None:
    """In the parent: close the pipes, wait for the child, end the same way it ended."""
    for fd in fds:
        os.close(fd)
    while True:
        try:
            _, status = os.waitpid(child, 0)
            break
        except InterruptedError:
            continue
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
    os._exit(os.waitstatus_to_exitcode(status) if not os.WIFSIGNALED(status) else 1)
