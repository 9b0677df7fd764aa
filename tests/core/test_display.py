"""Before Qt starts: missing xcb libraries (from ldd of the installed plugin) and an X server
that does not answer become one line naming what to install, never Qt's abort."""

import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from rnnviz import display
from rnnviz.display import debian_package, display_problem, x_server_problem, xcb_plugin

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11 is Linux's")

README = Path(__file__).parents[2] / "README.md"
# ldd of a libqxcb.so where two of its libraries are hidden (as on the machine in issue 8).
LDD = """\
\tlinux-vdso.so.1 (0x00007ffd)
\tlibQt6XcbQpa.so.6 => /venv/PySide6/Qt/lib/libQt6XcbQpa.so.6 (0x00007f01)
\tlibxcb-cursor.so.0 => /lib/x86_64-linux-gnu/libxcb-cursor.so.0 (0x00007f02)
\tlibxcb-icccm.so.4 => not found
\tlibxkbcommon-x11.so.0 => /lib/x86_64-linux-gnu/libxkbcommon-x11.so.0 (0x00007f03)
\tlibxcb-keysyms.so.1 => not found
\tlibEGL.so.1 => not found
\tlibxcb-icccm.so.4 => not found
"""


def free_display() -> int:
    """An X display number with no server."""
    for n in range(150, 400):
        if not os.path.exists(f"/tmp/.X11-unix/X{n}") and x_server_problem(f":{n}"):
            return n
    pytest.skip("no free X display number")


@pytest.fixture
def x11_env(monkeypatch):
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    return monkeypatch


@pytest.mark.parametrize(
    ("soname", "package"),
    [
        ("libxcb-icccm.so.4", "libxcb-icccm4"),
        ("libxkbcommon-x11.so.0", "libxkbcommon-x11-0"),
        ("libxcb-cursor.so.0", "libxcb-cursor0"),
        ("libEGL.so.1", "libegl1"),
        ("libX11.so.6", "libx11-6"),
        ("libxcb-render-util.so.0", "libxcb-render-util0"),
        ("libGLdispatch.so.0", "libglvnd0"),
    ],
)
def test_a_library_is_named_by_its_debian_package(soname, package):
    assert debian_package(soname) == package


def test_every_missing_library_and_a_dead_display_are_one_message(x11_env, tmp_path):
    n = free_display()
    x11_env.setenv("DISPLAY", f":{n}")
    plugin = tmp_path / "libqxcb.so"
    problem = display_problem(ldd=lambda path: LDD, plugin=plugin)
    assert "sudo apt install libegl1 libxcb-icccm4 libxcb-keysyms1" in problem
    assert "libxcb-icccm.so.4" in problem  # the soname too, for other distributions
    assert problem.endswith(f"cannot connect to the X display :{n}")


def test_a_listening_x_socket_and_complete_libraries_are_no_problem(x11_env, tmp_path):
    n = free_display()
    folder = Path("/tmp/.X11-unix")
    if not folder.is_dir():
        folder.mkdir()
        folder.chmod(0o1777)  # as X servers leave it: anyone's server may add its socket
    path = folder / f"X{n}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(str(path))
        server.listen(1)
        try:
            x11_env.setenv("DISPLAY", f":{n}.0")
            complete = re.sub(r"=> not found", "=> /lib/x.so", LDD)
            assert display_problem(ldd=lambda p: complete, plugin=tmp_path / "p.so") is None
        finally:
            path.unlink()


@pytest.mark.parametrize("platform", ["offscreen", "minimal", "wayland", "vnc"])
def test_a_chosen_platform_other_than_xcb_is_not_checked(x11_env, tmp_path, platform):
    x11_env.setenv("QT_QPA_PLATFORM", platform)
    x11_env.setenv("DISPLAY", f":{free_display()}")
    assert display_problem(ldd=lambda path: LDD, plugin=tmp_path / "p.so") is None


def test_without_ldd_no_library_is_guessed(x11_env, tmp_path):
    x11_env.setenv("DISPLAY", ":0")
    assert display.missing_libraries(tmp_path / "p.so", ldd=lambda path: None) == []


def test_the_window_without_an_x_server_exits_2_with_one_line(tmp_path):
    """Issue 8: Qt aborted (exit 134, a core dump) where DISPLAY named no X server."""
    n = free_display()
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
    env["DISPLAY"] = f":{n}"
    result = subprocess.run(
        [sys.executable, "-m", "rnnviz"], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("rnnviz: error: cannot open the desktop app: ")
    assert lines[0].endswith(f"cannot connect to the X display :{n}")


def plugin_libraries() -> list[tuple[str, str | None]]:
    """(soname, resolved path or None) of the X11, xcb, xkb and GL libraries the installed
    xcb plugin links."""
    plugin = xcb_plugin()
    output = display.run_ldd(plugin) if plugin and shutil.which("ldd") else None
    if output is None:
        pytest.skip("no ldd or no xcb plugin")
    rows = re.findall(r"^\s*(\S+)\s+=>\s+(\S+)", output, re.MULTILINE)
    wanted = re.compile(r"lib(xcb|xkb|X11|EGL|GL)")
    return sorted({(so, None if path == "not" else path) for so, path in rows if wanted.match(so)})


def test_the_readme_apt_line_names_every_package_the_plugin_links():
    apt = next(line for line in README.read_text("utf-8").splitlines() if "libxcb-icccm4" in line)
    named = set(re.findall(r"lib[\w.+-]+", apt))
    needed = {debian_package(so) for so, _ in plugin_libraries()}
    assert needed <= named, sorted(needed - named)


@pytest.mark.skipif(not shutil.which("dpkg"), reason="needs Debian's dpkg")
def test_the_package_rule_agrees_with_dpkg_for_the_installed_libraries():
    checked = 0
    for soname, path in plugin_libraries():
        if path is None:
            continue
        for candidate in (path, os.path.realpath(path), "/usr" + os.path.realpath(path)):
            owner = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
            if owner.returncode == 0:
                package = owner.stdout.split(":")[0]
                assert package in (debian_package(soname), debian_package(soname) + "t64")
                checked += 1
                break
    assert checked > 0
