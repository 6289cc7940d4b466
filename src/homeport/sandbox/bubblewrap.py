"""The bubblewrap command line that confines one sandbox, and the host-side steps around it.

What the sandboxed process sees of the host: /usr (read-only, with Debian's /bin, /lib, /lib64 symlinks), the
Python installation (read-only: it lives outside /usr), /etc/fonts (read-only, so matplotlib's `fc-list` call
does not print an error into the user's logs), the kernel script, and the container's own directory at /mnt/data
(read-write, the cwd). Everything else is fresh and private: /proc of its own pid namespace, a minimal /dev, tmpfs
/tmp and /dev/shm, no network (only its own loopback), its own hostname, no /etc/passwd, no data dir, and of
/root at most the empty directories leading to a Python installed under it (pyenv).

Two ways to run, chosen by who we are:

- As root (a container image, CI), bwrap starts the user namespace, then waits on `--userns-block-fd` while we
  write its id maps ourselves: ids 0 and 65534 map to the same host ids. bwrap sets up mounts as namespace root
  (which can read the Python under /root), keeps only CAP_SETUID and CAP_SETGID, and the kernel's first act is to
  drop to uid/gid 65534 ("nobody"), which clears every capability. The user's code runs as host uid 65534, so
  even a mount escape would land as nobody, and RLIMIT_NPROC counts its processes per (namespace, uid), i.e. per
  sandbox. Without that dance bwrap would map the sandbox user onto host uid 0.
- As any other user, bwrap maps that user into the namespace by itself (unprivileged user namespaces) and
  `--disable-userns` forbids nested ones; the code runs as the server's own uid, confined by the mounts alone.

Either way a small seccomp filter (`seccomp_filter`) refuses what the sandbox has no use for and what most kernel
exploits start from: new user namespaces (the root mode cannot use `--disable-userns`), io_uring, bpf,
perf_event_open, userfaultfd and the keyring calls.
"""

from __future__ import annotations

import itertools
import json
import os
import platform
import struct
import sys
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

NOBODY = 65534
DATA_DIR = "/mnt/data"
KERNEL_PATH = "/opt/homeport/kernel.py"
# Matplotlib renders with Agg; `show()` hands figures to the kernel (see kernel.py).
MPL_BACKEND = "module://_homeport_inline"
# Python lives outside /usr in pyenv and most venvs; /usr itself is bound whole.
_BOUND_WHOLE = PurePosixPath("/usr")


def drop_to() -> int | None:
    """The uid (and gid) the user's code drops to, or None when it keeps ours because we are not root."""
    return NOBODY if os.geteuid() == 0 else None


def command(
    bwrap: str,
    directory: Path,
    *,
    info_fd: int,
    block_fd: int | None,
    seccomp_fd: int | None,
    tmp_bytes: int,
    kernel_config: Mapping[str, object],
) -> list[str]:
    """The full argv: bwrap, its options, then the sandboxed interpreter running the kernel.

    `block_fd` is given exactly when we run as root and will write the id maps (see the module docstring).
    """
    argv = [bwrap, "--unshare-all", "--unshare-user", "--hostname", "sandbox"]
    argv += ["--die-with-parent", "--new-session", "--info-fd", str(info_fd)]
    if block_fd is None:
        argv += ["--disable-userns", "--cap-drop", "ALL"]
    else:
        # Kept only until the kernel's setresuid(65534), which clears them (and no_new_privs stops any regain).
        argv += ["--userns-block-fd", str(block_fd), "--cap-drop", "ALL"]
        argv += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    if seccomp_fd is not None:
        argv += ["--seccomp", str(seccomp_fd)]
    argv += _filesystem(directory, tmp_bytes)
    # No --chdir: bwrap's last steps run as namespace root without capabilities, which may not enter a directory
    # that belongs to uid 65534 alone; the kernel changes into it after dropping to that uid.
    argv += ["--clearenv", *_environment()]
    # -I: no PYTHON* variables, no user site, no cwd on sys.path (the kernel adds /mnt/data itself); -B: no
    # __pycache__ litter in the user's directory.
    argv += [sys.executable, "-I", "-B", KERNEL_PATH, json.dumps(kernel_config)]
    return argv


def _filesystem(directory: Path, tmp_bytes: int) -> list[str]:
    # Every parent is made explicitly: bwrap 0.8 creates missing parents of a bind target with mode 0700, which
    # uid 65534 cannot traverse.
    made: set[str] = set()
    argv = ["--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/lib", "/lib64", "/sbin"):
        if Path(top).is_symlink():  # merged /usr (Debian 12, Ubuntu): /bin -> usr/bin
            argv += ["--symlink", os.readlink(top), top]
        elif Path(top).is_dir():
            argv += ["--ro-bind", top, top]
    for prefix in _python_prefixes():
        argv += _parents(prefix, made) + ["--ro-bind", str(prefix), str(prefix)]
    if Path("/etc/fonts").is_dir():
        argv += _parents(PurePosixPath("/etc/fonts"), made) + ["--ro-bind", "/etc/fonts", "/etc/fonts"]
    kernel = Path(__file__).with_name("kernel.py")
    argv += _parents(PurePosixPath(KERNEL_PATH), made) + ["--ro-bind", str(kernel), KERNEL_PATH]
    argv += _parents(PurePosixPath(DATA_DIR), made) + ["--bind", str(directory), DATA_DIR]
    argv += ["--proc", "/proc", "--dev", "/dev"]
    # tmpfs is memory that RLIMIT_AS does not count, hence the size caps.
    argv += ["--perms", "1777", "--size", str(tmp_bytes), "--tmpfs", "/tmp"]
    argv += ["--perms", "1777", "--size", str(tmp_bytes), "--tmpfs", "/dev/shm"]
    return argv


