"""Self-calibration of the head alone: can refitting the classifier (or pooler + classifier) on the trained student's
frozen features, with the same truth-mapped targets on the same pool reviews, do what one epoch of the whole network
does? Held-out ECE on the validation half the map never saw, as helpers.train.self_calibrate judges it.

`python -m helpers.lab.self_calibration_top <trained checkpoint> <the run's data folder> <seed> 4000 > out.json`
(records: results/records/cpu-epyc-budget-2026-12-02/headcal_s42.json, _s43, _s44; one setting: full-batch Adam, 300 steps at 1e-3)
"""
import copy, sys, json, time
import numpy as np, pandas as pd, torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer
from helpers.inference import encode
from helpers.calibrate import truth_map, halves, effect
from helpers.data import read_reviews


def main() -> None:
    """Run the check on the checkpoint, data folder, seed and pool size given on the command line; print JSON."""
    ckpt, data, seed, n_pool = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]) if len(sys.argv) > 4 else 4000
    torch.manual_seed(0)
    tok = AutoTokenizer.from_pretrained(ckpt)
    model = AutoModelForSequenceClassification.from_pretrained(ckpt).eval()
    read = lambda split: read_reviews(f"{data}/{split}_teacher_annotated.csv")  # as load_pool reads them
    pool = pd.concat([read("train"), read("unsupervised")], ignore_index=True)
    sample = pool.sample(min(n_pool, len(pool)), random_state=seed)
    val = read("validation")

    def features(texts):
        ids = encode(tok, list(texts), 256, "head_tail", 128)
        order = np.argsort([len(x) for x in ids]); hidden = [None] * len(ids)
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
            for i in range(0, len(ids), 32):
                batch = [ids[j] for j in order[i:i + 32]]
                padded = tok.pad({"input_ids": batch}, return_tensors="pt")
                cls = model.bert(**padded).last_hidden_state[:, 0].float()
                for j, h in zip(order[i:i + 32], cls): hidden[j] = h
        return torch.stack(hidden)

    t = time.time(); h_pool, h_val = features(sample["text"]), features(val["text"]); secs = time.time() - t
    def probs(h, pooler=model.bert.pooler, head=model.classifier):
        with torch.no_grad(): return torch.softmax(head(pooler(h.unsqueeze(1))), -1).numpy()
    gold = val["label"].to_numpy(); before = probs(h_val)
    fitted_on, judged_on = halves(len(val), seed)
    to_truth = truth_map(before[fitted_on], gold[fitted_on])
    target = torch.tensor(to_truth(probs(h_pool)), dtype=torch.float32)
    out = {"checkpoint": ckpt, "seed": seed, "pool_reviews": len(sample), "feature_seconds": round(secs, 1)}
    for what in ("head", "pooler_and_head"):
        pooler, head = copy.deepcopy(model.bert.pooler), copy.deepcopy(model.classifier)
        params = list(head.parameters()) + (list(pooler.parameters()) if what != "head" else [])
        opt = torch.optim.Adam(params, lr=1e-3)
        for step in range(300):
            logp = torch.log_softmax(head(pooler(h_pool.unsqueeze(1))), -1)
            loss = -(target * logp[:, 2] + (1 - target) * logp[:, 0]).mean()
            opt.zero_grad(); loss.backward(); opt.step()
        after = probs(h_val, pooler, head)
        out[what] = {k: round(v, 4) if isinstance(v, float) else v for k, v in
                     {**effect(before[judged_on], after[judged_on], gold[judged_on], "held_out"),
                      **effect(before[fitted_on], after[fitted_on], gold[fitted_on], "in_sample")}.items()}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
