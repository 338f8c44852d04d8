// brmrs/eval.hpp — full-ranking evaluation: Recall@K, NDCG@K and the hit-pattern user subsets
// of DESIGN.md §1 (U_t, U_v, U_tv, U_r for M = 2, their generalisation for M > 2).
//
// What it computes. The host has S = M + 1 scorers: scorer m = 0..M-1 is modality m alone
// (s_m(u, i)), scorer M (the LAST one) is the fused score s_f(u, i). For every user u with at
// least one held-out item, the host fills an S x n_items score matrix (score_user callback);
// every held-out pair (u, i) is then ranked, under each scorer separately, among the candidate
// items C(u) = all items minus the user's excluded items (training items; training and
// validation items when testing). Other held-out items of u stay candidates, as in MMRec.
//
//   rank_s(u, i) = 1 + #{ j in C(u), j != i : j is ordered before i under scorer s }
//   tie rule tie_rule::lowest_id_first (default): j is before i when s(j) > s(i), or
//       s(j) == s(i) and j < i — a strict total order (the (score desc, id asc) order of
//       CUB's ArgMax and of brmrs's hard-negative selection), so "rank <= K" is exactly
//       "i is in the top-K list" and the ranks of one user's items are distinct;
//   tie rule tie_rule::pessimistic: j is before i when s(j) >= s(i) — every tie counts
//       against the held-out item (a constant scorer then hits nothing).
//   hit_s@K(u, i)   = [rank_s(u, i) <= K]
//   Recall@K(s)     = mean over users u of  #{i in H(u) : hit_s@K(u,i)} / |H(u)|
//   NDCG@K(s)       = mean over users u of  DCG / IDCG with
//                     DCG  = sum_{i in H(u), rank <= K} 1 / log2(rank + 1),
//                     IDCG = sum_{r = 1}^{min(|H(u)|, K)} 1 / log2(r + 1)
//   (H(u) = u's held-out items; users without held-out items are not averaged over.)
//
// The user subsets. For each held-out pair the hit pattern at K is the set of scorers that hit
// (bit s set when scorer s hits). pattern_counts keeps the count of every one of the 2^S
// patterns, and the subsets are shares of ALL held-out pairs (not of users) with an exact
// pattern:
//   only_share(K, m)        only scorer m hits: m hits, every other modality misses, fused
//                           misses. For M = 2, modality 0 = text, 1 = visual (or audio):
//                           U_t = only_share(K, 0), U_v = only_share(K, 1).
//   synergy_share(K)        = only_share(K, M): only the fused scorer hits, every modality
//                           misses — U_tv, the synergy the fusion adds.
//   degradation_share(K)    every modality hits and the fused scorer misses — U_r, the
//                           degradation the synergy loss targets. For M > 2 this is the
//                           "all unimodal hit, fused misses" share, and only_share(K, m) the
//                           "only this branch hits" share of branch m.
// The four subsets are disjoint but do not cover every pair (e.g. "t and f hit, v misses" is in
// none); pattern_share(K, mask) gives any other cell.
//
// Cost: per user, one score_user call, then O(S * n_items) to mask and O(S * |H(u)| * n_items)
// to rank (each held-out item is compared with every candidate: exact for either tie rule, no
// sort). Memory O(threads * S * n_items) scratch + O(n_users) per-user results.
// evaluate_ranking_blocked computes the same report (bitwise) from scores supplied for a tile of
// users at once (score_block), so a host fills the tile with one matrix product per scorer and
// the ranking reads it from cache: O(threads * block_users * S * n_items) scratch, allocated
// once per thread. brmrs_train's full-ranking evaluation of a TikTok-sized set (7 443 users x
// 6 710 items) uses it (docs/performance.md, "Training epoch").
// Threads: with OpenMP and options.parallel, users are split over threads (schedule(static)),
// so score_user must be safe to call concurrently for different users. Per-user results are
// stored, then summed in user order: the report is bitwise identical for any thread count.
//
// One scorer (n_scorers = 1, M = 0) is the fused scorer alone: Recall@K and NDCG@K of a model
// selection that reads nothing else (brmrs_train's per-epoch validation); its pattern shares are
// then hit (mask 1) or miss (mask 0).
//
// Throws brmrs::invalid_argument (naming the argument, position and value) when: n_scorers is
// not in [1, 16]; options.ties is not a tie_rule; options.ks is empty or holds a 0; an excluded store's n_users / n_items
// differ from held_out's; a held-out pair (u, i) is also in an excluded store (its rank among
// "items outside the excluded set" would be undefined); a score is not finite (the message
// names user, scorer, item and value; the first such user in id order is reported). Validation
// of the stores runs before any callback; the report is returned by value, so nothing the
// caller owns is written on throw.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <limits>
#include <vector>