def _python_prefixes() -> list[PurePosixPath]:
    """The installation(s) the interpreter needs: a venv and its base, unless /usr already holds them."""
    prefixes: list[PurePosixPath] = []
    for raw in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix):
        path = PurePosixPath(os.path.realpath(raw))
        if path.is_relative_to(_BOUND_WHOLE) or any(path.is_relative_to(seen) for seen in prefixes):
            continue
        prefixes = [seen for seen in prefixes if not seen.is_relative_to(path)] + [path]
    return prefixes


def _parents(path: PurePosixPath, made: set[str]) -> list[str]:
    argv: list[str] = []
    for parent in reversed(path.parents):
        name = str(parent)
        if name != "/" and name not in made:
            made.add(name)
            argv += ["--perms", "0755", "--dir", name]
    return argv


def _environment() -> list[str]:
    """A clean environment: nothing of the server's leaks in (API keys, paths, proxies)."""
    threads = str(min(4, os.cpu_count() or 1))
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        # HOME off /mnt/data, so tools' dotfiles and caches stay out of the user's files.
        "HOME": "/tmp",
        "TMPDIR": "/tmp",
        "LANG": "C.UTF-8",
        "MPLBACKEND": MPL_BACKEND,
        "MPLCONFIGDIR": "/tmp/.matplotlib",
        "XDG_CACHE_HOME": "/tmp/.cache",
        # RLIMIT_AS counts address space, not memory: every malloc arena and BLAS thread reserves tens of MB, so
        # on a many-core host `import numpy` alone would pass 1 GiB without these.
        "MALLOC_ARENA_MAX": "2",
        "OPENBLAS_NUM_THREADS": threads,
        "OMP_NUM_THREADS": threads,
        "MKL_NUM_THREADS": threads,
    }
    return [arg for name, value in env.items() for arg in ("--setenv", name, value)]


# seccomp_data offsets, classic BPF opcodes and return values (linux/seccomp.h, linux/filter.h).
_ARCH, _NR, _ARG0 = 4, 0, 16
_LOAD, _JEQ, _JSET, _JGE, _RET = 0x20, 0x15, 0x45, 0x35, 0x06
_ALLOW, _KILL = 0x7FFF0000, 0x80000000
_EPERM, _ENOSYS = 0x00050000 | 1, 0x00050000 | 38
_CLONE_NEWUSER = 0x10000000
# machine -> (AUDIT_ARCH_*, clone, clone3, refused syscalls: unshare setns keyctl add_key request_key bpf
# perf_event_open userfaultfd io_uring_setup io_uring_enter io_uring_register)
_SYSCALLS = {
    "x86_64": (0xC000003E, 56, 435, (272, 308, 250, 248, 249, 321, 298, 323, 425, 426, 427)),
    "aarch64": (0xC00000B7, 220, 435, (97, 268, 219, 217, 218, 280, 241, 282, 425, 426, 427)),
}


def seccomp_filter() -> bytes | None:
    """The filter as bwrap's `--seccomp` reads it (struct sock_filter[]), or None on an architecture we lack.

    clone3 answers ENOSYS (its flags sit in memory a filter cannot read), so glibc falls back to clone, whose
    CLONE_NEWUSER flag is checked. Other architectures' syscalls (i386 on x86_64) kill the process.
    """
    machine = platform.machine()
    if machine not in _SYSCALLS:
        return None
    arch, clone, clone3, refused = _SYSCALLS[machine]
    program = [(_LOAD, 0, 0, _ARCH), (_JEQ, 1, 0, arch), (_RET, 0, 0, _KILL), (_LOAD, 0, 0, _NR)]
    if machine == "x86_64":  # the x32 ABI's numbers, which would dodge the checks below
        program += [(_JGE, 0, 1, 0x40000000), (_RET, 0, 0, _EPERM)]
    for number in refused:
        program += [(_JEQ, 0, 1, number), (_RET, 0, 0, _EPERM)]
    program += [(_JEQ, 0, 1, clone3), (_RET, 0, 0, _ENOSYS)]
    program += [(_JEQ, 0, 3, clone), (_LOAD, 0, 0, _ARG0), (_JSET, 0, 1, _CLONE_NEWUSER), (_RET, 0, 0, _EPERM)]
    program += [(_RET, 0, 0, _ALLOW)]
    return b"".join(struct.pack("=HBBI", *instruction) for instruction in program)


def write_id_maps(pid: int) -> None:
    """Map ids 0 and 65534 of the new user namespace onto the same host ids (root mode, see module docstring).

    0 must be mapped for bwrap's setup (it creates files as namespace root); 65534 is what the kernel drops to.
    """
    for name in ("uid_map", "gid_map"):
        Path(f"/proc/{pid}/{name}").write_text(f"0 0 1\n{NOBODY} {NOBODY} 1\n")


def hand_over(directory: Path, uid: int | None) -> None:
    """Make the container's files the sandbox user's, so its code can write them (root mode only).

    fwalk with dir fds and follow_symlinks=False: the directory holds whatever earlier user code left there,
    symlinks to /etc/shadow included, and a root chown must never follow one.
    """
    if uid is None:
        return
    os.chown(directory, uid, uid, follow_symlinks=False)
    for _, dirs, files, dir_fd in os.fwalk(directory, follow_symlinks=False):
        for name in itertools.chain(dirs, files):
            os.chown(name, uid, uid, dir_fd=dir_fd, follow_symlinks=False)
