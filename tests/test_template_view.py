"""The Templates tab's view state without Qt: groups with the review's labels,
splitting a template, taking a beat out, and what a card's relabel touches."""

from __future__ import annotations

import numpy as np

from beatscope.review.store import SOURCES, BeatRows
from beatscope.review.template_view import (
    TemplateView,
    describe_groups,
    member_waveforms,
    relabel_samples,
    split_template,
    spread_sample,
)
from beatscope.segment.templates import Template, TemplateSet

FS = 360.0


def _template(tid: int, label: str, count: int, typical: int) -> Template:
    return Template(id=tid, label=label, count=count, class_counts={label: count},
                    mean_probability=None, purity=0.95, typical_beat=typical,
                    prematurity=1.0, waveform=np.zeros((1, 63), np.float32))


def make_set() -> tuple[TemplateSet, np.ndarray]:
    """Template 1: 40 N beats in two clear shapes (two blobs); template 2: 10 V beats."""
    rng = np.random.default_rng(0)
    beat_template = np.array([1] * 40 + [2] * 10, np.int32)
    rng.shuffle(beat_template)
    embedding = rng.normal(0, 0.05, (50, 4)).astype(np.float32)
    ones = np.flatnonzero(beat_template == 1)
    embedding[ones[:25], 0] += 5.0  # template 1's first 25 beats: another shape
    embedding[beat_template == 2, 1] += 10.0
    typical_n = int(ones[0])
    typical_v = int(np.flatnonzero(beat_template == 2)[0])
    ts = TemplateSet([_template(1, "N", 40, typical_n), _template(2, "V", 10, typical_v)],
                     beat_template, embedding)
    samples = (np.arange(50, dtype=np.int64) + 1) * 300
    return ts, samples


def rows_for(ts: TemplateSet, samples: np.ndarray) -> BeatRows:
    labels = np.where(ts.beat_template == 1, "N", "V")
    return BeatRows.from_model(samples, labels)


def test_groups_follow_the_review_labels_and_drop_deleted_beats():
    ts, samples = make_set()
    view = TemplateView(ts, samples, FS)
    groups = view.groups()
    assert [g.key for g in groups] == ["1", "2"]
    assert groups[0].class_counts == {"N": 40} and groups[1].label == "V"
    assert np.all(np.diff(groups[0].samples) > 0)  # time order
    assert groups[0].typical_sample == samples[ts.templates[0].typical_beat]

    rows = rows_for(ts, samples)
    vs = np.flatnonzero(ts.beat_template == 2)
    rows.reviewer_label[vs[:7]] = "N"  # the reviewer calls most of template 2 normal
    rows.source[vs[:7]] = SOURCES.index("reviewer")
    rows.deleted[vs[9]] = True
    groups = {g.key: g for g in view.groups(rows)}
    assert groups["2"].class_counts == {"N": 7, "V": 2} and groups["2"].count == 9
    assert groups["2"].label == "N"
    # sorted by the class the beats carry now: both are N, the larger first
    assert [g.key for g in view.groups(rows)] == ["1", "2"]


def test_split_makes_two_groups_along_the_shapes_and_merge_joins_them():
    ts, samples = make_set()
    parts = split_template(ts, 1, 2)
    assert sorted(len(p) for p in parts) == [15, 25]
    view = TemplateView(ts, samples, FS)
    assert view.split("1", 2) == 2 and view.is_split("1")
    groups = view.groups()
    keys = [g.key for g in groups]
    assert "1a" in keys and "1b" in keys and "1" not in keys
    part_a = next(g for g in groups if g.key == "1a")
    assert part_a.count == 25 and part_a.name == "template 1a" and part_a.is_split_part
    assert part_a.typical_sample in set(part_a.samples.tolist())
    # a part splits again; too few beats do not
    assert view.split("1a", 3) >= 2
    assert len([g for g in view.groups() if g.template_id == 1]) >= 3
    assert view.merge("1b") and [g.key for g in view.groups()] == ["1", "2"]
    assert not view.merge("1")


def test_a_beat_taken_out_is_its_own_group_and_goes_back():
    ts, samples = make_set()
    view = TemplateView(ts, samples, FS)
    v = int(np.flatnonzero(ts.beat_template == 2)[3])
    assert view.remove_beats([samples[v], 12345]) == 1  # 12345: no beat there
    assert view.remove_beats([samples[v]]) == 0  # already out
    groups = {g.key: g for g in view.groups()}
    assert groups["2"].count == 9
    alone = groups[f"b{v}"]
    assert alone.moved and alone.count == 1 and alone.samples.tolist() == [samples[v]]
    assert alone.name.startswith("beat at ")
    # a split leaves the beat out
    view.split("1", 2)
    assert sum(g.count for g in view.groups()) == 50
    assert view.put_back(f"b{v}") and view.groups()[-1].key != f"b{v}"


def test_relabel_keeps_the_beats_the_reviewer_labelled_one_by_one():
    ts, samples = make_set()
    view = TemplateView(ts, samples, FS)
    rows = rows_for(ts, samples)
    vs = np.flatnonzero(ts.beat_template == 2)
    rows.reviewer_label[vs[0]] = "F"  # an individual correction inside template 2
    rows.source[vs[0]] = SOURCES.index("reviewer")
    rows.reviewer_label[vs[1]] = "V"  # the reviewer confirmed one: it follows the card
    rows.source[vs[1]] = SOURCES.index("reviewer")
    group = next(g for g in view.groups(rows) if g.key == "2")
    todo = relabel_samples([group], rows)
    assert samples[vs[0]] not in todo and samples[vs[1]] in todo and len(todo) == 9


def test_subject_names_and_waveforms():
    assert describe_groups(["template 7"]) == "template 7"
    assert describe_groups(["template 3", "template 7", "template 9"]) == \
        "templates 3, 7 and 9"
    assert describe_groups(["template 3", "beat at 00:00:01"]) == \
        "template 3 and beat at 00:00:01"
    signal = np.zeros(4000, np.float32) + 2.0  # an offset the baseline removes
    signal[1000] = 3.0
    t, waves = member_waveforms(signal, FS, np.array([1000, 3990]))
    assert waves.shape[0] == 2 and len(t) == waves.shape[1]
    assert abs(waves[0].max() - 1.0) < 1e-6 and abs(waves[0, 0]) < 1e-6
    assert t[0] < 0 < t[-1]
    assert len(spread_sample(np.arange(1000), 50)) == 50
