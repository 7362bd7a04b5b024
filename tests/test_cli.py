"""The ``beatscope`` command line, run in-process through ``beatscope.cli.main.main``
(plus one real subprocess through the installed entry point): outputs, end-to-end
detection accuracy on the shipped excerpts, and behaviour with bad input."""

from __future__ import annotations

import json
import os
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import wfdb
from scipy.signal import resample_poly

from beatscope import __version__
from beatscope.analysis import SCHEMA_VERSION
from beatscope.cli.main import main
from beatscope.evaluate import score_detection

DATA = Path(__file__).parent / "data"
STAGES = {"quality", "detect", "denoise", "segment", "classify", "templates", "rhythm"}
AAMI = {"N", "S", "V", "F", "Q"}


def run_cli(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def copy_excerpt(name: str, directory: Path, exts: tuple[str, ...] = ("hea", "dat", "atr")
                 ) -> Path:
    for ext in exts:
        shutil.copy(DATA / f"{name}.{ext}", directory / f"{name}.{ext}")
    return directory / f"{name}.hea"


def read_beats(out: Path, name: str) -> wfdb.Annotation:
    return wfdb.rdann(str(out / name), "beats")


def assert_clean_stderr(err: str) -> None:
    assert "Traceback" not in err
    assert "internal error" not in err  # a bug, not a user error
    for line in err.splitlines():
        assert line.startswith("beatscope: "), line


# --------------------------------------------------------------------------- outputs


@pytest.mark.parametrize("form", ["base", "hea"])
def test_analyze_writes_beats_and_summary(form: str, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    arg = DATA / "mitdb_100" if form == "base" else DATA / "mitdb_100.hea"
    code, _, err = run_cli(capsys, "analyze", arg, "--out", tmp_path / "out")
    assert code == 0, err
    assert_clean_stderr(err)
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == ["mitdb_100.beats", "mitdb_100.json",
                                                     "summary.csv"]

    ann = read_beats(out, "mitdb_100")
    assert ann.fs == 360
    assert len(ann.sample) > 100
    assert np.all(np.diff(ann.sample) > 0)
    assert ann.sample[0] >= 0 and ann.sample[-1] < 43200
    assert set(ann.symbol) <= AAMI

    summary = json.loads((out / "mitdb_100.json").read_text())
    assert summary["schema_version"] == SCHEMA_VERSION
    meta = summary["record"]
    assert meta["name"] == "mitdb_100"
    assert meta["fs"] == 360.0
    assert meta["n_samples"] == 43200
    assert meta["n_leads"] == 2
    assert meta["lead_names"] == ["MLII", "V5"]
    assert meta["duration_s"] == 120.0
    assert meta["format"] == "WFDB"
    assert meta["has_reference_annotations"] is True
    assert Path(meta["source_path"]).name == "mitdb_100.hea"
    assert summary["beat_count"] == len(ann.sample)
    assert sum(summary["beat_classes"].values()) == len(ann.sample)
    assert 70 <= summary["heart_rate"]["mean_bpm"] <= 78
    quality = summary["signal_quality"]
    assert [lead["lead"] for lead in quality["leads"]] == ["MLII", "V5"]
    assert quality["readable_pct"] > 90
    assert set(summary["timings_s"]) == STAGES
    assert all(v >= 0 for v in summary["timings_s"].values())
    software = summary["software"]
    assert software["beatscope"] == __version__
    assert software["numpy"] == np.__version__
    assert software["wfdb"] == wfdb.__version__
    assert "scipy" in software
    assert summary["warnings"] == []


def test_beats_are_in_the_records_own_sample_index(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """A 250 Hz record: the .beats file says 250 Hz and its samples are 250 Hz samples."""
    src = wfdb.rdrecord(str(DATA / "mitdb_100"))
    x = resample_poly(src.p_signal, 25, 36, axis=0)
    wfdb.wrsamp("rec250", fs=250, units=["mV", "mV"], sig_name=["MLII", "V5"], p_signal=x,
                fmt=["16", "16"], adc_gain=[200.0, 200.0], baseline=[0, 0],
                write_dir=str(tmp_path))
    code, _, err = run_cli(capsys, "analyze", tmp_path / "rec250.hea", "--out", tmp_path / "out")
    assert code == 0, err
    ann = read_beats(tmp_path / "out", "rec250")
    assert ann.fs == 250
    assert ann.sample.max() < x.shape[0]
    ref = wfdb.rdann(str(DATA / "mitdb_100"), "atr")
    ref_250 = np.round(ref.sample * 250 / 360).astype(np.int64)
    s = score_detection("rec250", ref_250, ref.symbol, ann.sample, 250.0, x.shape[0])
    assert s.sensitivity >= 99.5 and s.ppv >= 99.5, s.as_dict()
    summary = json.loads((tmp_path / "out" / "rec250.json").read_text())
    assert summary["record"]["fs"] == 250.0
    assert summary["beat_count"] == len(ann.sample)


def test_outputs_follow_the_umask(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    umask = os.umask(0)
    os.umask(umask)
    code, _, _ = run_cli(capsys, "analyze", DATA / "mitdb_100", "--out", tmp_path)
    assert code == 0
    expected = 0o666 & ~umask
    for name in ("mitdb_100.json", "mitdb_100.beats", "summary.csv"):
        assert (tmp_path / name).stat().st_mode & 0o777 == expected, name


# --------------------------------------------------------------------------- accuracy

# (excerpt, minimum Se %, minimum +P %). The bar is 99.5 / 99.5 on clean
# excerpts. Two excerpts are harder on purpose and get the bars that apply to them:
# mitdb_203 (multiform PVCs, AF, and two '|' QRS-like artefacts that the annotators
# marked as non-beats) and nstdb_118e06 (electrode-motion noise at 6 dB SNR, whose
# target on the full NSTDB records is Se >= 98.5, +P >= 92).
ACCURACY = [
    ("mitdb_100", 99.5, 99.5),
    ("mitdb_119", 99.5, 99.5),
    ("mitdb_208", 99.5, 99.5),
    ("mitdb_201_afib", 99.5, 99.5),
    ("mitdb_203", 99.5, 99.0),
    ("nstdb_118e06", 99.5, 95.0),
]
ACCURACY_NAMES = [name for name, _, _ in ACCURACY]


@pytest.fixture(scope="module")
def analysed_excerpts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One ``beatscope analyze`` run over the excerpts; returns the output folder."""
    out = tmp_path_factory.mktemp("accuracy")
    code = main(["analyze", *[str(DATA / n) for n in ACCURACY_NAMES], "--out", str(out)])
    assert code == 0
    return out


@pytest.mark.parametrize(("name", "min_se", "min_ppv"), ACCURACY)
def test_end_to_end_accuracy(name: str, min_se: float, min_ppv: float,
                             analysed_excerpts: Path) -> None:
    det = read_beats(analysed_excerpts, name)
    ref = wfdb.rdann(str(DATA / name), "atr")
    n_samples = wfdb.rdheader(str(DATA / name)).sig_len
    s = score_detection(name, ref.sample, ref.symbol, det.sample, 360.0, n_samples)
    assert s.tp > 100
    assert s.sensitivity >= min_se and s.ppv >= min_ppv, s.as_dict()


# --------------------------------------------------------------------------- many records


def test_directory_expands_to_every_record(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "analyze", DATA, "--out", tmp_path)
    assert code == 0, err
    names = {p.stem for p in DATA.glob("*.hea")}
    assert len(names) == 6
    assert {p.name for p in tmp_path.iterdir()} == (
        {f"{n}.beats" for n in names} | {f"{n}.json" for n in names} | {"summary.csv"})


def test_bad_records_do_not_stop_the_good_ones(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in"
    src.mkdir()
    copy_excerpt("mitdb_100", src)
    (src / "empty.hea").write_bytes(b"")
    rng = np.random.default_rng(0)
    (src / "garbage.edf").write_bytes(rng.integers(0, 256, 4096, dtype=np.uint8).tobytes())
    # A valid header over random bytes: not an ECG in format 212.
    (src / "noise.hea").write_text((DATA / "mitdb_100.hea").read_text()
                                   .replace("mitdb_100", "noise"))
    (src / "noise.dat").write_bytes(rng.integers(0, 256, 43200 * 3, dtype=np.uint8).tobytes())
    # A signal file cut to 100 frames (0.3 s).
    (src / "trunc.hea").write_text((DATA / "mitdb_119.hea").read_text()
                                   .replace("mitdb_119", "trunc"))
    (src / "trunc.dat").write_bytes((DATA / "mitdb_119.dat").read_bytes()[:300])

    code, _, err = run_cli(capsys, "analyze", src, "--out", tmp_path / "out")
    assert code != 0
    assert_clean_stderr(err)
    errors = [ln for ln in err.splitlines() if ln.startswith("beatscope: error: ")]
    assert len(errors) == 4, err
    for bad in ("empty.hea", "garbage.edf", "noise.hea", "trunc.hea"):
        assert sum(bad in ln for ln in errors) == 1, (bad, err)
    assert "4 of 5 records failed" in err
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == ["mitdb_100.beats", "mitdb_100.json",
                                                     "summary.csv"]
    assert len(read_beats(out, "mitdb_100").sample) > 100


def test_parallel_jobs_match_serial(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    records = [DATA / "mitdb_100", DATA / "mitdb_119"]
    code, _, err = run_cli(capsys, "analyze", *records, "--jobs", 2, "--out", tmp_path / "par")
    assert code == 0, err
    code, _, err = run_cli(capsys, "analyze", *records, "--out", tmp_path / "ser")
    assert code == 0, err
    for name in ("mitdb_100", "mitdb_119"):
        par, ser = read_beats(tmp_path / "par", name), read_beats(tmp_path / "ser", name)
        assert len(par.sample) > 100
        assert np.array_equal(par.sample, ser.sample)
        summary = json.loads((tmp_path / "par" / f"{name}.json").read_text())
        assert summary["beat_count"] == len(par.sample)


# --------------------------------------------------------------------------- flat line


def test_flat_line_record(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    wfdb.wrsamp("flat", fs=360, units=["mV", "mV"], sig_name=["MLII", "V5"],
                d_signal=np.zeros((360 * 20, 2), dtype=np.int16), fmt=["16", "16"],
                adc_gain=[200.0, 200.0], baseline=[0, 0], write_dir=str(tmp_path))
    code, _, err = run_cli(capsys, "analyze", tmp_path / "flat.hea", "--out", tmp_path / "out")
    # Readable file, nothing to find: a warning, not an error.
    assert code == 0, err
    assert_clean_stderr(err)
    warnings = [ln for ln in err.splitlines() if "warning" in ln]
    assert len(warnings) == 1 and "no readable ECG" in warnings[0] and "0 beats" in warnings[0]
    summary = json.loads((tmp_path / "out" / "flat.json").read_text())
    assert summary["beat_count"] == 0
    assert any("no readable ECG" in w for w in summary["warnings"])
    ann = read_beats(tmp_path / "out", "flat")
    assert len(ann.sample) == 0 and len(ann.symbol) == 0


# --------------------------------------------------------------------------- evaluate


def test_evaluate_detection_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    table = tmp_path / "scores.json"
    code, out, err = run_cli(capsys, "evaluate", "detection", "--db", DATA,
                             "--records", "mitdb_100", "mitdb_119", "--json", table)
    assert code == 0, err
    rows = [ln.split() for ln in out.splitlines() if ln.strip()]
    assert rows[0][:2] == ["record", "ref"]
    assert [r[0] for r in rows[1:]] == ["mitdb_100", "mitdb_119", "pooled"]
    by_name = {r[0]: r for r in rows[1:]}
    assert int(by_name["mitdb_100"][1]) == 148  # reference beats in the excerpt
    assert int(by_name["mitdb_119"][1]) == 130
    pooled = by_name["pooled"]
    assert int(pooled[1]) == 278
    assert int(pooled[2]) == int(by_name["mitdb_100"][2]) + int(by_name["mitdb_119"][2])
    assert float(pooled[5]) >= 99.5 and float(pooled[6]) >= 99.5
    saved = json.loads(table.read_text())
    assert [s["record"] for s in saved] == ["mitdb_100", "mitdb_119", "pooled"]
    assert saved[-1]["tp"] == int(pooled[2])


def test_evaluate_missing_db(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nowhere"
    code, out, err = run_cli(capsys, "evaluate", "detection", "--db", missing)
    assert code == 1
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("beatscope: error: ") and "nowhere" in lines[0]


# --------------------------------------------------------------------------- usage


def test_help_lists_the_commands_and_the_viewer(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: beatscope")
    assert "analyze" in out and "evaluate" in out and "viewer" in out


def test_viewer_without_a_display_says_so(monkeypatch, capsys) -> None:
    # `beatscope` alone opens the viewer; with no display it must not abort in Qt.
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    assert main([]) == 2
    assert "no display" in capsys.readouterr().err


def test_viewer_rejects_bad_options_before_starting_qt(capsys) -> None:
    assert main(["record.hea", "--size", "big"]) == 2
    assert "--size" in capsys.readouterr().err
    assert main(["record.hea", "--goto", "noon"]) == 2
    assert "not a time" in capsys.readouterr().err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"beatscope {__version__} (Python ") and out.count("\n") == 1


def test_python_dash_m_module(monkeypatch: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "argv", ["beatscope", "--version"])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_module("beatscope", run_name="__main__")
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.startswith(f"beatscope {__version__} (Python ")


def test_installed_entry_point(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("beatscope")
    cmd = [str(script)] if script.is_file() else [sys.executable, "-m", "beatscope"]
    proc = subprocess.run([*cmd, "analyze", str(DATA / "mitdb_100.hea"), "--out",
                           str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(read_beats(tmp_path, "mitdb_100").sample) > 100
    assert json.loads((tmp_path / "mitdb_100.json").read_text())["beat_count"] > 100


# --------------------------------------------------------------------------- overwrite


def test_rerun_overwrites_atomically(tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "mitdb_100.json").write_text("stale")
    (out / "mitdb_100.beats").write_bytes(b"stale")
    # the stale outputs are not reused; the second run replaces up-to-date ones
    for force in ((), ("--force",)):
        code, _, err = run_cli(capsys, "analyze", DATA / "mitdb_100", "--out", out, *force)
        assert code == 0, err
        assert "1 done" in err.splitlines()[-1]
        # No temporary files or folders left behind, hidden or not.
        assert sorted(p.name for p in out.iterdir()) == ["mitdb_100.beats", "mitdb_100.json",
                                                         "summary.csv"]
        summary = json.loads((out / "mitdb_100.json").read_text())
        assert summary["beat_count"] == len(read_beats(out, "mitdb_100").sample) > 100
