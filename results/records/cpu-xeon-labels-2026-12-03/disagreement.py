"""Issue 32 diagnostic: does the trained student (before self-calibration) flag the teacher's wrong labels among
the teacher's top 40% per class? Reads the selfcal records' annotated splits (/tmp/pw/data/selfcal-network-s<seed>)
and the self-training prototype's start scores (/tmp/stp/s<seed>/start_scores.npz: the same checkpoint's
probabilities on the pool at 256 tokens, on validation and development at 512). Pool: only its 2,000 train reviews
have a true label, and the student trained on the pool's top rows; validation and development it never saw.
Run: PYTHONPATH=<clone> python disagreement.py > disagreement.txt"""
import numpy as np, pandas as pd
from helpers.distill import prior_correct, parse_prior


def top40(pp):
    pc = prior_correct(np.c_[1 - pp, 0 * pp, pp].astype(np.float32), parse_prior("0.5,0,0.5"))
    lab, conf = pc.argmax(1), pc.max(1)
    top = np.zeros(len(pp), bool)
    for c in (0, 2):
        idx = np.where(lab == c)[0]
        top[idx[np.argsort(-conf[idx], kind="stable")[:int(np.ceil(len(idx) * 0.4))]]] = True
    return lab, top


for seed in (42, 43):
    d = f"/tmp/pw/data/selfcal-network-s{seed}"
    z = np.load(f"/tmp/stp/s{seed}/start_scores.npz", allow_pickle=True)
    splits = {"pool": pd.concat([pd.read_csv(f"{d}/{s}_teacher_annotated.csv") for s in ("train", "unsupervised")],
                                ignore_index=True),
              "validation": pd.read_csv(f"{d}/validation_teacher_annotated.csv"),
              "development": pd.read_csv(f"{d}/development_teacher_annotated.csv")}
    for name, frame in splits.items():
        lab, top = top40(frame["p_positive"].to_numpy())
        sp = z[name]
        gold = frame["label"].to_numpy(); known = gold >= 0
        right = (lab == 2) == (gold == 1)
        student_p_teacher_label = np.where(lab == 2, sp[:, 2], sp[:, 0]) / (sp[:, 0] + sp[:, 2])
        print(f"seed {seed} {name}: teacher's top 40% {top.sum()} reviews, {(top & known).sum()} with a true label, "
              f"teacher right on {right[top & known].mean():.3f}")
        for tau in (0.5, 0.3, 0.1):
            flag = student_p_teacher_label < tau
            print(f"   student's p(teacher's label) < {tau}: {flag[top].mean():.3f} of the top; teacher right on "
                  f"{right[top & known & flag].mean():.3f} of them (n {(top & known & flag).sum()}), on the rest "
                  f"{right[top & known & ~flag].mean():.3f}")
