"""What every flat table of the window shares: rows with fixed named columns."""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, Qt


class ColumnsTableModel(QAbstractTableModel):
    """A flat table with the headers ``columns``; a subclass says how many rows it has
    (``_row_count``) and what each cell shows (``data``)."""

    columns: tuple[str, ...] = ()

    def _row_count(self) -> int:
        raise NotImplementedError

    def rowCount(self, parent=None) -> int:  # noqa: N802 (Qt API)
        return 0 if parent is not None and parent.isValid() else self._row_count()

    def columnCount(self, parent=None) -> int:  # noqa: N802 (Qt API)
        return 0 if parent is not None and parent.isValid() else len(self.columns)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.columns[section]
        return None
