"""The kernel's half of the fence: Landlock and seccomp through a small ctypes layer.

A Python audit hook lives in the same process as the code it watches, so it can be
worked around (dir_fd arguments, raw syscalls, C extensions). On Linux the worker also
asks the kernel to enforce the rules, for the worker and everything it could start:

- Landlock (ABI 1+): the file system is read-only and limited to what Python and its
  packages need (minus the protected folders); only the scratch folder is writable.
  ABI 4+ also refuses TCP bind/connect; ABI 6+ refuses signals to processes outside the
  worker and connections to abstract Unix sockets.
- seccomp: no new processes, no exec, no ptrace or cross-process memory access, no
  sockets, no device or FIFO nodes, no mounts, namespaces, keyrings, BPF or io_uring.

Both hold for root too. No third-party library: the two interfaces are a few structs,
and a dependency would be one more thing a learner's machine must build.
"""

from __future__ import annotations

import ctypes
import errno as errnos
import os
import platform
import struct
import sys
from collections.abc import Iterable
from dataclasses import dataclass

# x86_64 and aarch64 share the Landlock numbers (they are in the generic table)
_LANDLOCK_CREATE_RULESET, _LANDLOCK_ADD_RULE, _LANDLOCK_RESTRICT_SELF = 444, 445, 446
_PR_SET_NO_NEW_PRIVS, _PR_SET_DUMPABLE, _PR_GET_SECCOMP, _PR_SET_SECCOMP = 38, 4, 21, 22
_SECCOMP_MODE_FILTER = 2