#include "config.hpp"
#include "error.hpp"
#include "interactions.hpp"
#include "views.hpp"

BRMRS_BEGIN_NAMESPACE

// How a held-out item is ranked against candidates with exactly its score (see header comment).
enum class tie_rule {
  lowest_id_first,  // (score desc, id asc): a strict total order, equal to a top-K list
  pessimistic       // every tied candidate ranks ahead of the held-out item
};

struct ranking_options {
  std::vector<std::size_t> ks{10, 20};  // cut-offs K, each >= 1
  tie_rule ties = tie_rule::lowest_id_first;
  bool parallel = true;  // OpenMP over users when compiled with OpenMP
};

// The result of evaluate_ranking. Accessors take the cut-off K itself (e.g. 20), not its index;
// asking for a K that was not evaluated throws brmrs::invalid_argument.
struct ranking_report {
  std::vector<std::size_t> ks;
  std::size_t n_scorers = 0;  // S = M + 1; scorer S - 1 is the fused one
  std::size_t users = 0;      // users with >= 1 held-out item
  std::size_t pairs = 0;      // held-out (user, item) pairs
  std::vector<double> recall;  // [scorer * ks.size() + k_index]
  std::vector<double> ndcg;    // [scorer * ks.size() + k_index]
  std::vector<std::size_t> pattern_counts;  // [k_index * 2^S + mask], bit s = scorer s hits

  std::size_t modalities() const noexcept { return n_scorers - 1; }
  std::size_t fused() const noexcept { return n_scorers - 1; }

  std::size_t k_index(std::size_t K) const {
    for (std::size_t k = 0; k < ks.size(); ++k)
      if (ks[k] == K) return k;
    detail::throw_invalid_argument("brmrs::ranking_report: K = ", K, " was not evaluated");
  }
  double recall_at(std::size_t scorer, std::size_t K) const {
    check_scorer(scorer);
    return recall[scorer * ks.size() + k_index(K)];
  }
  double ndcg_at(std::size_t scorer, std::size_t K) const {
    check_scorer(scorer);
    return ndcg[scorer * ks.size() + k_index(K)];
  }
  // Share of held-out pairs whose set of hitting scorers is exactly `mask` (bit s = scorer s).
  double pattern_share(std::size_t K, unsigned mask) const {
    const std::size_t n_patterns = std::size_t(1) << n_scorers;
    if (mask >= n_patterns)
      detail::throw_invalid_argument("brmrs::ranking_report::pattern_share: mask = ", mask,
                                     " is out of range [0, ", n_patterns, ")");
    if (pairs == 0) return 0.0;
    return double(pattern_counts[k_index(K) * n_patterns + mask]) / double(pairs);
  }
  // Only scorer s hits (U_t = only_share(K, 0), U_v = only_share(K, 1) for M = 2).
  double only_share(std::size_t K, std::size_t scorer) const {
    check_scorer(scorer);
    return pattern_share(K, 1u << scorer);
  }
  // U_tv: only the fused scorer hits.
  double synergy_share(std::size_t K) const { return only_share(K, fused()); }
  // U_r: every modality hits, the fused scorer misses.
  double degradation_share(std::size_t K) const {
    if (n_scorers == 0)  // a default-constructed report: modalities() would wrap
      detail::throw_invalid_argument("brmrs::ranking_report::degradation_share: the report is empty (n_scorers = 0)");
    return pattern_share(K, (1u << modalities()) - 1u);
  }

