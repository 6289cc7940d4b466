"""The program inside the sandbox: one persistent Python namespace that runs the code it is sent, notebook-style.

This file is bound read-only into the sandbox and run there by the same interpreter, with the standard library
only (it never imports homeport). Startup stays lean: matplotlib, numpy and the like load only if the user's code
imports them, so a fresh sandbox answers in tens of milliseconds.

Protocol, one JSON object per line:

- argv[1]: the configuration: `uid`/`gid` to drop to (or null), `limits` (RLIMIT name -> [soft, hard]), `reply_fd`,
  `cwd`.
- stdin (moved to a private fd at startup; fd 0 becomes /dev/null so user code cannot read requests): requests,
  `{"code": "..."}`.
- `reply_fd` (never stdout: user code prints there): `{"ready": true}` once, then per request
  `{"error": str | null, "images": [base64 PNG, ...]}`.
- stdout and stderr: the host's log file, shared by every process of the sandbox, so output of subprocesses and
  the interleaving of both streams come through as written; the host reads it after each reply.

The user's code owns this process and can forge or break anything here; the host treats replies as untrusted.
"""

from __future__ import annotations

import ast
import base64
import builtins
import io
import json
import linecache
import os
import re
import resource
import sys
import traceback
import types
from typing import Any

BACKEND = "_homeport_inline"
# `%matplotlib inline` is the one IPython magic that model-written code uses all the time; it is a no-op here.
_MAGIC = re.compile(r"^[ \t]*%matplotlib\b.*$", re.MULTILINE)


class Kernel:
    """The persistent namespace and the notebook conventions around it (trailing expression, figures)."""

    def __init__(self) -> None:
        main = types.ModuleType("__main__")
        main.__dict__["__builtins__"] = builtins
        # Objects defined by the user's code pickle by reference to `__main__` (multiprocessing, joblib).
        sys.modules["__main__"] = main
        self.namespace = main.__dict__
        self.cells = 0
        self.images: list[bytes] = []
        self.pid = os.getpid()

    def run(self, code: str) -> dict[str, Any]:
        """Run one request; forked children of user code that get back here exit instead of replying."""
        self.cells += 1
        self.images = []
        error: str | None = None
        try:
            self._execute(_MAGIC.sub("", code), f"<cell {self.cells}>")
        except BaseException as exc:  # noqa: B036 -- SystemExit and KeyboardInterrupt are the user's, reported
            if os.getpid() != self.pid:
                _flush()
                os._exit(1)
            error = _report(exc)
        if os.getpid() != self.pid:
            _flush()
            os._exit(0)
        _flush()
        self.collect_figures()
        _flush()
        return {"error": error, "images": [base64.b64encode(image).decode() for image in self.images]}

    def _execute(self, code: str, filename: str) -> None:
        tree = ast.parse(code, filename, "exec")
        # Registered so tracebacks show the user's source lines.
        linecache.cache[filename] = (len(code), None, code.splitlines(keepends=True), filename)
        last = tree.body[-1] if tree.body else None
        if isinstance(last, ast.Expr):
            tree.body.pop()
        exec(compile(tree, filename, "exec"), self.namespace)
        if not isinstance(last, ast.Expr):
            return
        value = eval(compile(ast.Expression(last.value), filename, "eval"), self.namespace)
        # Like a notebook cell: show the trailing expression's value, unless a `;` ends the cell.
        if value is not None and not code.rstrip().endswith(";"):
            print(repr(value))

    def collect_figures(self) -> None:
        """Render every open figure to PNG and close it: at `plt.show()` and after each request."""
        pyplot: Any = sys.modules.get("matplotlib.pyplot")
        if pyplot is None:
            return
        try:
            for number in pyplot.get_fignums():
                buffer = io.BytesIO()
                pyplot.figure(number).savefig(buffer, format="png", bbox_inches="tight")
                self.images.append(buffer.getvalue())
        except Exception as exc:
            _write(f"Could not render a figure: {_last_line(exc)}\n")
        finally:
            pyplot.close("all")


