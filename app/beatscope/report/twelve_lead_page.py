"""The resting 12-lead page of the report: the standard 3 x 4 layout and a lead II
rhythm strip on one landscape page, from the same layout the viewer's View ▸ 12-lead
draws (:mod:`beatscope.display.twelve_lead`: cells, millimetres, calibration pulses),
so the page and the screen agree to the millimetre."""

from __future__ import annotations

import numpy as np
from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph

from beatscope.display.palette import PAPER_BACKGROUND, TRACE
from beatscope.display.twelve_lead import cell_samples, twelve_lead_layout
from beatscope.report.drawings import paper_grid


class TwelveLeadFlowable(Flowable):
    def __init__(self, record, font: str):
        super().__init__()
        self.record, self.font = record, font
        self.layout = twelve_lead_layout(record)
        self.width = self.layout.width_mm * mm
        self.height = self.layout.height_mm * mm

    def wrap(self, available_width, available_height):
        return self.width, self.height

    def draw(self) -> None:
        c, layout = self.canv, self.layout
        height = layout.height_mm

        def point(x_mm: float, y_mm: float) -> tuple[float, float]:
            return x_mm * mm, (height - y_mm) * mm  # the layout's y grows downwards

        c.setFillColor(colors.HexColor(PAPER_BACKGROUND))
        c.rect(0, 0, self.width, self.height, stroke=0, fill=1)
        paper_grid(c, 0, 0, layout.width_mm, height)
        c.setStrokeColor(colors.HexColor(TRACE))
        for row in range(4):
            pulse = layout.calibration_pulse_mm(row)
            path = c.beginPath()
            path.moveTo(*point(*pulse[0]))
            for xy in pulse[1:]:
                path.lineTo(*point(*xy))
            c.setLineWidth(0.6)
            c.drawPath(path, stroke=1, fill=0)
        c.setLineWidth(0.5)
        for x0, y0, x1, y1 in layout.lead_change_ticks_mm():
            c.line(*point(x0, y0), *point(x1, y1))
        for cell in (*layout.cells, layout.rhythm):
            t, mv = cell_samples(self.record, cell)
            if len(t) < 2:
                continue
            xs = layout.x_mm(cell.t0_s + t)
            ys = np.clip(layout.y_mm(cell.row, mv), cell.row * layout.row_height_mm,
                         (cell.row + 1) * layout.row_height_mm)
            path = c.beginPath()
            path.moveTo(*point(float(xs[0]), float(ys[0])))
            for x, y in zip(xs[1:].tolist(), ys[1:].tolist(), strict=True):
                path.lineTo(*point(x, y))
            c.drawPath(path, stroke=1, fill=0)
        c.setFont(self.font, 8)
        c.setFillColor(colors.black)
        for cell in (*layout.cells, layout.rhythm):
            x, y = layout.label_mm(cell)
            c.drawString(*point(x, y + 3.0), cell.lead)


def twelve_lead_flowables(record, styles, font: str) -> list:
    layout = twelve_lead_layout(record)
    return [Paragraph(f"12-lead ECG, {layout.start_s:.1f}-{layout.end_s:.1f} s · 25 mm/s · "
                      "10 mm/mV · lead II rhythm strip below", styles["h2"]),
            TwelveLeadFlowable(record, font)]
