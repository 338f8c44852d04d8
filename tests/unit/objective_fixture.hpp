// Shared by the objective tests: random tables and batches owned by one struct, views over them,
// a finite-difference helper and tolerances. Not a test file itself (no test_ prefix).
#pragma once

#include <brmrs/objective.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <random>
#include <vector>

namespace brmrs_test {

template <class T, class Id = std::int32_t>
struct problem {
  std::size_t M = 2, B = 4, K = 4, n_users = 3, n_items = 8, d_f = 3;
  std::vector<std::size_t> dims;
  bool shared_user = false;
  bool given_negatives = false;
  // Storage. With shared_user, user_data[0] serves every modality.
  std::vector<std::vector<T>> user_data, item_data;
  std::vector<T> fused_user_data, fused_item_data;
  std::vector<Id> users, positives, pools, negatives;
  brmrs::objective_config<T> config;

  brmrs::dot_tables<T> tables() const {
    brmrs::dot_tables<T> t;
    for (std::size_t m = 0; m < M; ++m) {
      const auto& u = user_data[shared_user ? 0 : m];
      t.user.push_back(brmrs::matrix_view<const T>(u.data(), n_users, dims[m]));
      t.item.push_back(brmrs::matrix_view<const T>(item_data[m].data(), n_items, dims[m]));
    }
    t.fused_user = brmrs::matrix_view<const T>(fused_user_data.data(), n_users, d_f);
    t.fused_item = brmrs::matrix_view<const T>(fused_item_data.data(), n_items, d_f);
    return t;
  }
  brmrs::batch<Id> make_batch() const {
    brmrs::batch<Id> b;
    b.users = {users.data(), B};
    b.positives = {positives.data(), B};
    b.pools = {pools.data(), B, K};
    if (given_negatives) b.negatives = {negatives.data(), B};
    return b;
  }
  // Every table entry, in a fixed order, for finite differences (a shared user table once).
  std::vector<T*> parameters() {
    std::vector<T*> p;
    for (std::size_t m = 0; m < (shared_user ? 1 : M); ++m)
      for (auto& x : user_data[m]) p.push_back(&x);
    for (auto& v : item_data)
      for (auto& x : v) p.push_back(&x);
    for (auto& x : fused_user_data) p.push_back(&x);
    for (auto& x : fused_item_data) p.push_back(&x);
    return p;
  }
};

// Random problem: entries uniform in [-1, 1], ids uniform; pools never contain the positive.
template <class T, class Id = std::int32_t>
problem<T, Id> random_problem(std::uint64_t seed, std::size_t M, std::size_t d, bool shared_user,
                              std::size_t B = 4, std::size_t K = 4, std::size_t n_users = 3,
                              std::size_t n_items = 8, std::size_t d_f = 0) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> unif(-1.0, 1.0);
  problem<T, Id> p;
  p.M = M;
  p.B = B;
  p.K = K;
  p.n_users = n_users;
  p.n_items = n_items;
  p.d_f = d_f ? d_f : d;
  p.shared_user = shared_user;
  // Modalities may differ in width; with a shared user table they must not.
  for (std::size_t m = 0; m < M; ++m) p.dims.push_back(shared_user ? d : d + (m % 2));
  p.user_data.resize(shared_user ? 1 : M);
  for (std::size_t m = 0; m < p.user_data.size(); ++m) {
    p.user_data[m].resize(n_users * p.dims[m]);
    for (auto& x : p.user_data[m]) x = static_cast<T>(unif(rng));
  }
  p.item_data.resize(M);
  for (std::size_t m = 0; m < M; ++m) {
    p.item_data[m].resize(n_items * p.dims[m]);
    for (auto& x : p.item_data[m]) x = static_cast<T>(unif(rng));
  }
  p.fused_user_data.resize(n_users * p.d_f);
  p.fused_item_data.resize(n_items * p.d_f);
  for (auto& x : p.fused_user_data) x = static_cast<T>(unif(rng));
  for (auto& x : p.fused_item_data) x = static_cast<T>(unif(rng));
  std::uniform_int_distribution<std::uint64_t> uu(0, n_users - 1), ui(0, n_items - 1);
  for (std::size_t b = 0; b < B; ++b) {
    p.users.push_back(static_cast<Id>(uu(rng)));
    const Id pos = static_cast<Id>(ui(rng));
    p.positives.push_back(pos);
    for (std::size_t k = 0; k < K; ++k) {
      Id j;
      do j = static_cast<Id>(ui(rng));
      while (j == pos);
      p.pools.push_back(j);
    }
    Id n;
    do n = static_cast<Id>(ui(rng));
    while (n == pos);
    p.negatives.push_back(n);
  }
  p.config.seed = seed;
  p.config.step = 3;
  return p;
}

// The smallest gap between the best and the second-best distinct candidate score of any
// (example, modality): selection is piecewise constant, so finite differences are only valid
// when a perturbation of size h cannot change the argmax. Duplicate ids in a pool tie exactly
// and are harmless (the same id wins either way), so they are skipped.
template <class T, class Id>
double min_argmax_gap(const problem<T, Id>& p) {
  const auto t = p.tables();
  double gap = std::numeric_limits<double>::infinity();
  for (std::size_t b = 0; b < p.B; ++b)
    for (std::size_t m = 0; m < p.M; ++m) {
      const T* u = t.user[m].row(static_cast<std::size_t>(p.users[b]));
      std::vector<std::pair<double, Id>> s;
      for (std::size_t k = 0; k < p.K; ++k) {
        const Id j = p.pools[b * p.K + k];
        double v = 0;
        for (std::size_t i = 0; i < p.dims[m]; ++i) v += double(u[i]) * double(t.item[m](static_cast<std::size_t>(j), i));
        s.push_back({v, j});
      }
      std::sort(s.begin(), s.end(), [](auto& a, auto& c) { return a.first > c.first; });
      for (std::size_t k = 1; k < s.size(); ++k)
        if (s[k].second != s[0].second) {
          gap = std::min(gap, s[0].first - s[k].first);
          break;
        }
    }
  return gap;
}

