// brmrs/interactions.hpp — each user's observed items as a compressed sparse row (CSR) store.
//
// interactions<Id> holds, for users 0..n_users-1, the sorted list of distinct item ids in
// [0, n_items) the user interacted with. It is what the negative sampler (sampler.hpp) excludes
// and what an evaluator masks. Layout (what the CUDA backend uploads as is):
//   offsets()  n_users + 1 row pointers, int64, offsets()[0] = 0, non-decreasing
//   indices()  nnz item ids; items_of(u) = indices()[offsets()[u] .. offsets()[u+1]), strictly
//              increasing
// Construction:
//   from_pairs(n_users, n_items, users, items)  any order, duplicates merged.
//     Cost O(nnz log(max degree)) time, O(nnz + n_users) memory, one pass to validate.
//   from_csr(n_users, n_items, offsets, indices)  takes ownership of ready CSR arrays after
//     checking them in one O(nnz + n_users) pass (rows must already be sorted and unique).
// Queries: degree, items_of O(1); contains O(log degree).
// Throws brmrs::invalid_argument, naming the argument, position and value, for: users/items of
// different lengths, an id that is negative or not below n_users / n_items, an n_items that Id
// cannot represent, and (from_csr) offsets that do not start at 0, decrease or do not end at nnz,
// or a row that is not strictly increasing. Nothing is clamped or dropped except exact duplicate
// pairs, which from_pairs merges by definition.
// Guarantee: an interactions object is immutable and always satisfies the invariants above, so
// readers (any number of threads) need no checks of their own.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <utility>
#include <vector>

#include "config.hpp"
#include "error.hpp"
#include "validate.hpp"
#include "views.hpp"

BRMRS_BEGIN_NAMESPACE

template <class Id = std::int32_t>
class interactions {
  static_assert(std::is_integral_v<Id> && !std::is_same_v<Id, bool>, "Id must be an integer type");

 public:
  using id_type = Id;

  interactions() = default;

  // Builds the store from (users[p], items[p]) pairs, p = 0..size-1, in any order.
  static interactions from_pairs(std::size_t n_users, std::size_t n_items, vector_view<const Id> users,
                                 vector_view<const Id> items) {
    constexpr const char* fn = "brmrs::interactions::from_pairs";
    check_counts(fn, n_users, n_items);
    if (users.size() != items.size())
      detail::throw_invalid_argument(fn, ": users has size ", users.size(), " but items has size ",
                                     items.size(), " (one item per user, pairwise)");
    detail::check_ids_in_range(fn, "users", users, n_users);
    detail::check_ids_in_range(fn, "items", items, n_items);

    interactions out;
    out.n_users_ = n_users;
    out.n_items_ = n_items;
    // Counting sort by user, then sort + unique within each row, then compact in place.
    std::vector<std::int64_t> start(n_users + 1, 0);
    for (std::size_t p = 0; p < users.size(); ++p) ++start[static_cast<std::size_t>(users[p]) + 1];
    for (std::size_t u = 0; u < n_users; ++u) start[u + 1] += start[u];
    std::vector<Id> idx(users.size());
    {
      std::vector<std::int64_t> fill(start.begin(), start.end() - 1);
      for (std::size_t p = 0; p < users.size(); ++p)
        idx[static_cast<std::size_t>(fill[static_cast<std::size_t>(users[p])]++)] = items[p];
    }
    out.offsets_.assign(n_users + 1, 0);
    std::size_t write = 0;
    for (std::size_t u = 0; u < n_users; ++u) {
      auto first = idx.begin() + start[u];
      auto last = idx.begin() + start[u + 1];
      std::sort(first, last);
      last = std::unique(first, last);
      // Rows move left only (write <= start[u]), so the compaction never overwrites unread data.
      write = static_cast<std::size_t>(
          std::move(first, last, idx.begin() + static_cast<std::ptrdiff_t>(write)) - idx.begin());
      out.offsets_[u + 1] = static_cast<std::int64_t>(write);
    }
    idx.resize(write);
    idx.shrink_to_fit();
    out.indices_ = std::move(idx);
    return out;
  }

  static interactions from_pairs(std::size_t n_users, std::size_t n_items, const std::vector<Id>& users,
                                 const std::vector<Id>& items) {
    return from_pairs(n_users, n_items, vector_view<const Id>(users.data(), users.size()),
                      vector_view<const Id>(items.data(), items.size()));
  }