 private:
  void check_scorer(std::size_t scorer) const {
    if (scorer >= n_scorers)
      detail::throw_invalid_argument("brmrs::ranking_report: scorer = ", scorer,
                                     " is out of range [0, ", n_scorers, ")");
  }
};

// Rank (1-based) of item `target` among the items whose `excluded` flag is 0, under `scores`
// (one score per item) and the tie rule. The target itself is never counted against itself.
// Preconditions (checked by evaluate_ranking, asserted here): excluded.size() == scores.size(),
// target < scores.size(), every score finite. Cost O(n_items). Never throws.
template <class T>
std::size_t rank_of_item(vector_view<const T> scores, std::size_t target,
                         vector_view<const unsigned char> excluded,
                         tie_rule ties = tie_rule::lowest_id_first) noexcept {
  BRMRS_ASSERT(excluded.size() == scores.size() && target < scores.size());
  const T st = scores[target];
  std::size_t ahead = 0;
  const std::size_t n = scores.size();
  if (ties == tie_rule::pessimistic) {
    for (std::size_t j = 0; j < n; ++j) ahead += (!excluded[j] && scores[j] >= st) ? 1u : 0u;
    ahead -= excluded[target] ? 0u : 1u;  // the target itself satisfied >=
  } else {
    for (std::size_t j = 0; j < target; ++j) ahead += (!excluded[j] && scores[j] >= st) ? 1u : 0u;
    for (std::size_t j = target + 1; j < n; ++j) ahead += (!excluded[j] && scores[j] > st) ? 1u : 0u;
  }
  return ahead + 1;
}

namespace detail {

inline double discount(std::size_t rank) { return 1.0 / std::log2(double(rank) + 1.0); }

template <class Id>
void check_eval_stores(const interactions<Id>& held_out, const std::vector<const interactions<Id>*>& excluded,
                       const char* fn = "brmrs::evaluate_ranking") {
  for (std::size_t e = 0; e < excluded.size(); ++e) {
    if (excluded[e] == nullptr) throw_invalid_argument(fn, ": excluded[", e, "] is null");
    if (excluded[e]->n_users() != held_out.n_users() || excluded[e]->n_items() != held_out.n_items())
      throw_invalid_argument(fn, ": excluded[", e, "] is ", excluded[e]->n_users(), " users x ",
                             excluded[e]->n_items(), " items but held_out is ", held_out.n_users(),
                             " x ", held_out.n_items());
  }
  for (std::size_t u = 0; u < held_out.n_users(); ++u) {
    const auto items = held_out.items_of(u);
    for (std::size_t p = 0; p < items.size(); ++p)
      for (std::size_t e = 0; e < excluded.size(); ++e)
        if (excluded[e]->contains(u, static_cast<std::size_t>(items[p])))
          throw_invalid_argument(fn, ": held-out pair (user ", u, ", item ", printable(items[p]),
                                 ") is also in excluded[", e,
                                 "]: its rank among the non-excluded items is undefined");
  }
}

}  // namespace detail

