"""Can Qt open a window here? Asked before anything imports QtGui or creates a QApplication.

Where Qt's X11 platform plugin (libqxcb.so) cannot load one of its libraries, or DISPLAY names
no X server, Qt prints a misleading hint ("xcb-cursor0 is needed") and aborts the process
(SIGABRT, a core dump). `display_problem` finds both first and says what to do in one line.

The libraries are those the installed plugin really links, as `ldd` reports them (a list
written here would go stale with the next PySide6), plus libxcb-cursor, which Qt opens at run
time. Each missing soname is named with its Debian/Ubuntu package by a rule that holds for
the X11, xcb, xkb and GL libraries (checked with `dpkg -S` against Debian 12).
"""

from __future__ import annotations

import ctypes.util
import importlib.util
import os
import re
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

# Qt 6.5+ opens libxcb-cursor with dlopen, so ldd of an older plugin does not list it.
RUNTIME_LIBRARIES = ("libxcb-cursor.so.0",)
# Debian names the rule below gets wrong, among libraries Qt's plugins link.
PACKAGE_EXCEPTIONS = {
    "libGLdispatch.so.0": "libglvnd0",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libz.so.1": "zlib1g",
}

Ldd = Callable[[Path], str | None]


def display_problem(ldd: Ldd | None = None, plugin: Path | None = None) -> str | None:
    """Why Qt could not open a window here (it would abort the process), or None.

    `ldd` (path -> ldd's output, or None where ldd cannot tell) and `plugin` (the xcb plugin)
    are for tests; by default the real ldd and PySide6's own plugin."""
    if not sys.platform.startswith("linux"):
        return None
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    wayland = bool(os.environ.get("WAYLAND_DISPLAY"))
    x11 = os.environ.get("DISPLAY", "")
    if platform and not platform.startswith("xcb"):
        return None  # offscreen, wayland, vnc, eglfs…: the user chose deliberately
    if not platform and wayland:
        return None  # Qt takes Wayland's plugin, not xcb's
    if not x11:
        return (
            "no display (neither DISPLAY nor WAYLAND_DISPLAY is set); "
            "`rnnviz train` and `rnnviz trace` work without one"
        )
    problems = []
    plugin = plugin or xcb_plugin()
    missing = missing_libraries(plugin, ldd or run_ldd) if plugin else []
    if missing:
        problems.append(
            f"Qt's X11 platform plugin needs system libraries that are missing "
            f"({', '.join(missing)}); on Debian/Ubuntu: {apt_line(missing)}"
        )
    x_problem = x_server_problem(x11)
    if x_problem:
        problems.append(x_problem)
    return "; and ".join(problems) or None


def xcb_plugin() -> Path | None:
    """PySide6's libqxcb.so, found without importing PySide6 (whose import loads Qt)."""
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "Qt" / "plugins" / "platforms" / "libqxcb.so"
        if path.is_file():
            return path
    return None


def qt_library_hint() -> str:
    """'; on Debian/Ubuntu: sudo apt install …' for the libraries PySide6's widgets module
    lacks (for when importing it failed), or '' where none can be named."""
    spec = importlib.util.find_spec("PySide6")
    folders = (spec.submodule_search_locations or []) if spec else []
    modules = [m for f in folders for m in sorted(Path(f).glob("QtWidgets*.so"))]
    missing = missing_libraries(modules[0]) if modules else []
    return f"; on Debian/Ubuntu: {apt_line(missing)}" if missing else ""


def run_ldd(path: Path) -> str | None:
    """ldd's output for `path`, or None where there is no ldd or it cannot tell."""
    try:
        done = subprocess.run(
            ["ldd", str(path)], capture_output=True, text=True, timeout=20, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def missing_libraries(path: Path, ldd: Ldd = run_ldd) -> list[str]:
    """Sonames `path` links (or Qt opens at run time) that the system lacks, sorted."""
    output = ldd(path)
    if output is None:
        return []  # no ldd (or not a dynamic library we can read): do not guess
    missing = set(re.findall(r"^\s*(\S+)\s+=>\s+not found", output, re.MULTILINE))
    linked = set(re.findall(r"^\s*(\S+)\s+=>", output, re.MULTILINE))
    # find_library asks ldconfig; where that knows nothing (not even libc) do not guess.
    if ctypes.util.find_library("c"):
        for soname in RUNTIME_LIBRARIES:
            name = soname[3:].split(".so")[0]
            if soname not in linked and not ctypes.util.find_library(name):
                missing.add(soname)
    return sorted(missing)


def debian_package(soname: str) -> str:
    """The Debian/Ubuntu package of a library: lib<name>.so.<N> -> lib<name><N>, with a dash
    before N where the name ends in a digit (libx11-6, libxkbcommon-x11-0), lower case."""
    if soname in PACKAGE_EXCEPTIONS:
        return PACKAGE_EXCEPTIONS[soname]
    match = re.fullmatch(r"(lib.+?)\.so\.(\d+)(?:\.\d+)*", soname)
    if not match:
        return soname
    name, number = match.group(1).lower(), match.group(2)
    return f"{name}-{number}" if name[-1].isdigit() else f"{name}{number}"


def apt_line(sonames: list[str]) -> str:
    packages = sorted({debian_package(s) for s in sonames})
    return f"sudo apt install {' '.join(packages)}"


def x_server_problem(display: str, timeout: float = 2.0) -> str | None:
    """None when an X server answers at `display` (":0", "unix:1", "host:10.0"), else why."""
    match = re.fullmatch(r"(?P<host>[^:]*):(?P<number>\d+)(?:\.\d+)?", display)
    if not match:
        return f"DISPLAY={display!r} is not an X display name (like :0)"
    host, number = match.group("host"), int(match.group("number"))
    if host in ("", "unix"):
        path = f"/tmp/.X11-unix/X{number}"
        # The file system socket, then Linux's abstract one (which some sandboxes keep alone).
        addresses = [(socket.AF_UNIX, path), (socket.AF_UNIX, "\0" + path)]
    else:
        addresses = [(socket.AF_INET, (host, 6000 + number))]
    for family, address in addresses:
        try:
            if family == socket.AF_INET:
                socket.create_connection(address, timeout=timeout).close()
            else:
                with socket.socket(family, socket.SOCK_STREAM) as s:
                    s.settimeout(timeout)
                    s.connect(address)
            return None
        except OSError:
            continue
    return f"cannot connect to the X display {display}"