# Landlock file-system rights, by the ABI that introduced them
_FS_EXECUTE, _FS_WRITE_FILE, _FS_READ_FILE, _FS_READ_DIR = 1, 2, 4, 8
_FS_ABI1 = (1 << 13) - 1
_FS_REFER, _FS_TRUNCATE, _FS_IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
_FS_MAKE_CHAR, _FS_MAKE_SOCK, _FS_MAKE_FIFO, _FS_MAKE_BLOCK = 1 << 6, 1 << 9, 1 << 10, 1 << 11
_NET_BIND_TCP, _NET_CONNECT_TCP = 1, 2
_SCOPE_ABSTRACT_UNIX_SOCKET, _SCOPE_SIGNAL = 1, 2
_READ = _FS_EXECUTE | _FS_READ_FILE | _FS_READ_DIR
_FILE_RIGHTS = _FS_EXECUTE | _FS_WRITE_FILE | _FS_READ_FILE | _FS_TRUNCATE | _FS_IOCTL_DEV


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def landlock_abi() -> int:
    """The kernel's Landlock ABI version, 0 when there is none (or not Linux)."""
    if sys.platform != "linux":
        return 0
    libc = _libc()
    libc.syscall.restype = ctypes.c_long
    v = libc.syscall(_LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    return max(int(v), 0)


def _fs_rights(abi: int) -> int:
    rights = _FS_ABI1
    if abi >= 2:
        rights |= _FS_REFER
    if abi >= 3:
        rights |= _FS_TRUNCATE
    if abi >= 5:
        rights |= _FS_IOCTL_DEV
    return rights


class FenceError(OSError):
    pass


def _check(value: int, what: str) -> int:
    if value < 0:
        e = ctypes.get_errno()
        raise FenceError(e, f"{what}: {os.strerror(e)}")
    return value


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _grants(roots: Iterable[str], excluded: tuple[str, ...]) -> list[str]:
    """Paths to grant so that every root is covered except the excluded subtrees.

    Landlock only adds rights, so a root that holds an excluded folder (the project folder
    that an editable install puts on sys.path holds solutions/ and graders/) is granted
    child by child, skipping what is excluded.
    """
    out: list[str] = []
    for root in {os.path.realpath(r) for r in roots if os.path.exists(r)}:
        if any(_inside(root, x) for x in excluded):
            continue
        if not any(_inside(x, root) for x in excluded):
            out.append(root)
            continue
        try:
            children = [os.path.join(root, n) for n in os.listdir(root)]
        except OSError:
            continue
        out += _grants(children, excluded)
    return sorted(set(out))


def _add_path_rule(libc, ruleset: int, path: str, rights: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return  # gone or unreadable: nothing to grant
    try:
        if not os.path.isdir(path):
            rights &= _FILE_RIGHTS
        attr = struct.pack("=Qi", rights, fd)  # struct landlock_path_beneath_attr (packed)
        buf = ctypes.create_string_buffer(attr, len(attr))
        _check(
            libc.syscall(_LANDLOCK_ADD_RULE, ruleset, 1, buf, ctypes.c_uint32(0)),
            f"landlock_add_rule {path}",
        )
    finally:
        os.close(fd)


def _landlock(abi: int, readable: list[str], writable: list[str]) -> None:
    libc = _libc()
    libc.syscall.restype = ctypes.c_long
    handled = _fs_rights(abi)
    net = _NET_BIND_TCP | _NET_CONNECT_TCP if abi >= 4 else 0
    scoped = _SCOPE_ABSTRACT_UNIX_SOCKET | _SCOPE_SIGNAL if abi >= 6 else 0
    attr = struct.pack("=QQQ", handled, net, scoped)
    size = 8 if abi < 4 else 16 if abi < 6 else 24
    buf = ctypes.create_string_buffer(attr[:size], size)
    ruleset = _check(
        libc.syscall(_LANDLOCK_CREATE_RULESET, buf, ctypes.c_size_t(size), ctypes.c_uint32(0)),
        "landlock_create_ruleset",
    )
    try:
        for path in readable:
            _add_path_rule(libc, ruleset, path, _READ)
        # the scratch folder: anything but device, socket and FIFO nodes (a FIFO is a hang)
        write = handled & ~(_FS_MAKE_CHAR | _FS_MAKE_BLOCK | _FS_MAKE_SOCK | _FS_MAKE_FIFO)
        for path in writable:
            _add_path_rule(libc, ruleset, path, write)
        _check(
            libc.syscall(_LANDLOCK_RESTRICT_SELF, ruleset, ctypes.c_uint32(0)),
            "landlock_restrict_self",
        )
    finally:
        os.close(ruleset)


# -- seccomp -------------------------------------------------------------------------------
_AUDIT_ARCH = {"x86_64": 0xC000003E}
_X32_BIT = 0x40000000
_CLONE_THREAD = 0x00010000
_RET_ALLOW, _RET_KILL_PROCESS = 0x7FFF0000, 0x80000000


def _ret_errno(e: int) -> int:
    return 0x00050000 | e


# x86_64 numbers of the calls the worker never needs
_DENY_X86_64 = {
    "fork": 57, "vfork": 58, "execve": 59, "execveat": 322, "ptrace": 101,
    "process_vm_readv": 310, "process_vm_writev": 311, "process_madvise": 440,
    "process_mrelease": 448, "kcmp": 312, "tkill": 200,
    "pidfd_open": 434, "pidfd_send_signal": 424, "pidfd_getfd": 438,
    "socket": 41, "socketpair": 53, "mknod": 133, "mknodat": 259,
    "mount": 165, "umount2": 166, "pivot_root": 155, "chroot": 161, "unshare": 272,
    "setns": 308, "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431,
    "fsmount": 432, "fspick": 433, "mount_setattr": 442,
    "keyctl": 250, "add_key": 248, "request_key": 249, "bpf": 321, "perf_event_open": 298,
    "userfaultfd": 323, "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
    "init_module": 175, "finit_module": 313, "delete_module": 176, "kexec_load": 246,
    "kexec_file_load": 320, "reboot": 169, "swapon": 167, "swapoff": 168, "acct": 163,
    "quotactl": 179, "syslog": 103, "personality": 135, "fanotify_init": 300,
    "name_to_handle_at": 303, "open_by_handle_at": 304,
}  # fmt: skip
# signal calls allowed only towards the worker itself (first argument = its pid)
_OWN_PID_ONLY = {"kill": 62, "tgkill": 234, "rt_sigqueueinfo": 129, "rt_tgsigqueueinfo": 297}
_CLONE, _CLONE3 = 56, 435


def _insn(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k & 0xFFFFFFFF)


_LD_W_ABS, _JEQ, _JGE, _JSET, _RET = 0x20, 0x15, 0x35, 0x45, 0x06


def _seccomp_program(arch: int, pid: int) -> bytes:
    deny = _ret_errno(errnos.EPERM)
    prog = [
        _insn(_LD_W_ABS, 4),  # seccomp_data.arch
        _insn(_JEQ, arch, 1, 0),
        _insn(_RET, _RET_KILL_PROCESS),
        _insn(_LD_W_ABS, 0),  # seccomp_data.nr
        _insn(_JGE, _X32_BIT, 0, 1),
        _insn(_RET, deny),
    ]
    for nr in sorted(_DENY_X86_64.values()):
        prog += [_insn(_JEQ, nr, 0, 1), _insn(_RET, deny)]
    # clone3 hides its flags in memory: ENOSYS makes glibc fall back to clone, checked below
    prog += [_insn(_JEQ, _CLONE3, 0, 1), _insn(_RET, _ret_errno(errnos.ENOSYS))]
    # clone: threads only (CLONE_THREAD set), never a new process
    prog += [
        _insn(_JEQ, _CLONE, 0, 4),
        _insn(_LD_W_ABS, 16),  # args[0] low word: flags
        _insn(_JSET, _CLONE_THREAD, 0, 1),
        _insn(_RET, _RET_ALLOW),
        _insn(_RET, deny),
    ]
    for nr in sorted(_OWN_PID_ONLY.values()):
        prog += [
            _insn(_JEQ, nr, 0, 5),
            _insn(_LD_W_ABS, 16),  # args[0] low word: the target pid
            _insn(_JEQ, pid, 2, 0),
            _insn(_JEQ, 0, 1, 0),  # kill(0, sig): our own process group, i.e. ourselves
            _insn(_RET, deny),
            _insn(_RET, _RET_ALLOW),
        ]
    prog.append(_insn(_RET, _RET_ALLOW))
    return b"".join(prog)


def _seccomp(arch: int) -> None:
    libc = _libc()
    code = _seccomp_program(arch, os.getpid())
    n = len(code) // 8
    filt = ctypes.create_string_buffer(code, len(code))
    fprog = struct.pack("=HxxxxxxQ", n, ctypes.addressof(filt))  # struct sock_fprog
    fbuf = ctypes.create_string_buffer(fprog, len(fprog))
    _check(libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, fbuf, 0, 0), "prctl(PR_SET_SECCOMP)")


# -- what this machine can enforce -----------------------------------------------------------
@dataclass(frozen=True)
class Mechanism:
    name: str
    enforced: bool
    why: str


def seccomp_arch() -> int | None:
    if sys.platform != "linux":
        return None
    return _AUDIT_ARCH.get(platform.machine())


def _seccomp_available() -> tuple[bool, str]:
    if sys.platform != "linux":
        return False, f"not Linux ({sys.platform})"
    if seccomp_arch() is None:
        return False, f"no syscall table for {platform.machine()} in nnfs yet"
    libc = _libc()
    if libc.prctl(_PR_GET_SECCOMP, 0, 0, 0, 0) < 0:
        return False, "the kernel was built without seccomp"
    return True, "seccomp filter"


def mechanisms() -> list[Mechanism]:
    """One entry per mechanism: is it enforced on this machine, and why (not)."""
    abi = landlock_abi()
    why_not = (
        f"not Linux ({sys.platform})"
        if sys.platform != "linux"
        else "Landlock is not enabled in this kernel (needs Linux 5.13+ with lsm=landlock)"
    )

    def needs(v: int, what: str) -> Mechanism:
        if abi >= v:
            return Mechanism(what, True, f"Landlock ABI {abi}")
        return Mechanism(
            what, False, why_not if abi == 0 else f"needs Landlock ABI {v}, kernel has {abi}"
        )

    ok, why = _seccomp_available()
    return [
        needs(1, "file system: read only what Python needs, write only scratch"),
        needs(4, "network: no TCP connect or bind"),
        needs(6, "signals: none to processes outside the worker"),
        Mechanism("processes, sockets, ptrace, device nodes: refused", ok, why),
        Mechanism(
            "memory and CPU limits (rlimits)",
            os.name == "posix",
            "setrlimit" if os.name == "posix" else "not POSIX",
        ),
        Mechanism("Python audit hook (second layer, messages)", True, "PEP 578, every platform"),
    ]


def enforce(readable: Iterable[str], protected: tuple[str, ...], scratch: str) -> list[str]:
    """Fence the calling (single-threaded) process in; returns what could not be enforced."""
    missing: list[str] = []
    if sys.platform != "linux":
        return ["landlock", "seccomp"]
    libc = _libc()
    _check(libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)")
    abi = landlock_abi()
    if abi >= 1:
        excluded = tuple(os.path.realpath(p) for p in protected)
        _landlock(abi, _grants(readable, excluded), [scratch, "/dev/null"])
    else:
        missing.append("landlock")
    arch = seccomp_arch()
    if arch is not None and _seccomp_available()[0]:
        _seccomp(arch)
    else:
        missing.append("seccomp")
    return missing


def not_dumpable() -> None:
    """Keep other processes of this user out of our memory (/proc/<pid>/mem, ptrace)."""
    if sys.platform == "linux":
        _libc().prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)