  // Takes ready CSR arrays (see the header comment for the layout) after validating them.
  static interactions from_csr(std::size_t n_users, std::size_t n_items, std::vector<std::int64_t> offsets,
                               std::vector<Id> indices) {
    constexpr const char* fn = "brmrs::interactions::from_csr";
    check_counts(fn, n_users, n_items);
    if (offsets.size() != n_users + 1)
      detail::throw_invalid_argument(fn, ": offsets has size ", offsets.size(),
                                     ", expected n_users + 1 = ", n_users + 1);
    if (offsets[0] != 0) detail::throw_invalid_argument(fn, ": offsets[0] = ", offsets[0], " must be 0");
    for (std::size_t u = 0; u < n_users; ++u)
      if (offsets[u + 1] < offsets[u])
        detail::throw_invalid_argument(fn, ": offsets[", u + 1, "] = ", offsets[u + 1],
                                       " is smaller than offsets[", u, "] = ", offsets[u]);
    if (static_cast<std::uint64_t>(offsets[n_users]) != indices.size())
      detail::throw_invalid_argument(fn, ": offsets[n_users] = ", offsets[n_users],
                                     " does not equal indices.size() = ", indices.size());
    detail::check_ids_in_range(fn, "indices", vector_view<const Id>(indices.data(), indices.size()), n_items);
    for (std::size_t u = 0; u < n_users; ++u)
      for (auto p = offsets[u] + 1; p < offsets[u + 1]; ++p)
        if (!(indices[static_cast<std::size_t>(p - 1)] < indices[static_cast<std::size_t>(p)]))
          detail::throw_invalid_argument(fn, ": indices[", p,
                                         "] = ", detail::printable(indices[static_cast<std::size_t>(p)]),
                                         " (user ", u, ") is not greater than indices[", p - 1,
                                         "] = ", detail::printable(indices[static_cast<std::size_t>(p - 1)]),
                                         " (each user's items must be strictly increasing)");
    interactions out;
    out.n_users_ = n_users;
    out.n_items_ = n_items;
    out.offsets_ = std::move(offsets);
    out.indices_ = std::move(indices);
    return out;
  }

  std::size_t n_users() const noexcept { return n_users_; }
  std::size_t n_items() const noexcept { return n_items_; }
  std::size_t nnz() const noexcept { return indices_.size(); }

  // Number of distinct items user u observed. Precondition u < n_users() (asserted).
  std::size_t degree(std::size_t u) const noexcept {
    BRMRS_ASSERT(u < n_users_);
    return static_cast<std::size_t>(offsets_[u + 1] - offsets_[u]);
  }

  // The observed items of user u, strictly increasing. Precondition u < n_users() (asserted).
  vector_view<const Id> items_of(std::size_t u) const noexcept {
    BRMRS_ASSERT(u < n_users_);
    return vector_view<const Id>(indices_.data() + offsets_[u], degree(u));
  }

  // Row pointers (n_users + 1 entries) and item ids.
  vector_view<const std::int64_t> offsets() const noexcept {
    return vector_view<const std::int64_t>(offsets_.data(), offsets_.size());
  }
  vector_view<const Id> indices() const noexcept {
    return vector_view<const Id>(indices_.data(), indices_.size());
  }

  // Whether user u observed item i. False for any i outside [0, n_items).
  // Precondition u < n_users() (asserted).
  bool contains(std::size_t u, std::size_t i) const noexcept {
    if (i >= n_items_) return false;
    const auto row = items_of(u);
    return std::binary_search(row.begin(), row.end(), static_cast<Id>(i));
  }

 private:
  static void check_counts(const char* fn, std::size_t n_users, std::size_t n_items) {
    // Every item id below n_items must be representable in Id, and the sampler computes with
    // signed 64-bit offsets.
    constexpr auto id_max = static_cast<std::uint64_t>(std::numeric_limits<Id>::max());
    if (n_items > 0 && static_cast<std::uint64_t>(n_items - 1) > id_max)
      detail::throw_invalid_argument(fn, ": n_items = ", n_items,
                                     " has ids that the id type cannot represent (max ", id_max, ")");
    if (n_users > 0 && static_cast<std::uint64_t>(n_users - 1) > id_max)
      detail::throw_invalid_argument(fn, ": n_users = ", n_users,
                                     " has ids that the id type cannot represent (max ", id_max, ")");
  }

  std::size_t n_users_ = 0;
  std::size_t n_items_ = 0;
  std::vector<std::int64_t> offsets_ = std::vector<std::int64_t>(1, 0);  // n_users + 1 entries
  std::vector<Id> indices_;
};

BRMRS_END_NAMESPACE
