"""Caliper arithmetic: the interval, rate and amplitude between two points."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CaliperMeasurement:
    dt_ms: float  # always >= 0
    rate_bpm: float | None  # 60 000 / dt; None for a zero interval
    dv_mv: float  # second point minus first, signed

    def text(self) -> str:
        rate = "-" if self.rate_bpm is None else f"{self.rate_bpm:.0f} bpm"
        return f"Δt {self.dt_ms:.0f} ms   {rate}   ΔV {self.dv_mv:+.2f} mV"


def measure(t0_s: float, v0_mv: float, t1_s: float, v1_mv: float) -> CaliperMeasurement:
    """Between ``(t0, v0)`` where the drag started and ``(t1, v1)`` where it is now.

    The rate treats the interval as one cardiac cycle (an RR caliper), which is
    how calipers are read at the bedside.
    """
    dt_ms = abs(t1_s - t0_s) * 1000.0
    rate = 60_000.0 / dt_ms if dt_ms > 0 else None
    return CaliperMeasurement(dt_ms=dt_ms, rate_bpm=rate, dv_mv=v1_mv - v0_mv)
