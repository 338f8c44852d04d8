"""Tests of the host example's own pieces (examples/host/host.py): the evaluation against a
hand-worked case and against brmrs's C++ eval (include/brmrs/eval.hpp, compiled here), the
graph normalisation against a dense computation, and the symmetric sparse product's gradient.

    /usr/bin/python3 -m pytest -q examples/host/test_host.py
"""
import math
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import host  # noqa: E402

ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))


def pairs(*uis):
    return (np.array([u for u, _ in uis], dtype=np.int64), np.array([i for _, i in uis], dtype=np.int64))


# ------------------------------------------------------------------------------- hand-worked eval
def test_evaluate_hand_worked():
    # 2 users x 5 items; scorers text, audio, fused. User 0: train {0}, held out {1, 3};
    # user 1: train {4}, held out {2}.
    scores = torch.tensor([
        [[0, 1, 0, 2, 0], [0, 0, 0, 0, 9]],   # text
        [[0, 0, 5, 4, 3], [0, 0, 1, 0, 0]],   # audio
        [[9, 5, 7, 5, 1], [0, 0, 0, 0, 0]],   # fused
    ], dtype=torch.float32)
    rep = host.evaluate(scores, pairs((0, 1), (0, 3), (1, 2)), [pairs((0, 0), (1, 4))], ks=(2,))
    # Ranks among the non-excluded items, ties to the lowest id:
    #   user 0, text : item 3 -> 1, item 1 -> 2 (items 2, 4 score 0 < 1)      both hit @2
    #   user 0, audio: item 2, 3, 4 = 5, 4, 3 -> item 3 rank 2, item 1 rank 4  (item 3 hits)
    #   user 0, fused: item 2 = 7 first, items 1, 3 tie at 5 -> item 1 rank 2, item 3 rank 3
    #   user 1, text : item 4 (9) excluded, items 0..3 tie at 0 -> item 2 rank 3  (miss)
    #   user 1, audio: item 2 rank 1 (hit); fused: all tie -> item 2 rank 3 (miss)
    assert rep["users"] == 2 and rep["pairs"] == 3
    text, audio, fused = rep["recall"][2]
    assert text == pytest.approx((1.0 + 0.0) / 2)
    assert audio == pytest.approx((0.5 + 1.0) / 2)
    assert fused == pytest.approx((0.5 + 0.0) / 2)
    l2 = math.log2
    idcg2 = 1 + 1 / l2(3)
    assert rep["ndcg"][2][0] == pytest.approx(((1 + 1 / l2(3)) / idcg2 + 0.0) / 2)
    assert rep["ndcg"][2][1] == pytest.approx(((1 / l2(3)) / idcg2 + 1.0) / 2)
    assert rep["ndcg"][2][2] == pytest.approx(((1 / l2(3)) / idcg2 + 0.0) / 2)
    # Hit patterns (bit 0 text, 1 audio, 2 fused): (0,1) -> t+f = 5; (0,3) -> t+a = 3 (U_r);
    # (1,2) -> a = 2 (U_v).
    counts = rep["patterns"][2]
    assert [i for i, c in enumerate(counts) for _ in range(c)] == [2, 3, 5]
    assert rep["subsets"][2] == pytest.approx({"U_t": 0.0, "U_v": 1 / 3, "U_tv": 0.0, "U_r": 1 / 3})


def test_evaluate_masks_every_excluded_store():
    # One scorer pair (modality, fused) on 1 user x 4 items: train {0}, validation {1} excluded
    # when testing, test item 3. Fused scores 4, 3, 2, 1: item 3 ranks 2 among {2, 3}.
    scores = torch.tensor([[[1.0, 2.0, 3.0, 4.0]], [[4.0, 3.0, 2.0, 1.0]]])
    rep = host.evaluate(scores, pairs((0, 3)), [pairs((0, 0)), pairs((0, 1))], ks=(1, 2))
    assert rep["recall"][1] == [1.0, 0.0]
    assert rep["recall"][2] == [1.0, 1.0]
    assert rep["ndcg"][2][1] == pytest.approx(1 / math.log2(3))
    with pytest.raises(ValueError, match="also excluded"):
        host.evaluate(scores, pairs((0, 1)), [pairs((0, 1))], ks=(1,))
    with pytest.raises(ValueError, match="finite"):
        host.evaluate(scores * float("nan"), pairs((0, 3)), [], ks=(1,))


# ----------------------------------------------------------------------- against brmrs's C++ eval
CPP = r"""
#include <brmrs/eval.hpp>
#include <cstdint>
#include <iostream>
#include <vector>
// stdin: n_users n_items S nk ks... ; n_held (u i)... ; n_ex (u i)... ; S*n_users*n_items scores
int main() {
  std::size_t nu, ni, S, nk;
  std::cin >> nu >> ni >> S >> nk;
  brmrs::ranking_options opt;
  opt.ks.resize(nk);
  for (auto& k : opt.ks) std::cin >> k;
  auto read_store = [&]() {
    std::size_t n;
    std::cin >> n;
    std::vector<std::int64_t> u(n), i(n);
    for (std::size_t p = 0; p < n; ++p) std::cin >> u[p] >> i[p];
    return brmrs::interactions<std::int64_t>::from_pairs(nu, ni, u, i);
  };
  const auto held = read_store();
  const auto ex = read_store();
  std::vector<double> sc(S * nu * ni);
  for (auto& x : sc) std::cin >> x;
  const auto rep = brmrs::evaluate_ranking<double>(
      S, held, {&ex}, [&](std::size_t u, brmrs::matrix_view<double> out) {
        for (std::size_t s = 0; s < S; ++s)
          for (std::size_t j = 0; j < ni; ++j) out(s, j) = sc[(s * nu + u) * ni + j];
      },
      opt);
  std::cout.precision(17);
  for (std::size_t K : opt.ks) {
    for (std::size_t s = 0; s < S; ++s) std::cout << rep.recall_at(s, K) << ' ' << rep.ndcg_at(s, K) << ' ';
    for (unsigned m = 0; m < (1u << S); ++m) std::cout << rep.pattern_share(K, m) * rep.pairs << ' ';
    std::cout << '\n';
  }
}
"""