namespace detail {

// Validation shared by both entry points (see the header comment for what is rejected).
template <class Id>
void check_eval_call(const char* fn, std::size_t n_scorers, const interactions<Id>& held_out,
                     const std::vector<const interactions<Id>*>& excluded, const ranking_options& options) {
  if (n_scorers < 1 || n_scorers > 16)
    throw_invalid_argument(fn, ": n_scorers = ", n_scorers,
                           " must be in [1, 16] (M >= 0 modalities and the fused scorer last)");
  if (options.ties != tie_rule::lowest_id_first && options.ties != tie_rule::pessimistic)
    throw_invalid_argument(fn, ": options.ties = ", static_cast<int>(options.ties), " is not a tie_rule");
  if (options.ks.empty()) throw_invalid_argument(fn, ": options.ks is empty");
  for (std::size_t k = 0; k < options.ks.size(); ++k)
    if (options.ks[k] == 0) throw_invalid_argument(fn, ": options.ks[", k, "] = 0 must be >= 1");
  check_eval_stores(held_out, excluded, fn);
}

// Per evaluated user (index e into users, the users with >= 1 held-out item in id order): recall
// and ndcg per (scorer, k), the hit mask of each held-out pair per k (pairs in CSR order of
// held_out), the first non-finite score (bad_item = n_items when none) and what the host threw.
// Per-thread scratch of the ranking loops: the scores (one user's or a tile's) and the exclusion
// mask. An allocation failure must not leave the OpenMP region: the first one is kept in
// first_error (rethrown after the region) and the thread does no work.
template <class T>
struct eval_scratch {
  std::vector<T> scores;
  std::vector<unsigned char> mask;
  std::vector<std::size_t> ranks;
  bool ready = true;
  eval_scratch(std::size_t n_scores, std::size_t n_items, std::exception_ptr& first_error) {
    try {
      scores.resize(n_scores);
      mask.assign(n_items, 0);
    } catch (...) {
      ready = false;
#if BRMRS_HAS_OPENMP
#pragma omp critical(brmrs_eval_scratch_error)
#endif
      if (!first_error) first_error = std::current_exception();
    }
  }
};

template <class T, class Id>
struct eval_state {
  const interactions<Id>& held;
  const std::vector<const interactions<Id>*>& excluded;
  const ranking_options& opt;
  std::size_t S, nk, n_items;
  std::vector<std::size_t> users, pair_offset, bad_scorer, bad_item;
  std::vector<double> recall, ndcg;
  std::vector<std::uint32_t> pair_mask;
  std::vector<T> bad_value;
  std::vector<std::exception_ptr> error;

  eval_state(std::size_t S_, const interactions<Id>& h, const std::vector<const interactions<Id>*>& ex,
             const ranking_options& o)
      : held(h), excluded(ex), opt(o), S(S_), nk(o.ks.size()), n_items(h.n_items()) {
    for (std::size_t u = 0; u < h.n_users(); ++u)
      if (h.degree(u) > 0) users.push_back(u);
    const std::size_t n = users.size();
    pair_offset.assign(n + 1, 0);
    for (std::size_t e = 0; e < n; ++e) pair_offset[e + 1] = pair_offset[e] + h.degree(users[e]);
    recall.assign(n * S * nk, 0.0);
    ndcg.assign(n * S * nk, 0.0);
    pair_mask.assign(pair_offset[n] * nk, 0);
    bad_scorer.assign(n, 0);
    bad_item.assign(n, n_items);
    bad_value.assign(n, T(0));
    error.resize(n);
  }

  // Ranks user e's held-out items under scores (S x n_items, any row stride) and stores the
  // user's results. mask (n_items zeros) and ranks are the calling thread's scratch; mask is
  // left all zeros again.
  void rank_user(std::size_t e, matrix_view<const T> scores, std::vector<unsigned char>& mask,
                 std::vector<std::size_t>& ranks) {
    for (std::size_t s = 0; s < S; ++s)
      for (std::size_t j = 0; j < n_items; ++j)
        if (!std::isfinite(scores(s, j))) {
          bad_scorer[e] = s;
          bad_item[e] = j;
          bad_value[e] = scores(s, j);
          return;
        }
    const std::size_t u = users[e];
    for (const auto* ex : excluded)
      for (const Id i : ex->items_of(u)) mask[static_cast<std::size_t>(i)] = 1;
    const auto items = held.items_of(u);
    const std::size_t h = items.size();
    ranks.assign(S * h, 0);
    for (std::size_t s = 0; s < S; ++s)
      for (std::size_t p = 0; p < h; ++p)
        ranks[s * h + p] = rank_of_item(scores.row_view(s), static_cast<std::size_t>(items[p]),
                                        vector_view<const unsigned char>(mask.data(), n_items), opt.ties);
    for (std::size_t k = 0; k < nk; ++k) {
      const std::size_t K = opt.ks[k];
      double idcg = 0.0;
      for (std::size_t r = 1; r <= std::min(h, K); ++r) idcg += discount(r);
      for (std::size_t s = 0; s < S; ++s) {
        std::size_t hits = 0;
        double dcg = 0.0;
        for (std::size_t p = 0; p < h; ++p) {
          const std::size_t r = ranks[s * h + p];
          if (r <= K) {
            ++hits;
            dcg += discount(r);
            pair_mask[(pair_offset[e] + p) * nk + k] |= (1u << s);
          }
        }
        recall[(e * S + s) * nk + k] = double(hits) / double(h);
        ndcg[(e * S + s) * nk + k] = dcg / idcg;
      }
    }
    for (const auto* ex : excluded)
      for (const Id i : ex->items_of(u)) mask[static_cast<std::size_t>(i)] = 0;
  }

