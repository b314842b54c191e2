"""Prototype (issue 24): fine-tune the trained student on its own decision-keeping calibrated probabilities over a
pool sample, so its binary logit learns the S-correction a fold cannot make. Validation only."""
import json, shutil, sys, time
from pathlib import Path
import numpy as np, pandas as pd, torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer
from helpers.inference import predict_proba, at_precision
from helpers.calibrate import binary_logit, choose
from helpers.metrics import expected_calibration_error
from helpers.student import TrainConfig, train_student

FRESH = Path("/tmp/fresh"); OUT = Path("/tmp/selfcal")  # the main job's workdir; where this writes
N_POOL, LR, EPOCHS = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
HALF = len(sys.argv) > 4  # fit the map on the first 1,000 validation reviews, judge on the other 1,000
tag = f"n{N_POOL}_lr{LR}_e{EPOCHS}" + ("_half" if HALF else "")
val = pd.read_csv(FRESH / "data/offline/validation_teacher_annotated.csv")
pool = pd.concat([pd.read_csv(FRESH / f"data/offline/{s}_teacher_annotated.csv") for s in ("train", "unsupervised")])
sample = pool.sample(N_POOL, random_state=0)
tok = AutoTokenizer.from_pretrained(FRESH / "models/offline/distilled_sentiment")

def score(model_dir, texts):
    m = AutoModelForSequenceClassification.from_pretrained(model_dir).eval()
    m = at_precision(m, "bf16")
    with torch.inference_mode():
        return predict_proba(m, tok, list(texts), 256, truncation="head_tail", head_tokens=128, precision="bf16")

init = OUT / "init"
if not init.exists():
    shutil.copytree(FRESH / "models/offline/checkpoints/checkpoint-1207", init,
                    ignore=shutil.ignore_patterns("optimizer.pt", "scheduler.pt", "rng_state.pth", "trainer_state.json", "training_args.bin"))
t0 = time.time()
cache = OUT / "base_scores.npz"
if cache.exists():
    z = np.load(cache); pv, pp = z["val"], z["pool"]
else:
    pv, pp = score(init, val.text), score(init, sample.text); np.savez(cache, val=pv, pool=pp)
y = val.label.to_numpy()
dv, dp = binary_logit(pv), binary_logit(pp)
from sklearn.isotonic import IsotonicRegression
fit_part = slice(0, 1000) if HALF else slice(None)
iso = IsotonicRegression(y_min=1e-3, y_max=1 - 1e-3, out_of_bounds="clip").fit(dv[fit_part], y[fit_part])
def keep(d, p):  # the decision of sign(d) kept
    return np.where(d >= 0, np.maximum(p, 0.5), np.minimum(p, 0.4999))
pcal_v = keep(dv, iso.predict(dv))
print("val ECE base", expected_calibration_error(y, 1 / (1 + np.exp(-dv))),
      "after isotonic (in-sample)", expected_calibration_error(y, pcal_v), "scored in", round(time.time() - t0), "s")
p = keep(dp, iso.predict(dp))
rows = pd.DataFrame({"text": sample.text.to_numpy(), "labels": np.where(p >= 0.5, 2, 0), "weight": 1.0,
                     "teacher_probs": list(np.stack([1 - p, np.zeros_like(p), p], 1).astype(np.float32))})
cfg = TrainConfig(epochs=EPOCHS, learning_rate=LR, batch_size=8, max_length=256, truncation="head_tail",
                  head_tokens=128, distill_loss="soft", temperature=1.0, seed=42, eval_each_epoch=False)
t1 = time.time()
trainer = train_student(str(init), rows, val.iloc[:0], OUT / f"ckpt_{tag}", cfg)
trainer.save_model(str(OUT / f"model_{tag}"))
tok.save_pretrained(OUT / f"model_{tag}")
train_s = time.time() - t1
pa = score(OUT / f"model_{tag}", val.text)
da = binary_logit(pa)
rec = choose(pa, y)
res = {"tag": tag, "train_s": train_s,
       "acc_base": float(np.mean((dv >= 0) == y)), "acc_after": float(np.mean((da >= 0) == y)),
       "decisions_changed": int(np.sum((dv >= 0) != (da >= 0))),
       "ece_base": expected_calibration_error(y, 1 / (1 + np.exp(-dv))),
       "ece_after_training": expected_calibration_error(y, 1 / (1 + np.exp(-da))),
       "fold": {k: rec.get(k) for k in ("map", "ece_validation_before", "ece_validation_after", "ece_validation_after_each_map", "folded")}}
if HALF:
    held = slice(1000, None)
    res["held_out_half"] = {"n": 1000, "acc_base": float(np.mean((dv[held] >= 0) == y[held])),
                            "acc_after": float(np.mean((da[held] >= 0) == y[held])),
                            "ece_base": expected_calibration_error(y[held], 1 / (1 + np.exp(-dv[held]))),
                            "ece_after_training": expected_calibration_error(y[held], 1 / (1 + np.exp(-da[held]))),
                            "ece_map_alone": expected_calibration_error(y[held], keep(dv[held], iso.predict(dv[held])))}
print(json.dumps(res, indent=1))
(OUT / f"result_{tag}.json").write_text(json.dumps(res, indent=1))
