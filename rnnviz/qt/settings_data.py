"""The side bar's data file: the user's own data for the tasks that take one (TaskSpec.takes_data:
labelled sentences for sentiment, melodies for music), the window's `--data FILE`.

The row shows only while such a task is chosen; for the other tasks the form reads no file.
A file is checked as the command line checks it: Config.validate looks at it (found, not
empty, not too large), then the task is built from it (make_task: the task's own reader, so
a line that is no note or no label<TAB>sentence, a file that is not UTF-8 or holds one class
only is refused in the command line's words). Building a task imports torch (a second or two,
once), so it runs only when the task, length or file changes, and never for the running
model's own file, which its model was built from. A refused file shows its reason beside the
field and Apply stays off: the running model is untouched.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QFileDialog, QFormLayout, QLineEdit, QToolButton, QWidget

from rnnviz.core.config import Config, ConfigError
from rnnviz.core.tasks import TASKS, make_task
from rnnviz.qt.form import row
from rnnviz.qt.refusals import refusals

FILE_TYPES = {  # the file dialog's filter for each task that takes data
    "sentiment": "Labelled sentences (*.tsv *.txt)",
    "music": "Melodies in rnnviz's notation (*.txt)",
}


def takes_data(task: str) -> bool:
    return TASKS[task].takes_data


class DataField:
    """The file name, the "…" button that chooses one, and the check of the file."""

    def __init__(self, parent: QWidget) -> None:
        self._parent = parent
        self.path = QLineEdit()
        self.path.setPlaceholderText("bundled data")
        self.path.setToolTip(
            "Your own data (empty: the bundled data): for sentiment a UTF-8 file of "
            "label<TAB>sentence lines, for music one melody a line in rnnviz's note notation"
        )
        self.button = QToolButton(text="…")
        self.button.setToolTip("Choose a data file")
        self.button.clicked.connect(self._choose)
        self.row = row(self.path, self.button)
        self._checked: dict[tuple, str | None] = {}  # (task, T, file and its stat) -> reason

    def rows(self) -> tuple[tuple[str, Any, tuple[str, ...]], ...]:
        """(label, field, the setting it shows): the row for the side bar's form."""
        return (("data file", self.row, ("data",)),)

    def inputs(self) -> dict[QWidget, str]:
        """The field and the setting it edits."""
        return {self.path: "data"}

    def read(self, task: str) -> dict[str, Any]:
        """The data file the field says for `task`; none for a task that takes none."""
        return {"data": (self.path.text().strip() or None) if takes_data(task) else None}

    def write(self, config: Config) -> None:
        self.path.setText(config.data or "")

    def show_for(self, form: QFormLayout, task: str) -> None:
        """Show the row only while a task that takes data is chosen."""
        form.setRowVisible(self.row, takes_data(task))

    def refusals(
        self, values: dict[str, Any], running: Config
    ) -> list[tuple[str, tuple[str, ...]]]:
        """refusals(values, running), and when the form is usable, why its data file cannot
        be read (the reason shown beside the field)."""
        found = refusals(values, running)
        if found:
            return found
        reason = self.reason(running.replace(**values), running)
        return [(reason, ("data",))] if reason else []

    def checked(self, config: Config, running: Config) -> Config:
        """`config`, or ConfigError when its data file cannot be read."""
        reason = self.reason(config, running)
        if reason:
            raise ConfigError(reason)
        return config

    def reason(self, config: Config, running: Config) -> str | None:
        """Why the task cannot be built from `config`'s data file, as the command line says
        it; None when it can, when there is no file, or for the running model's own file."""
        if config.data is None or _same_data(config, running):
            return None
        p = Path(config.data)
        stat = p.stat()  # Config.validate found the file
        key = (config.task, config.seq_len, str(p.resolve()), stat.st_size, stat.st_mtime_ns)
        if key not in self._checked:
            try:
                make_task(config)
            except ConfigError as e:
                self._checked[key] = str(e)
            else:
                self._checked[key] = None
        return self._checked[key]

    def _choose(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self._parent,
            "Data to learn",
            self.path.text(),
            ";;".join([*FILE_TYPES.values(), "All files (*)"]),
        )
        if path:
            self.path.setText(path)
            self.path.editingFinished.emit()  # the side bar checks it as a typed name


def _same_data(config: Config, running: Config) -> bool:
    return (config.task, config.seq_len, config.data) == (
        running.task,
        running.seq_len,
        running.data,
    )
