"""Issue 32 diagnostic (seed 42; embeddings from probe_embed.py in /tmp/probe; run with the project on PYTHONPATH): a linear probe on the encoder's embeddings, trained on the teacher's confident labels
(cross-fitted over the pool), as a fourth label source. Validation / development / pool-train-rows label accuracy."""
import sys, numpy as np, pandas as pd
sys.path.insert(0, "/work/main")
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold
from helpers.sources.combine import rank_normaliser, combine, probabilities
from helpers.distill import training_targets
seed, emb_name = sys.argv[1], sys.argv[2]
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
    # label accuracy of the top 40% on pool rows with gold: recompute the selection to keep indices
    probs = np.c_[1 - pp, np.zeros_like(pp), pp]
    from helpers.distill import prior_correct, parse_prior
    pc = prior_correct(probs.astype(np.float32), parse_prior("0.5,0,0.5"))
    lab, conf = pc.argmax(1), pc.max(1)
    top = np.zeros(len(pp), bool)
    for c in (0, 2):
        idx = np.where(lab == c)[0]; k = int(np.ceil(len(idx) * 0.4))
        top[idx[np.argsort(-conf[idx], kind="stable")[:k]]] = True
    ok = (lab == 2) == (gold_pool == 1)
    sv, sd = S["validation"]["label"].to_numpy(), S["development"]["label"].to_numpy()
    print(f"{name:28s} val {acc(pv, sv):.4f}  dev {acc(pdv, sd):.4f}  pool-train all {ok[has].mean():.4f}  "
          f"top40 {ok[has & top].mean():.4f} (n {int((has & top).sum())})  rows {len(rows)}  pos-share top {np.mean(lab[top]==2):.2f}")

pp0 = pool["p_positive"].to_numpy(); report("shipped teacher (csv)", pp0, S["validation"]["p_positive"].to_numpy(), S["development"]["p_positive"].to_numpy())
report("recomputed", *teacher())

def probe(pp, frac=0.4, C=1.0, folds=5):
    probs = np.c_[1 - pp, np.zeros_like(pp), pp].astype(np.float32)
    from helpers.distill import prior_correct, parse_prior
    pc = prior_correct(probs, parse_prior("0.5,0,0.5")); lab, conf = pc.argmax(1), pc.max(1)
    top = np.zeros(len(pp), bool)
    for c in (0, 2):
        idx = np.where(lab == c)[0]; k = int(np.ceil(len(idx) * frac))
        top[idx[np.argsort(-conf[idx], kind="stable")[:k]]] = True
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
