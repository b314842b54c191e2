"""The label-source protocol: each stage's choice is read from the recorded sweep before it, as far as time allows."""

import pytest
import yaml

import helpers.lab.protocol as protocol
from helpers.paths import RunPaths, read_json, write_json


@pytest.fixture
def fake_sweeps(tmp_path, monkeypatch):
    """`sweep` replaced by a recorder whose validation accuracy is a fixed score per variant and seed."""
    score = {"sentences_zeroshot_rating": 0.83, "all_four": 0.82, "vader": 0.78,
             "base": 0.83, "top70": 0.84, "self_train": 0.835}
    calls = []

    def sweep(profile, variants_file, name, overrides, seeds, only=None, run_nothing=False):
        from helpers.lab.sweep import load_variants

        common, variants = load_variants(variants_file)
        calls.append({"name": name, "seeds": seeds, "only": only, "overrides": overrides, "tabulate": run_nothing})
        folder = RunPaths.of(overrides["workdir"], name).results
        done = read_json(folder / "runs.json") if (folder / "runs.json").exists() else []
        if only:
            done += [[variant, seed] for variant in only for seed in seeds if [variant, seed] not in done]
        write_json(done, folder / "runs.json")
        summary = sorted(({"variant": v, "val_acc_shared": score.get(v, 0.5) if [v, 42] in done else None}
                          for v in variants), key=lambda row: -(row["val_acc_shared"] or 0))
        summary[0]["chosen"] = "yes" if summary[0]["val_acc_shared"] else ""
        write_json({"summary": summary, "common": common, "variants": variants}, folder / "sweep.json")
        return folder

    monkeypatch.setattr(protocol, "sweep", sweep)
    return calls


def test_each_stage_is_chosen_from_the_record_before_it(tmp_path, fake_sweeps, monkeypatch):
    protocol.protocol({"workdir": str(tmp_path)}, minutes=60, stages=list(protocol.STAGES))
    runs = {name: [(c["only"][0], c["seeds"][-1]) for c in fake_sweeps if c["name"] == name and c["only"]]
            for name in ("sources", "recipe", "stage2")}
    assert ("sentences_zeroshot_rating", 43) in runs["sources"] and ("all_four", 43) in runs["sources"]
    assert ("vader", 43) not in runs["sources"]  # only the top two are confirmed on a second seed
    recipe = [c for c in fake_sweeps if c["name"] == "recipe"]
    assert all(c["overrides"]["teacher_sources"] == "vader_sentences,zeroshot,rating" for c in recipe)
    stage2 = yaml.safe_load((tmp_path / "results/stage2/variants.yaml").read_text())
    assert list(stage2["variants"]) == ["top70", "self_train"] and stage2["common"]["n_unlabeled"] == 6000
    assert runs["stage2"] == [("top70", 42), ("self_train", 42), ("top70", 43), ("self_train", 43)]  # 42 first
    record = read_json(tmp_path / "results/protocol/protocol.json")
    assert record["sources_chosen"] == "sentences_zeroshot_rating" and record["recipe_ranking"][0] == "top70"


def test_no_run_starts_after_the_deadline(tmp_path, fake_sweeps, monkeypatch):
    with pytest.raises(protocol.UserError, match="chosen nothing yet"):
        protocol.protocol({"workdir": str(tmp_path)}, minutes=0, stages=list(protocol.STAGES))
    assert not [c for c in fake_sweeps if c["only"]]  # nothing was run


def test_the_sources_choice_can_come_from_records_made_elsewhere(tmp_path, fake_sweeps, monkeypatch):
    elsewhere = tmp_path / "records"
    protocol.protocol({"workdir": str(elsewhere)}, minutes=60, stages=["sources"])
    here = tmp_path / "here"
    protocol.protocol({"workdir": str(here)}, minutes=60, stages=["recipe"], sources_from=str(elsewhere))
    assert not [c for c in fake_sweeps if c["name"] == "sources" and c["overrides"]["workdir"] == str(here)]
    assert read_json(here / "results/protocol/protocol.json")["sources_chosen"] == "sentences_zeroshot_rating"


@pytest.mark.parametrize("setting", ["seed=7", "run_name=mine"])
def test_a_seed_or_run_name_the_protocol_sets_itself_is_refused_in_one_line(tmp_path, fake_sweeps, capsys, setting):
    """`--set seed=7` was silently ignored: every run took the protocol's seeds 42 and 43."""
    assert protocol.main(["--set", setting, "--set", f"workdir={tmp_path}"]) == 1
    error = capsys.readouterr().err
    assert error.startswith(f"error: --set {setting.split('=')[0]}: the protocol runs its own seeds") \
        and error.count("\n") == 1
    assert not fake_sweeps  # nothing was run