// The smallest gap between the largest and second-largest unimodal margin Δ_m of any example,
// over both possible negatives (given, or the pool member drawn from the problem's config):
// the hard max over Δ_m is piecewise linear, so through_max differences need a gap too.
template <class T, class Id>
double min_margin_gap(const problem<T, Id>& p) {
  const auto t = p.tables();
  double gap = std::numeric_limits<double>::infinity();
  auto score = [&](std::size_t m, std::size_t u, std::size_t i) {
    double v = 0;
    for (std::size_t c = 0; c < p.dims[m]; ++c) v += double(t.user[m](u, c)) * double(t.item[m](i, c));
    return v;
  };
  for (std::size_t b = 0; b < p.B; ++b)
    for (int given = 0; given < 2; ++given) {
      const std::size_t u = static_cast<std::size_t>(p.users[b]), ip = static_cast<std::size_t>(p.positives[b]);
      const std::size_t slot = brmrs::pool_negative_slot(p.config.seed, p.config.step, p.config.example_offset + b, p.K);
      const std::size_t in = static_cast<std::size_t>(given ? p.negatives[b] : p.pools[b * p.K + slot]);
      std::vector<double> d;
      for (std::size_t m = 0; m < p.M; ++m) d.push_back(score(m, u, ip) - score(m, u, in));
      std::sort(d.begin(), d.end(), std::greater<double>());
      gap = std::min(gap, d[0] - d[1]);
    }
  return gap;
}

// Table-shaped gradient buffers matching a problem (one buffer for a shared user table).
template <class T>
struct table_buffers {
  std::vector<std::vector<T>> user, item;
  std::vector<T> fused_user, fused_item;
  template <class Id>
  explicit table_buffers(const problem<T, Id>& p, T fill = T(0)) {
    user.resize(p.shared_user ? 1 : p.M);
    for (std::size_t m = 0; m < user.size(); ++m) user[m].assign(p.n_users * p.dims[m], fill);
    item.resize(p.M);
    for (std::size_t m = 0; m < p.M; ++m) item[m].assign(p.n_items * p.dims[m], fill);
    fused_user.assign(p.n_users * p.d_f, fill);
    fused_item.assign(p.n_items * p.d_f, fill);
  }
  template <class Id>
  brmrs::table_gradients<T> views(const problem<T, Id>& p) {
    brmrs::table_gradients<T> g;
    for (std::size_t m = 0; m < p.M; ++m) {
      g.user.push_back({user[p.shared_user ? 0 : m].data(), p.n_users, p.dims[m]});
      g.item.push_back({item[m].data(), p.n_items, p.dims[m]});
    }
    g.fused_user = {fused_user.data(), p.n_users, p.d_f};
    g.fused_item = {fused_item.data(), p.n_items, p.d_f};
    return g;
  }
  // Same order as problem::parameters().
  std::vector<T> flat() const {
    std::vector<T> f;
    for (auto& v : user) f.insert(f.end(), v.begin(), v.end());
    for (auto& v : item) f.insert(f.end(), v.begin(), v.end());
    f.insert(f.end(), fused_user.begin(), fused_user.end());
    f.insert(f.end(), fused_item.begin(), fused_item.end());
    return f;
  }
};

// Per-example gradient row buffers matching a problem.
template <class T>
struct row_buffers {
  std::vector<std::vector<T>> user, positive, negative, hard;
  std::vector<T> fused_user, fused_positive, fused_negative;
  template <class Id>
  explicit row_buffers(const problem<T, Id>& p, T fill = T(0)) {
    for (std::size_t m = 0; m < p.M; ++m) {
      user.emplace_back(p.B * p.dims[m], fill);
      positive.emplace_back(p.B * p.dims[m], fill);
      negative.emplace_back(p.B * p.dims[m], fill);
      hard.emplace_back(p.B * p.M * p.dims[m], fill);
    }
    fused_user.assign(p.B * p.d_f, fill);
    fused_positive.assign(p.B * p.d_f, fill);
    fused_negative.assign(p.B * p.d_f, fill);
  }
  template <class Id>
  brmrs::gradient_rows<T> views(const problem<T, Id>& p) {
    brmrs::gradient_rows<T> r;
    for (std::size_t m = 0; m < p.M; ++m) {
      r.user.push_back({user[m].data(), p.B, p.dims[m]});
      r.positive.push_back({positive[m].data(), p.B, p.dims[m]});
      r.negative.push_back({negative[m].data(), p.B, p.dims[m]});
      r.hard.push_back({hard[m].data(), p.B * p.M, p.dims[m]});
    }
    r.fused_user = {fused_user.data(), p.B, p.d_f};
    r.fused_positive = {fused_positive.data(), p.B, p.d_f};
    r.fused_negative = {fused_negative.data(), p.B, p.d_f};
    return r;
  }
};

// |a - b| <= tol * max(1, |a|, |b|): relative for large values, absolute below 1.
inline bool close(double a, double b, double tol) {
  return std::fabs(a - b) <= tol * std::max({1.0, std::fabs(a), std::fabs(b)});
}

}  // namespace brmrs_test