  // Rethrows the lowest user's error (host exception or non-finite score), then sums the
  // per-user results in user order: the report does not depend on threads or tiling.
  ranking_report report(const char* fn) const {
    const std::size_t n = users.size(), n_patterns = std::size_t(1) << S;
    for (std::size_t e = 0; e < n; ++e) {
      if (error[e]) std::rethrow_exception(error[e]);
      if (bad_item[e] != n_items)
        throw_invalid_argument(fn, ": score of user ", users[e], ", scorer ", bad_scorer[e], ", item ",
                               bad_item[e], " = ", bad_value[e], " is not finite");
    }
    ranking_report rep;
    rep.ks = opt.ks;
    rep.n_scorers = S;
    rep.users = n;
    rep.pairs = pair_offset[n];
    rep.recall.assign(S * nk, 0.0);
    rep.ndcg.assign(S * nk, 0.0);
    rep.pattern_counts.assign(nk * n_patterns, 0);
    for (std::size_t e = 0; e < n; ++e)
      for (std::size_t i = 0; i < S * nk; ++i) {
        rep.recall[i] += recall[e * S * nk + i];
        rep.ndcg[i] += ndcg[e * S * nk + i];
      }
    if (n > 0)
      for (std::size_t i = 0; i < S * nk; ++i) {
        rep.recall[i] /= double(n);
        rep.ndcg[i] /= double(n);
      }
    for (std::size_t p = 0; p < rep.pairs; ++p)
      for (std::size_t k = 0; k < nk; ++k) ++rep.pattern_counts[k * n_patterns + pair_mask[p * nk + k]];
    return rep;
  }
};

}  // namespace detail

// Ranks every held-out pair of `held_out` under each of n_scorers scorers, excluding the items
// of every store in `excluded`, and returns Recall@K, NDCG@K and the hit patterns (see the
// header comment). score_user(u, scores) is called once per user with >= 1 held-out item and
// must fill scores (a matrix_view<T>, n_scorers x n_items, rows contiguous): row s = scorer s,
// the fused scorer last.
template <class T, class Id, class ScoreFn>
ranking_report evaluate_ranking(std::size_t n_scorers, const interactions<Id>& held_out,
                                const std::vector<const interactions<Id>*>& excluded, ScoreFn&& score_user,
                                const ranking_options& options = {}) {
  constexpr const char* fn = "brmrs::evaluate_ranking";
  detail::check_eval_call(fn, n_scorers, held_out, excluded, options);
  detail::eval_state<T, Id> st(n_scorers, held_out, excluded, options);
  const std::size_t S = n_scorers, n_items = held_out.n_items();
  const long long n_eval = static_cast<long long>(st.users.size());
  const bool par = options.parallel;
  (void)par;
  // An exception must not leave an OpenMP region (that would call std::terminate): what the
  // host's scorer (or an allocation) throws is kept per user and rethrown after the region,
  // the lowest user first, so the error does not depend on the thread count.
  std::exception_ptr scratch_error;
#if BRMRS_HAS_OPENMP
#pragma omp parallel if (par)
#endif
  {
    detail::eval_scratch<T> sc(S * n_items, n_items, scratch_error);
#if BRMRS_HAS_OPENMP
#pragma omp for schedule(static)
#endif
    for (long long ei = 0; ei < n_eval; ++ei) {
      if (!sc.ready) continue;
      const std::size_t e = static_cast<std::size_t>(ei);
      try {
        score_user(st.users[e], matrix_view<T>(sc.scores.data(), S, n_items));
        st.rank_user(e, matrix_view<const T>(sc.scores.data(), S, n_items), sc.mask, sc.ranks);
      } catch (...) {
        st.error[e] = std::current_exception();
      }
    }
  }
  if (scratch_error) std::rethrow_exception(scratch_error);
  return st.report(fn);
}