@pytest.fixture(scope="module")
def cpp_eval(tmp_path_factory):
    cxx = shutil.which("g++") or shutil.which("c++")
    if cxx is None:
        pytest.skip("no C++ compiler")
    d = tmp_path_factory.mktemp("cpp_eval")
    src, exe = d / "eval.cpp", d / "eval"
    src.write_text(CPP)
    subprocess.run([cxx, "-std=c++17", "-O1", "-I", os.path.join(ROOT, "include"), str(src), "-o", str(exe)],
                   check=True)
    return str(exe)


def test_evaluate_matches_brmrs_cpp_eval(cpp_eval):
    rng = np.random.default_rng(7)
    nu, ni, S, ks = 13, 30, 3, (1, 5, 20)
    cells = rng.permutation(nu * ni)
    ex_cells, held_cells = cells[:120], cells[120:200]
    ex = (ex_cells // ni, ex_cells % ni)
    held = (held_cells // ni, held_cells % ni)
    # Small integer scores: many ties, so the lowest-id tie rule is exercised.
    scores = rng.integers(0, 4, size=(S, nu, ni)).astype(np.float64)
    lines = [f"{nu} {ni} {S} {len(ks)} " + " ".join(map(str, ks))]
    for u, i in (held, ex):
        lines.append(str(len(u)) + " " + " ".join(f"{a} {b}" for a, b in zip(u, i)))
    lines.append(" ".join(map(str, scores.reshape(-1))))
    got = subprocess.run([cpp_eval], input="\n".join(lines), capture_output=True, text=True, check=True)
    cpp = [list(map(float, line.split())) for line in got.stdout.strip().splitlines()]
    rep = host.evaluate(torch.from_numpy(scores), held, [ex], ks=ks)
    for row, K in zip(cpp, ks):
        for s in range(S):
            assert rep["recall"][K][s] == pytest.approx(row[2 * s], rel=1e-12), (K, s)
            assert rep["ndcg"][K][s] == pytest.approx(row[2 * s + 1], rel=1e-12), (K, s)
        assert rep["patterns"][K] == [round(x) for x in row[2 * S:]], K


# ------------------------------------------------------------------------------------- graphs
def dense_sym_norm(a):
    deg = a.sum(1)
    inv = np.where(deg > 0, 1 / np.sqrt(np.where(deg > 0, deg, 1)), 0.0)
    return inv[:, None] * a * inv[None, :]


def test_bipartite_adjacency_is_dense_sym_norm():
    nu, ni = 4, 5
    users, items = pairs((0, 0), (0, 2), (1, 2), (2, 4), (0, 0))  # a duplicate; user 3 has none
    a = np.zeros((nu + ni, nu + ni))
    for u, i in zip(users, items):
        a[u, nu + i] = a[nu + i, u] = 1.0
    want = dense_sym_norm(a)
    got = host.bipartite_adjacency(nu, ni, users, items).to_dense().double().numpy()
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=0)
    # Row of user 0 (degree 2) against items 0 (degree 1) and 2 (degree 2): 1/sqrt(2*1), 1/sqrt(2*2).
    assert got[0, nu + 0] == pytest.approx(1 / math.sqrt(2)) and got[0, nu + 2] == pytest.approx(0.5)
    assert not got[3].any() and not got[nu + 1].any()  # isolated user 3 and item 1: zero rows


def test_knn_item_graph_is_dense_sym_norm():
    rng = np.random.default_rng(3)
    x = torch.from_numpy(rng.standard_normal((12, 6)))
    k = 3
    z = x.numpy() / np.linalg.norm(x.numpy(), axis=1, keepdims=True)
    sim = z @ z.T
    np.fill_diagonal(sim, -np.inf)
    a = np.zeros((12, 12))
    for r in range(12):
        for c in np.argsort(-sim[r])[:k]:
            a[r, c] = a[c, r] = 1.0
    got = host.knn_item_graph(x, k).to_dense().double().numpy()
    np.testing.assert_allclose(got, dense_sym_norm(a), rtol=1e-6, atol=0)
    assert (np.count_nonzero(got, axis=1) >= k).all() and np.allclose(got, got.T)


def test_symmetric_spmm_gradient():
    adj = host.to_csr(host.bipartite_adjacency(3, 4, *pairs((0, 0), (0, 1), (1, 1), (2, 3))).double())
    x = torch.randn(7, 5, dtype=torch.float64, requires_grad=True)
    torch.autograd.gradcheck(lambda t: host.lightgcn(adj, t, 2), (x,))
    dense = adj.to_dense()
    want = (x + dense @ x + dense @ dense @ x) / 3
    torch.testing.assert_close(host.lightgcn(adj, x, 2), want)
