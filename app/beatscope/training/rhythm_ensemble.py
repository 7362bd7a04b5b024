"""``beatscope combine-rhythm``: several trained rhythm models (one configuration,
different seeds) written as one ensemble weight set.

Seeds of one network disagree on the hard CinC records, and averaging them is the
cheapest accuracy there is: on the pooled 5-fold CV of the shipped configuration,
three seeds scored a mean F1 (N, A, O) of 0.823, 0.829 and 0.820 alone and 0.832
together (docs/VALIDATION.md 6a).

The members are combined by :class:`~beatscope.rhythm.model.network.RhythmEnsemble`
(mean logits); the ensemble's per-label threshold is the logistic of the members'
mean threshold logit, each member's threshold having been tuned on its own
held-out training records. Nothing is tuned on the cross-validation itself.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from beatscope.errors import BeatScopeError

log = logging.getLogger("beatscope.train_rhythm")

#: What the members of an ensemble must share to be averaged.
_SAME = ("classes", "input", "label_meaning", "data")
#: What each member's own manifest contributes to the ensemble's, under "members".
_MEMBER_KEYS = ("command", "hyper_parameters", "git_commit", "environment", "trained_on",
                "thresholds", "cross_validation_runs")


def combine_rhythm(members: Sequence[Path], out: Path, command: str,
                   cv_runs: Sequence[Path] = (), folds: int = 5) -> dict:
    """Write the ensemble of the weight sets ``members`` to ``out``; returns its manifest.

    ``cv_runs``: the members' cross-validation runs (``train-rhythm --folds K``
    outputs, one per member, same ``--split-seed``); their fold-by-fold ensemble
    score goes into the manifest beside each member's own.
    """
    from beatscope.models.weights_io import save_weight_set
    from beatscope.rhythm.model.inference import RhythmModel, mean_thresholds
    from beatscope.training.rhythm_cv_scores import pooled_cv

    if len(members) < 2:
        raise BeatScopeError("an ensemble needs two or more member weight sets")
    if cv_runs and len(cv_runs) != len(members):
        raise BeatScopeError("give one cross-validation run per member (same order), or none")
    if any(Path(m).resolve() == Path(out).resolve() for m in members):
        raise BeatScopeError(f"{out}: the output folder is one of the members")
    loaded = [RhythmModel.load(m, precision="fp32") for m in members]
    for key in _SAME:
        if any(m.manifest.get(key) != loaded[0].manifest.get(key) for m in loaded[1:]):
            raise BeatScopeError(f"the members differ in '{key}'; only models of one "
                                 "input, label set and training data can be averaged")
    if any(not hasattr(m.net, "config") for m in loaded):
        raise BeatScopeError("a member is itself an ensemble; combine single networks")
    names = [f"rhythm_{i}" for i in range(len(loaded))]
    thresholds = mean_thresholds([m.thresholds for m in loaded])
    cv = None
    if cv_runs:
        try:
            cv = pooled_cv(list(cv_runs), folds)
        except ValueError as err:
            raise BeatScopeError(str(err)) from None
        if cv is None or len(cv["folds_present"]) < folds:
            raise BeatScopeError("the cross-validation runs do not all hold every fold")
    # each member's own CV: from its run when given, else what its manifest recorded
    member_cv = ([pooled_cv(r, folds) for r in cv_runs] if cv_runs else
                 [(m.manifest.get("metrics") or {}).get("cross_validation") for m in loaded])
    first = loaded[0].manifest
    manifest = {
        "model_version": "rhythm-cnn-bilstm-ensemble-1",
        **{key: first.get(key) for key in _SAME},
        "thresholds": {k: round(v, 4) for k, v in thresholds.items()},
        "ensemble": {"weights": dict.fromkeys(names, 1.0),
                     "combination": "mean of the members' logits; per-label threshold: the "
                                    "logistic of the members' mean threshold logit"},
        "members": {name: {"source": str(path), "manifest_sha256": m.manifest_sha256,
                           **{key: m.manifest.get(key) for key in _MEMBER_KEYS
                              if key in m.manifest}}
                    for name, path, m in zip(names, members, loaded, strict=True)},
        "trained_on": first.get("trained_on"),
        "command": command,
        "metrics": {"cross_validation": cv,
                    "cross_validation_runs": [str(r) for r in cv_runs],
                    "members_cross_validation": {
                        name: (c or {}).get("pooled") for name, c in
                        zip(names, member_cv, strict=True)}},
    }
    nets = {name: m.net for name, m in zip(names, loaded, strict=True)}
    written = save_weight_set(out, nets, manifest)
    if cv is not None:
        p = cv["pooled"]
        log.info("ensemble of %d: pooled CV mean F1 (N,A,O) %s, F1 %s", len(names),
                 p["challenge_f1_nao"], p["f1"])
    return written
