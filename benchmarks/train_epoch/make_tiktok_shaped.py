#!/usr/bin/python3
"""benchmarks/train_epoch/make_tiktok_shaped.py — writes a synthetic MMRec folder of TikTok's shape
for timing examples/train: 9 308 users, 6 710 items, 59 541 training pairs (issue 20), 7 443
validation and 7 443 test pairs (an 8:1:1 split, as MMRec's), two modalities `image` and `audio`
of 128-d float16 features (image.npy, audio.npy, one row per item id).

The data has structure, so training learns something: items and users have 16-d latent tastes;
modality m's features are a fixed random map of the item's taste (modality-specific halves of
it weigh more) plus noise; each user picks items with probability proportional to
popularity (Zipf, exponent 0.8) times exp(2 * <user taste, item taste>), without replacement
(Gumbel top-k). Every user has >= 1 training pair; validation and test pairs are spread over
the users (every user's second pair first). Deterministic for a given --seed.

Usage: /usr/bin/python3 benchmarks/train_epoch/make_tiktok_shaped.py OUT_DIR [--seed 1]
Then: brmrs_train --data OUT_DIR --modalities image,audio ...
"""
import argparse
import os

import numpy as np

N_USERS, N_ITEMS, N_TRAIN, N_VAL, N_TEST, DIM, LATENT = 9308, 6710, 59541, 7443, 7443, 128, 16


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    total = N_TRAIN + N_VAL + N_TEST

    # Degrees: 1 + a geometric-like tail, scaled so they sum to `total`; each user needs at least
    # one training pair and, where possible, one held-out pair.
    raw = rng.pareto(2.5, N_USERS) + 1.0
    deg = np.maximum(2, np.floor(raw / raw.sum() * total)).astype(np.int64)
    while deg.sum() > total:
        deg[np.argmax(deg)] -= 1
    while deg.sum() < total:
        deg[rng.integers(N_USERS)] += 1
    deg = np.minimum(deg, N_ITEMS // 2)

    item_taste = rng.standard_normal((N_ITEMS, LATENT)).astype(np.float32)
    user_taste = rng.standard_normal((N_USERS, LATENT)).astype(np.float32) / np.sqrt(LATENT)
    log_pop = -0.8 * np.log1p(rng.permutation(N_ITEMS)).astype(np.float32)

    users, items = [], []
    for u0 in range(0, N_USERS, 512):
        u1 = min(N_USERS, u0 + 512)
        logits = 2.0 * user_taste[u0:u1] @ item_taste.T + log_pop
        logits += rng.gumbel(size=logits.shape).astype(np.float32)
        order = np.argsort(-logits, axis=1)
        for r, u in enumerate(range(u0, u1)):
            picked = order[r, :deg[u]]
            users.append(np.full(picked.size, u, dtype=np.int64))
            items.append(picked)
    users, items = np.concatenate(users), np.concatenate(items)
    n = users.size
    if n != total:
        raise SystemExit(f"internal: {n} pairs, expected {total}")

    # Split: each user's first pair stays training; the others are ordered by their rank within
    # the user (every user's second pair, then every third, ...; random order within a rank), and
    # the first N_VAL + N_TEST of that order are held out, validation and test alternating.
    starts = np.concatenate([[0], np.cumsum(deg)[:-1]])
    rank = np.arange(n) - np.repeat(starts, deg)
    eligible = np.flatnonzero(rank > 0)
    order = eligible[np.lexsort((rng.random(eligible.size), rank[eligible]))]
    label = np.zeros(n, dtype=np.int64)
    held = order[:N_VAL + N_TEST]
    label[held[0::2]] = 1
    label[held[1::2]] = 2

    os.makedirs(a.out, exist_ok=True)
    name = os.path.basename(os.path.normpath(a.out))
    with open(os.path.join(a.out, name + ".inter"), "w") as f:
        f.write("userID\titemID\tx_label\n")
        for u, i, x in zip(users.tolist(), items.tolist(), label.tolist()):
            f.write(f"{u}\t{i}\t{x}\n")
    for m, modality in enumerate(("image", "audio")):
        w = rng.standard_normal((LATENT, DIM)).astype(np.float32)
        half = np.ones(LATENT, dtype=np.float32)
        half[(LATENT // 2) * (1 - m):(LATENT // 2) * (2 - m)] = 0.3  # each modality sees one half best
        feats = (item_taste * half) @ w + 0.5 * rng.standard_normal((N_ITEMS, DIM)).astype(np.float32)
        np.save(os.path.join(a.out, modality + ".npy"), feats.astype(np.float16))
    counts = np.bincount(label, minlength=3)
    print(f"{a.out}: {N_USERS} users, {N_ITEMS} items, train {counts[0]}, validation {counts[1]}, "
          f"test {counts[2]} pairs; image.npy, audio.npy {N_ITEMS} x {DIM} float16")


if __name__ == "__main__":
    main()
