"""Where a blocked event loop is: a sampler for benchmarks that find stalls.

A 10 ms Qt timer stamps the time on the GUI thread; a background thread wakes every 50 ms and,
while the stamp is older than `after_s`, records the GUI thread's Python stack (the frames of
rnnviz, pyqtgraph and the benchmark). Each sample stands for 50 ms of a blocked loop, so
`report()` ranks the places by the time the loop spent blocked in them.

The stack is read by faulthandler's dump, not through sys._current_frames(): Python 3.11 crashed
(SIGSEGV, twice in four 2,000-action monkey runs) with frame objects of the running GUI thread
made and walked from this one.

    sampler = StallSampler(); sampler.start()  # on the GUI thread, with a QApplication
    ...
    sampler.stop(); print(sampler.report())
"""

from __future__ import annotations

import faulthandler
import re
import tempfile
import threading
import time
from collections import Counter

from PySide6.QtCore import QTimer

PERIOD_S = 0.05
KEEP = ("rnnviz", "pyqtgraph", "monkey", "benchmarks")


class StallSampler:
    def __init__(self, after_s: float = 0.5, frames: int = 6) -> None:
        self.after_s, self.frames = after_s, frames
        self.samples: Counter = Counter()
        self._stamp = time.monotonic()
        self._main = threading.main_thread().ident
        self._timer = QTimer()
        self._timer.setInterval(10)
        self._timer.timeout.connect(self._tick)
        self._running = False
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def start(self) -> None:
        self._running = True
        self._timer.start()
        self._thread.start()

    def stop(self) -> None:
        self._running = False
        self._timer.stop()
        self._thread.join()

    def _tick(self) -> None:
        self._stamp = time.monotonic()

    def _watch(self) -> None:
        while self._running:
            time.sleep(PERIOD_S)
            if time.monotonic() - self._stamp < self.after_s:
                continue
            self.samples[" < ".join(self._main_stack()[: self.frames])] += 1

    def _main_stack(self) -> list[str]:
        """The GUI thread's frames kept (KEEP), innermost first, as 'file:line function'."""
        with tempfile.TemporaryFile("w+") as f:
            faulthandler.dump_traceback(f, all_threads=True)
            f.seek(0)
            dump = f.read()
        block = re.search(rf"0x{self._main:016x}[^\n]*\n((?:  File [^\n]*\n)*)", dump)
        frames = re.findall(r'File "([^"]*)", line (\d+) in (\S+)', block.group(1) if block else "")
        return [
            f"{path.rsplit('/', 1)[-1]}:{line} {name}"
            for path, line, name in frames
            if any(k in path for k in KEEP)
        ]

    def report(self, n: int = 12) -> str:
        """The n places the loop was blocked in longest, with the seconds spent there."""
        rows = [
            f"  {count * PERIOD_S:5.2f} s  {where}" for where, count in self.samples.most_common(n)
        ]
        return "blocked event loop, by place (innermost first):\n" + "\n".join(rows or ["  none"])
