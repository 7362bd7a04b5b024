"""The resting 12-lead page: lead lookup, the 3 x 4 + rhythm layout, and its view."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from beatscope.display.paper import PaperScale
from beatscope.display.twelve_lead import (
    STANDARD_LEADS,
    cell_samples,
    is_resting_twelve_lead,
    standard_lead_index,
    twelve_lead_layout,
)
from beatscope.io.record import Record

FS = 500.0
HAS_QT = importlib.util.find_spec("pytestqt") is not None
needs_qt = pytest.mark.skipif(not HAS_QT, reason="pytest-qt not installed")

#: The record's columns in a shuffled order with header spellings, so a layout
#: that ignored the names (or their case) would put the wrong lead in a cell.
SHUFFLED = ["V3", "AVR", "II", "v6", "I", "aVF", "V1", "III", "V5", "AVL", "V2", "V4"]


def _record(columns: np.ndarray, names: list[str], name: str = "rest12") -> Record:
    return Record(name=name, signals=np.ascontiguousarray(columns, np.float32), fs=FS,
                  lead_names=names, units=["mV"] * len(names))


def coded_record(seconds: float = 10.0, names: list[str] = SHUFFLED) -> Record:
    """Each sample says which lead and when: standard lead k at time t reads k + t / 100
    (any other lead reads -1 + t / 100)."""
    t = np.arange(int(round(seconds * FS))) / FS
    number = {lead.upper(): k for k, lead in enumerate(STANDARD_LEADS)}
    columns = np.empty((len(t), len(names)))
    for j, name in enumerate(names):
        columns[:, j] = number.get(name.upper(), -1) + t / 100
    return _record(columns, names)


def ecg_like_record(seconds: float = 10.0, rate_bpm: float = 72.0) -> Record:
    """A plausible resting ECG: a PQRST heart vector projected on the 12 leads."""
    t = np.arange(int(round(seconds * FS))) / FS
    phase = (t % (60.0 / rate_bpm))

    def wave(centre, width, amp):
        return amp * np.exp(-0.5 * ((phase - centre) / width) ** 2)

    # heart vector (mV) in frontal x (left), frontal y (down) and horizontal z (back)
    x = wave(0.10, 0.02, 0.10) + wave(0.20, 0.008, -0.10) + wave(0.22, 0.010, 1.0) \
        + wave(0.245, 0.010, -0.25) + wave(0.45, 0.045, 0.25)
    y = wave(0.10, 0.02, 0.12) + wave(0.22, 0.010, 0.9) + wave(0.245, 0.010, -0.15) \
        + wave(0.45, 0.045, 0.22)
    z = wave(0.20, 0.008, 0.10) + wave(0.225, 0.012, 0.6) + wave(0.45, 0.045, 0.15)
    lead_i = x
    lead_ii = 0.5 * x + 0.866 * y
    limb = {"I": lead_i, "II": lead_ii, "III": lead_ii - lead_i, "aVR": -(lead_i + lead_ii) / 2,
            "aVL": lead_i - lead_ii / 2, "aVF": lead_ii - lead_i / 2}
    # precordial axes swing from the right front (V1, 120 deg) to the left side (V6, 0 deg)
    angles = np.radians([120, 95, 75, 55, 30, 0])
    chest = {f"V{k + 1}": 1.3 * (np.cos(a) * x - np.sin(a) * z) for k, a in enumerate(angles)}
    leads = {**limb, **chest}
    wander = 0.05 * np.sin(2 * np.pi * 0.2 * t)
    columns = np.column_stack([leads[n] + wander for n in STANDARD_LEADS])
    return _record(columns, list(STANDARD_LEADS), name="synthetic-rest")


# --- which columns are the 12 leads


def test_standard_leads_found_whatever_the_spelling():
    index = standard_lead_index(SHUFFLED)
    assert list(index) == list(STANDARD_LEADS)
    assert index == {"I": 4, "II": 2, "III": 7, "aVR": 1, "aVL": 9, "aVF": 5,
                     "V1": 6, "V2": 10, "V3": 0, "V4": 11, "V5": 8, "V6": 3}
    spelled = ["DI", "Lead II", "d3", "avr", "lead_aVL", "AVF", " V1", "V2 ", "v3", "V4", "V5",
               "V6", "MLII"]
    assert standard_lead_index(spelled)["II"] == 1
    # the first of two columns of one lead wins
    assert standard_lead_index(["II", *STANDARD_LEADS])["II"] == 0


def test_a_missing_lead_means_no_twelve_lead_page():
    without_v6 = [n for n in STANDARD_LEADS if n != "V6"]
    assert standard_lead_index(without_v6) is None
    assert standard_lead_index([*without_v6, "MLII"]) is None
    # inverted aVR (Cabrera display) is another lead, not aVR
    assert standard_lead_index(["-aVR" if n == "aVR" else n for n in STANDARD_LEADS]) is None
    record = coded_record(names=without_v6 + ["V6x"])
    assert not is_resting_twelve_lead(record)
    with pytest.raises(ValueError, match="12-lead"):
        twelve_lead_layout(record)


def test_resting_means_twelve_leads_and_at_most_a_minute():
    assert is_resting_twelve_lead(coded_record(10.0))
    assert is_resting_twelve_lead(coded_record(60.0))
    assert not is_resting_twelve_lead(coded_record(61.0))


# --- the page


def test_three_by_four_cells_and_a_rhythm_strip_of_lead_two():
    page = twelve_lead_layout(coded_record(10.0))
    where = {c.lead: (c.row, c.column, c.t0_s, c.t1_s) for c in page.cells}
    assert len(page.cells) == 12 and set(where) == set(STANDARD_LEADS)
    expected = {
        "I": (0, 0, 0.0, 2.5), "II": (1, 0, 0.0, 2.5), "III": (2, 0, 0.0, 2.5),
        "aVR": (0, 1, 2.5, 5.0), "aVL": (1, 1, 2.5, 5.0), "aVF": (2, 1, 2.5, 5.0),
        "V1": (0, 2, 5.0, 7.5), "V2": (1, 2, 5.0, 7.5), "V3": (2, 2, 5.0, 7.5),
        "V4": (0, 3, 7.5, 10.0), "V5": (1, 3, 7.5, 10.0), "V6": (2, 3, 7.5, 10.0),
    }
    assert where == expected  # multiples of 2.5 s are exact in binary
    r = page.rhythm
    assert (r.lead, r.row, r.t0_s, r.t1_s, r.lead_index) == ("II", 3, 0.0, 10.0, 2)


def test_page_geometry_is_the_viewers_paper():
    page = twelve_lead_layout(coded_record(10.0))
    # 10 s at 25 mm/s after a 10-mm calibration margin; four 30-mm rows at 10 mm/mV
    assert page.trace_left_mm == pytest.approx(10.0)
    assert page.width_mm == pytest.approx(260.0)
    assert page.row_height_mm == pytest.approx(30.0) and page.height_mm == pytest.approx(120.0)
    assert page.x_mm(0.0) == pytest.approx(10.0) and page.x_mm(10.0) == pytest.approx(260.0)
    # the same small box as the strip: 40 ms and 0.1 mV are both 1 mm
    scale = page.paper_scale(4.0)
    assert scale == PaperScale(25.0, 10.0, 4.0)
    assert page.x_mm(scale.small_box_s) - page.x_mm(0.0) == pytest.approx(1.0)
    assert page.y_mm(1, 0.0) - page.y_mm(1, scale.small_box_mv) == pytest.approx(1.0)
    # every baseline and the page's t = 0 sit on a 5-mm line, as on printed paper
    for row in range(4):
        assert page.baseline_y_mm(row) % 5 == pytest.approx(0.0)
    # the calibration pulse: 1 mV (10 mm) for 200 ms (5 mm), inside the margin
    xs, ys = zip(*page.calibration_pulse_mm(2), strict=True)
    assert max(ys) - min(ys) == pytest.approx(10.0) and max(ys) == page.baseline_y_mm(2)
    assert xs[3] - xs[2] == pytest.approx(5.0) and max(xs) <= page.trace_left_mm
    # lead changes are marked where columns meet: 3 per lead row
    assert sorted({round(x0, 6) for x0, *_ in page.lead_change_ticks_mm()}) == [72.5, 135.0, 197.5]
    # other paper: 50 mm/s and 20 mm/mV double everything
    big = twelve_lead_layout(coded_record(10.0), speed_mm_s=50.0, gain_mm_mv=20.0)
    assert big.width_mm == pytest.approx(520.0) and big.row_height_mm == pytest.approx(60.0)


def test_each_cell_draws_its_own_lead_over_its_own_seconds():
    record = coded_record(10.0)
    page = twelve_lead_layout(record)
    for cell in (*page.cells, page.rhythm):
        t, mv = cell_samples(record, cell, level=False)
        k = STANDARD_LEADS.index(cell.lead)
        assert len(t) == round(cell.duration_s * FS)
        assert t[0] == 0.0 and t[-1] < cell.duration_s
        np.testing.assert_allclose(mv, k + (cell.t0_s + t) / 100, atol=1e-5)
    # along a row the cells abut: no sample drawn twice, none skipped
    row = sorted((c for c in page.cells if c.row == 0), key=lambda c: c.column)
    ends = [c.t0_s + cell_samples(record, c)[0][-1] for c in row]
    starts = [c.t0_s for c in row]
    np.testing.assert_allclose(np.array(starts[1:]) - np.array(ends[:-1]), 1 / FS)


def test_levelling_removes_an_offset_and_nothing_else():
    record = ecg_like_record(10.0)
    record.signals[:, 1] += 3.0  # lead II 3 mV off: it would sit in the next row
    page = twelve_lead_layout(record)
    raw_t, raw = cell_samples(record, page.rhythm, level=False)
    t, mv = cell_samples(record, page.rhythm)
    np.testing.assert_array_equal(raw_t, t)
    assert abs(np.median(mv)) < 1e-6
    np.testing.assert_allclose(raw - mv, np.median(raw - mv), atol=1e-5)  # one constant


def test_a_longer_record_pages_through_and_keeps_ten_seconds():
    record = coded_record(12.0)
    page = twelve_lead_layout(record, start_s=2.0)
    assert page.start_s == 2.0 and page.rhythm.t0_s == 2.0 and page.rhythm.t1_s == 12.0
    v4 = next(c for c in page.cells if c.lead == "V4")
    assert (v4.t0_s, v4.t1_s) == (9.5, 12.0)
    t, mv = cell_samples(record, v4, level=False)
    np.testing.assert_allclose(mv, 9 + (9.5 + t) / 100, atol=1e-5)
    # a start too late for 10 s is moved back; a negative one to 0
    assert twelve_lead_layout(record, start_s=7.0).start_s == 2.0
    assert twelve_lead_layout(record, start_s=-3.0).start_s == 0.0


def test_a_short_record_clips_its_cells_without_error():
    record = coded_record(7.0)
    page = twelve_lead_layout(record, start_s=4.0)  # nothing to page through
    assert page.start_s == 0.0
    spans = {c.lead: (c.t0_s, c.t1_s) for c in page.cells}
    assert spans["V1"] == (5.0, 7.0) and spans["V4"] == (7.5, 7.5)
    assert (page.rhythm.t0_s, page.rhythm.t1_s) == (0.0, 7.0)
    counts = {c.lead: len(cell_samples(record, c)[0]) for c in page.cells}
    assert counts["I"] == counts["aVR"] == 1250
    assert counts["V1"] == counts["V3"] == 1000
    assert counts["V4"] == counts["V6"] == 0
    assert len(cell_samples(record, page.rhythm)[1]) == record.n_samples
    # an empty cell still has its place (and its lead name) on the page
    v4 = next(c for c in page.cells if c.lead == "V4")
    assert page.label_mm(v4)[0] == pytest.approx(page.x_mm(7.5) + 1.0)


# --- the view


def _dark_pixels(image, x0: int, y0: int, w: int, h: int) -> int:
    """Pixels in the rectangle much darker than the paper and its grid (lightness
    about 200), antialiased edges of a 1-px trace included."""
    count = 0
    for y in range(max(0, y0), min(image.height(), y0 + h)):
        for x in range(max(0, x0), min(image.width(), x0 + w)):
            if image.pixelColor(x, y).lightness() < 150:
                count += 1
    return count


@needs_qt
def test_view_draws_the_page_offscreen(qtbot, tmp_path):
    from beatscope.ui import theme
    from beatscope.ui.twelve_lead_view import TwelveLeadView

    ppmm = 4.0
    view = TwelveLeadView(pixels_per_mm=ppmm)
    qtbot.addWidget(view)
    record = ecg_like_record(10.0)
    view.set_record(record)
    view.resize(1100, 560)
    view.show()
    qtbot.waitExposed(view)
    assert not view.message.isVisible() and view.scroll.isVisible()
    assert sorted(view.lead_labels()[:12]) == sorted(STANDARD_LEADS)
    assert view.lead_labels()[12] == "II"
    assert view.paper.width() == 1040 and view.paper.height() == 480  # 260 x 120 mm
    assert "10 mm/mV" in view.caption.text() and not view.start_box.isEnabled()

    image = view.paper.grab().toImage()
    view.paper.grab().save(str(tmp_path / "twelve_lead.png"))
    view.grab().save(str(tmp_path / "twelve_lead_window.png"))
    colours = {image.pixelColor(x, y).name() for x in range(0, image.width(), 7)
               for y in range(0, image.height(), 7)}
    assert theme.GRID_LARGE in colours and theme.PAPER_BACKGROUND in colours
    page = view.page
    for cell in (*page.cells, page.rhythm):
        # a lead name in the corner of each cell, and a trace along its baseline
        x, y = page.label_mm(cell)
        assert _dark_pixels(image, int(x * ppmm), int(y * ppmm), 28, 16) > 10, cell.lead
        x0, x1 = int(page.x_mm(cell.t0_s) * ppmm) + 30, int(page.x_mm(cell.t1_s) * ppmm) - 4
        yb = int(page.baseline_y_mm(cell.row) * ppmm)
        assert _dark_pixels(image, x0, yb - 20, x1 - x0, 40) > 100, cell.lead
    for row in range(4):  # the calibration pulse's top: 1 mV above each baseline
        top = int(page.y_mm(row, 1.0) * ppmm)
        assert _dark_pixels(image, int(0.15 * 25 * ppmm), top - 1, 10, 3) >= 10


@needs_qt
def test_view_scrolls_a_page_larger_than_the_window(qtbot):
    from beatscope.ui.twelve_lead_view import TwelveLeadView

    view = TwelveLeadView(pixels_per_mm=4.0)
    qtbot.addWidget(view)
    view.set_record(coded_record(12.0))
    view.resize(500, 300)
    view.show()
    qtbot.waitExposed(view)
    assert view.scroll.horizontalScrollBar().maximum() > 0
    assert view.scroll.verticalScrollBar().maximum() > 0
    # a 12-s record can show its last 10 s
    assert view.start_box.isEnabled() and view.start_box.maximum() == pytest.approx(2.0)
    view.start_box.setValue(2.0)
    assert view.page.start_s == 2.0 and "2.0-12.0 s of 12.0 s" in view.caption.text()


@needs_qt
def test_view_says_why_a_record_has_no_page(qtbot):
    from beatscope.ui.screen import screen_pixels_per_mm
    from beatscope.ui.twelve_lead_view import TwelveLeadView

    view = TwelveLeadView()
    qtbot.addWidget(view)
    view.show()
    qtbot.waitExposed(view)
    assert view.message.text() == "No record open."
    holter = coded_record(10.0, names=[n for n in STANDARD_LEADS if n != "V6"] + ["MLII"])
    view.set_record(holter)
    assert view.message.isVisible() and not view.scroll.isVisible()
    assert "Not a resting 12-lead record" in view.message.text()
    assert "\n" not in view.message.text() and view.lead_labels() == []
    # and then a 12-lead record, at the screen's own density
    view.set_record(coded_record(10.0))
    assert view.scroll.isVisible() and not view.message.isVisible()
    assert view.pixels_per_mm == pytest.approx(screen_pixels_per_mm(view))
    assert view.paper.width() == pytest.approx(260 * view.pixels_per_mm, abs=1)



def test_true_scale_on_a_hidpi_screen_counts_logical_pixels():
    from types import SimpleNamespace

    from beatscope.display.paper import FALLBACK_PIXELS_PER_MM
    from beatscope.ui.screen import pixels_per_mm_of

    def screen(dpi: float, ratio: float):
        return SimpleNamespace(physicalDotsPerInch=lambda: dpi, devicePixelRatio=lambda: ratio)
    # a 4K 27-inch monitor at 2x: 163 device px per inch, widgets in half as many pixels
    assert pixels_per_mm_of(screen(163.0, 2.0)) == pytest.approx(163.0 / 2 / 25.4)
    assert pixels_per_mm_of(screen(96.0, 1.0)) == pytest.approx(96.0 / 25.4)
    assert pixels_per_mm_of(screen(1.0, 1.0)) == FALLBACK_PIXELS_PER_MM  # offscreen nonsense
    assert pixels_per_mm_of(None) == FALLBACK_PIXELS_PER_MM
