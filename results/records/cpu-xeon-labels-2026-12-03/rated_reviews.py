"""Issue 32 diagnostic: on the validation and development reviews that state a decisive rating, how often the trained
student (before self-calibration; the prototype's start scores in /tmp/stp/s<seed>, 512 tokens) and the teacher (whose
rating source then decides) are right, against those that state none.
Run: PYTHONPATH=<clone> python rated_reviews.py > rated_reviews.txt"""
import numpy as np, pandas as pd
from helpers.sources.rating import rating_score, stated_rating

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