// The same report as evaluate_ranking (bitwise: the same per-user ranking, summed in the same
// order), with the scores supplied a tile of users at a time, so the host can fill a tile by one
// matrix product per scorer (users x d times d x n_items) and the ranking reads it while it is
// still in cache. score_block(users, tile) is called for consecutive runs of up to block_users
// users with >= 1 held-out item (users: vector_view<const std::size_t>, ascending ids) and must
// fill tile (a matrix_view<T> of n_scorers * users.size() rows x n_items, rows contiguous): row
// s * users.size() + r = scorer s for users[r], the fused scorer last. Tiles are dealt to
// threads dynamically; each thread holds one tile of scratch (block_users * n_scorers * n_items
// values) for the whole call, nothing is allocated per user. block_users = 0 picks 64.
// Errors are as evaluate_ranking's; what score_block throws is reported for the tile's first
// user.
template <class T, class Id, class ScoreBlockFn>
ranking_report evaluate_ranking_blocked(std::size_t n_scorers, const interactions<Id>& held_out,
                                        const std::vector<const interactions<Id>*>& excluded,
                                        ScoreBlockFn&& score_block, const ranking_options& options = {},
                                        std::size_t block_users = 0) {
  constexpr const char* fn = "brmrs::evaluate_ranking_blocked";
  detail::check_eval_call(fn, n_scorers, held_out, excluded, options);
  detail::eval_state<T, Id> st(n_scorers, held_out, excluded, options);
  const std::size_t S = n_scorers, n_items = held_out.n_items(), n_eval = st.users.size();
  const std::size_t bu = block_users == 0 ? 64 : block_users;
  const long long n_tiles = static_cast<long long>((n_eval + bu - 1) / bu);
  const bool par = options.parallel;
  (void)par;
  std::exception_ptr scratch_error;
#if BRMRS_HAS_OPENMP
#pragma omp parallel if (par)
#endif
  {
    detail::eval_scratch<T> sc(std::min(bu, n_eval) * S * n_items, n_items, scratch_error);
#if BRMRS_HAS_OPENMP
#pragma omp for schedule(dynamic, 1)
#endif
    for (long long t = 0; t < n_tiles; ++t) {
      if (!sc.ready) continue;
      const std::size_t e0 = static_cast<std::size_t>(t) * bu, n = std::min(bu, n_eval - e0);
      try {
        score_block(vector_view<const std::size_t>(st.users.data() + e0, n),
                    matrix_view<T>(sc.scores.data(), S * n, n_items));
      } catch (...) {
        st.error[e0] = std::current_exception();
        continue;
      }
      for (std::size_t r = 0; r < n; ++r) {
        try {
          st.rank_user(e0 + r, matrix_view<const T>(sc.scores.data() + r * n_items, S, n_items, n * n_items),
                       sc.mask, sc.ranks);
        } catch (...) {
          st.error[e0 + r] = std::current_exception();
        }
      }
    }
  }
  if (scratch_error) std::rethrow_exception(scratch_error);
  return st.report(fn);
}

BRMRS_END_NAMESPACE
