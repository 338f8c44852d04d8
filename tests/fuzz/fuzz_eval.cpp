// Fuzz target: brmrs::evaluate_ranking with stores, cut-offs and scores from the bytes: 0 users
// or items, n_scorers from 0 to 17, empty ks, K = 0 and K = 2^64 - 1, excluded stores of the wrong
// size or holding a held-out pair, scores with many ties, NaN and ±Inf, either tie rule and an
// unknown one. A direct implementation of the definitions in eval.hpp is the reference (rank by
// counting every candidate ordered before the item, then Recall, NDCG, the hit patterns):
//   - brmrs::invalid_argument exactly when the reference finds a bad argument;
//   - otherwise users, pairs, every Recall@K and NDCG@K (each in [0, 1]) and every pattern count
//     equal the reference's (counts exactly, metrics within 1e-12), and the pattern shares of
//     each K sum to 1.
#include <brmrs/eval.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <set>
#include <vector>

#include "fuzz_common.hpp"

namespace {

using Id = std::int32_t;

brmrs::interactions<Id> make_store(fuzz::bytes& in, std::size_t n_users, std::size_t n_items, std::size_t max_pairs) {
  std::vector<Id> u, i;
  if (n_users > 0 && n_items > 0) {
    const std::size_t n = in.u8() % (max_pairs + 1);
    for (std::size_t p = 0; p < n; ++p) {
      u.push_back(Id(in.u8() % n_users));
      i.push_back(Id(in.u8() % n_items));
    }
  }
  return brmrs::interactions<Id>::from_pairs(n_users, n_items, u, i);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::bytes in(data, size);
  const std::uint8_t ssel = in.u8();
  const std::size_t S = ssel < 240 ? 1 + ssel % 4 : ssel % 2 ? 17 : 0;  // 0 and 17 refused
  const std::size_t n_users = in.in(0, 5), n_items = in.in(0, 12);
  const auto held = make_store(in, n_users, n_items, 12);
  std::vector<brmrs::interactions<Id>> ex_stores;
  const std::size_t n_ex = in.u8() % 3;
  for (std::size_t e = 0; e < n_ex; ++e) {
    const bool wrong = in.u8() < 8;
    ex_stores.push_back(make_store(in, n_users + (wrong && in.flag() ? 1 : 0), n_items + (wrong ? 1 : 0), 16));
  }
  std::vector<const brmrs::interactions<Id>*> excluded;
  for (const auto& s : ex_stores) excluded.push_back(&s);
  brmrs::ranking_options opt;
  opt.ks.clear();
  const std::size_t nk = in.u8() < 8 ? 0 : in.in(1, 3);
  for (std::size_t k = 0; k < nk; ++k) {
    const std::uint8_t s = in.u8();
    opt.ks.push_back(s < 240 ? 1 + s % (n_items + 2) : s < 248 ? 0 : std::numeric_limits<std::size_t>::max());
  }
  const std::uint8_t ts = in.u8();
  opt.ties = static_cast<brmrs::tie_rule>(ts < 250 ? ts % 2 : 2 + ts % 3);
  opt.parallel = in.flag();
  // Scores: few levels (ties), sometimes not finite.
  std::vector<double> scores(n_users * S * n_items);
  for (auto& v : scores) {
    const std::uint8_t s = in.u8();
    v = s < 250 ? double(s % 4) : s % 3 == 0 ? NAN : s % 3 == 1 ? INFINITY : -INFINITY;
  }
  auto sc = [&](std::size_t u, std::size_t s, std::size_t j) { return scores[(u * S + s) * n_items + j]; };

  // The reference.
  bool bad = S < 1 || S > 16 || opt.ks.empty() || static_cast<unsigned>(opt.ties) > 1;
  for (std::size_t K : opt.ks) bad = bad || K == 0;
  for (const auto& e : ex_stores) bad = bad || e.n_users() != n_users || e.n_items() != n_items;
  if (!bad)
    for (std::size_t u = 0; u < n_users; ++u)
      for (Id i : held.items_of(u))
        for (const auto& e : ex_stores) bad = bad || e.contains(u, std::size_t(i));
  if (!bad && S <= 16)
    for (std::size_t u = 0; u < n_users; ++u)
      if (held.degree(u) > 0)
        for (std::size_t s = 0; s < S; ++s)
          for (std::size_t j = 0; j < n_items; ++j) bad = bad || !std::isfinite(sc(u, s, j));

  brmrs::ranking_report rep;
  try {
    rep = brmrs::evaluate_ranking<double, Id>(
        S, held, excluded,
        [&](std::size_t u, brmrs::matrix_view<double> out) {
          for (std::size_t s = 0; s < S; ++s)
            for (std::size_t j = 0; j < n_items; ++j) out(s, j) = sc(u, s, j);
        },
        opt);
  } catch (const brmrs::invalid_argument&) {
    FUZZ_CHECK(bad);
    return 0;
  }
  FUZZ_CHECK(!bad);
  const std::size_t n_pat = std::size_t(1) << S;
  std::vector<double> recall(S * nk, 0), ndcg(S * nk, 0);
  std::vector<std::size_t> counts(nk * n_pat, 0);
  std::size_t users = 0, pairs = 0;
  for (std::size_t u = 0; u < n_users; ++u) {
    const auto items = held.items_of(u);
    if (items.empty()) continue;
    ++users;
    pairs += items.size();
    std::vector<bool> cand(n_items, true);
    for (const auto& e : ex_stores)
      for (Id j : e.items_of(u)) cand[std::size_t(j)] = false;
    for (std::size_t k = 0; k < nk; ++k) {
      const std::size_t K = opt.ks[k];
      double idcg = 0;
      for (std::size_t r = 1; r <= std::min<std::size_t>(items.size(), K); ++r) idcg += 1 / std::log2(r + 1.0);
      std::vector<unsigned> mask(items.size(), 0);
      for (std::size_t s = 0; s < S; ++s) {
        double hits = 0, dcg = 0;
        for (std::size_t p = 0; p < items.size(); ++p) {
          const std::size_t i = std::size_t(items[p]);
          std::size_t rank = 1;
          for (std::size_t j = 0; j < n_items; ++j) {
            if (j == i || !cand[j]) continue;
            const bool before = opt.ties == brmrs::tie_rule::pessimistic
                                    ? sc(u, s, j) >= sc(u, s, i)
                                    : sc(u, s, j) > sc(u, s, i) || (sc(u, s, j) == sc(u, s, i) && j < i);
            rank += before ? 1 : 0;
          }
          if (rank <= K) {
            hits += 1;
            dcg += 1 / std::log2(rank + 1.0);
            mask[p] |= 1u << s;
          }
        }
        recall[s * nk + k] += hits / double(items.size());
        ndcg[s * nk + k] += dcg / idcg;
      }
      for (unsigned m : mask) ++counts[k * n_pat + m];
    }
  }
  FUZZ_CHECK(rep.users == users && rep.pairs == pairs && rep.n_scorers == S);
  for (std::size_t i = 0; i < S * nk; ++i) {
    const double r = users ? recall[i] / double(users) : 0, n = users ? ndcg[i] / double(users) : 0;
    FUZZ_CHECK(std::fabs(rep.recall[i] - r) <= 1e-12 && std::fabs(rep.ndcg[i] - n) <= 1e-12);
    FUZZ_CHECK(rep.recall[i] >= 0 && rep.recall[i] <= 1 && rep.ndcg[i] >= 0 && rep.ndcg[i] <= 1 + 1e-12);
  }
  FUZZ_CHECK(rep.pattern_counts == counts);
  if (pairs > 0)
    for (std::size_t k = 0; k < nk; ++k) {
      double total = 0;
      for (unsigned m = 0; m < n_pat; ++m) total += rep.pattern_share(opt.ks[k], m);
      FUZZ_CHECK(std::fabs(total - 1) <= 1e-9);
    }
  return 0;
}