def _report(exc: BaseException) -> str:
    """Print the traceback (without the kernel's own frames) to stderr; return its last line as the error."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next
    _flush()
    _write("".join(traceback.format_exception(type(exc), exc, tb)))
    return _last_line(exc)


def _last_line(exc: BaseException) -> str:
    return traceback.format_exception_only(type(exc), exc)[-1].strip()


def _write(text: str) -> None:
    # Straight to fd 2: the user's code may have replaced or closed sys.stderr.
    try:
        os.write(2, text.encode("utf-8", "replace"))
    except OSError:
        pass


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # a stream the user's code broke must not break the kernel
            pass


def _install_backend(kernel: Kernel) -> None:
    """Register the matplotlib backend named by MPLBACKEND: Agg's canvas, and a `show()` that collects figures.

    Agg itself is imported only when matplotlib asks for the canvas (PEP 562 module `__getattr__`), so the kernel
    never pays for matplotlib unless the user's code uses it.
    """
    module = types.ModuleType(BACKEND, "Agg rendering; show() hands the figures to the kernel")

    def canvas(name: str) -> Any:
        if name != "FigureCanvas":
            raise AttributeError(name)
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        # pyplot copies the module's namespace into a class; leave no __getattr__ behind for it to copy.
        del module.__dict__["__getattr__"]
        module.__dict__["FigureCanvas"] = FigureCanvasAgg
        return FigureCanvasAgg

    def show(*args: object, **kwargs: object) -> None:
        kernel.collect_figures()

    module.__dict__.update(__getattr__=canvas, show=show)
    sys.modules[BACKEND] = module


def _confine(config: dict[str, Any]) -> None:
    """Drop to the unprivileged user and set the limits, before any user code; refuse to go on otherwise."""
    uid, gid = config.get("uid"), config.get("gid")
    if uid is not None and gid is not None:
        os.setgroups([])
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)
        with open("/proc/self/status") as status:
            caps = [line.split() for line in status if line.startswith("Cap")]
        held = [int(fields[1], 16) for fields in caps if fields[0] in ("CapPrm:", "CapEff:", "CapAmb:")]
        if os.getresuid() != (uid, uid, uid) or len(held) != 3 or any(held):
            raise SystemExit("kernel: could not drop privileges")
    for name, (soft, hard) in config["limits"].items():
        resource.setrlimit(getattr(resource, name), (soft, hard))
    # The server's event loop shares these cores; user code (and a fork bomb) yields to it.
    os.nice(10)
    os.chdir(config["cwd"])


def _private_channels(reply_fd: int) -> tuple[io.BufferedReader, int]:
    """Move the request pipe off fd 0 and close every fd bwrap or the host left open, except the reply pipe."""
    requests = os.fdopen(os.dup(0), "rb")  # os.dup: not inherited by the user's subprocesses
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.set_inheritable(reply_fd, False)
    for name in os.listdir("/proc/self/fd"):  # the listing's own fd is gone by the time we close
        if int(name) > 2 and int(name) not in (requests.fileno(), reply_fd):
            try:
                os.close(int(name))
            except OSError:
                pass
    return requests, reply_fd


def _send(fd: int, message: dict[str, Any]) -> None:
    data = (json.dumps(message) + "\n").encode()
    while data:
        data = data[os.write(fd, data) :]


def main() -> None:
    config = json.loads(sys.argv[1])
    _confine(config)
    requests, reply_fd = _private_channels(config["reply_fd"])
    if isinstance(sys.stdout, io.TextIOWrapper):
        # stdout is a file, so Python would buffer it in blocks and scramble its order against stderr.
        sys.stdout.reconfigure(line_buffering=True)
    sys.path.insert(0, "")  # modules the user writes to /mnt/data import, as in a notebook
    kernel = Kernel()
    _install_backend(kernel)
    _send(reply_fd, {"ready": True})
    for line in requests:
        request = json.loads(line)
        _send(reply_fd, kernel.run(request["code"]))


if __name__ == "__main__":
    main()
