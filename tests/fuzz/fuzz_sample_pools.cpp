// Fuzz target: brmrs::sample_pools with shapes from the bytes: B from 0, K from 0 to 2^64 - 1,
// n_items up to 2^62 (64-bit ids) or 2^31 - 1 (32-bit), users with no free item, user ids out
// of range, example_offset at and past the 2^32 limit, negatives of the wrong size, an unknown
// negative_source, padded pool rows, and outputs placed over the users or over each other.
// Contract: brmrs::invalid_argument exactly when an argument is bad (computed here from the
// documented preconditions), and then every byte of the caller's buffers is unchanged (they
// share one poisoned arena). Otherwise every pool slot is the draw of the definition,
// computed here independently: r = uniform_below(philox_draw64(seed, step, e, k), n_free) and
// the r-th unobserved id found by walking the user's observed items; so it is never observed
// and always below n_items. The negative is the pool member of pool_negative_slot, or the
// complement draw of slot K; the row padding and everything outside the outputs is unchanged.
#include <brmrs/sampler.hpp>

#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "fuzz_common.hpp"

namespace {

using U = std::uint64_t;

// The r-th id in [0, n) not in the sorted `observed` (a plain walk: the reference).
template <class Id>
U walk_unobserved(const brmrs::vector_view<const Id>& observed, U r) {
  U id = r;
  for (Id o : observed) {
    if (static_cast<U>(o) <= id)
      ++id;
    else
      break;
  }
  return id;
}

template <class Id>
void run(fuzz::bytes& in) {
  constexpr U id_max = static_cast<U>(std::numeric_limits<Id>::max());
  // --- the observed store ---
  const U n_users = in.in(1, 8);
  U n_items;
  switch (in.u8() % 4) {
    case 0: n_items = in.in(1, 8); break;  // users who observed everything are likely
    case 1: n_items = in.in(1, 80); break;
    case 2: n_items = id_max - in.u8() % 4; break;
    default: n_items = sizeof(Id) == 8 ? (in.flag() ? 3000000000ull : (U(1) << 62) + in.u8()) : (U(1) << 31) - 1; break;
  }
  std::vector<Id> ou, oi;
  for (U u = 0; u < n_users; ++u) {
    if (n_items <= 8 && in.u8() < 64) {  // every item: no free item left
      for (U i = 0; i < n_items; ++i) ou.push_back(Id(u)), oi.push_back(Id(i));
      continue;
    }
    const U deg = in.u8() % 12;
    for (U d = 0; d < deg; ++d) {
      const U i = n_items <= 256 ? in.u8() % n_items : (in.flag() ? in.u8() : in.u64() % n_items);
      ou.push_back(Id(u));
      oi.push_back(Id(i));
      if (in.u8() < 40) ou.push_back(Id(u)), oi.push_back(Id(i));  // duplicate pair
    }
  }
  const auto observed = brmrs::interactions<Id>::from_pairs(n_users, n_items, ou, oi);

  // --- the call's shape ---
  const std::size_t B = in.in(0, 12);
  U K = in.size(70);
  if (K < (U(1) << 32) && K > 4096) K %= 71;  // valid but gigabytes of pool: not from a fuzz input
  const std::size_t pad = in.u8() % 3;
  const std::size_t stride = K < (U(1) << 32) ? K + pad : K;
  const std::size_t neg_kind = in.u8() % 8;  // 0-4: none; 5, 6: B; 7: B +- 1
  std::size_t n_neg = neg_kind < 5 ? 0 : neg_kind < 7 ? B : (in.flag() ? B + 1 : (B ? B - 1 : 1));
  U offset = 0;
  switch (in.u8() % 4) {
    case 0: offset = 0; break;
    case 1: offset = in.u32(); break;
    case 2: offset = (U(1) << 32) - B + (in.u8() % 3); break;
    default: offset = in.size(8); break;
  }
  const U seed = in.u64(), step = in.u64();
  const std::uint8_t src_sel = in.u8();
  const auto source = static_cast<brmrs::negative_source>(src_sel < 120 ? 0 : src_sel < 250 ? 1 : 2 + src_sel % 3);
  const int alias = in.u8() % 10;  // 0-6 disjoint; 7 pools over users; 8 negatives over pools; 9 over users

  // --- the arena: users, pools, negatives, in one poisoned buffer ---
  const bool pools_fit = K < (U(1) << 32);
  // A K of 2^32 or more must be refused before the view is touched: it gets one element of memory.
  const std::size_t pool_extent = B == 0 ? 0 : pools_fit ? (B - 1) * stride + K : 1;
  std::size_t at_users = 0, at_pools = B + 1, at_neg = at_pools + pool_extent + 1;
  if (alias == 7 && B > 0) at_pools = in.u8() % B;
  if (alias == 8 && pool_extent > 0) at_neg = at_pools + in.u8() % pool_extent;
  if (alias == 9 && B > 0) at_neg = in.u8() % B;
  const std::size_t n_elems = std::max({at_users + B, at_pools + pool_extent, at_neg + n_neg}) + 4;
  fuzz::poisoned arena(n_elems * sizeof(Id));
  Id* base = reinterpret_cast<Id*>(arena.base());
  for (std::size_t b = 0; b < B; ++b) {
    const std::uint8_t sel = in.u8();
    base[at_users + b] = sel < 230 ? Id(sel % n_users) : sel < 245 ? Id(n_users + sel % 2) : Id(-1);
  }
  const std::vector<unsigned char> before = arena.snapshot();
  const Id* users = base + at_users;
  Id* pools = base + at_pools;
  Id* negs = n_neg ? base + at_neg : nullptr;

  // --- the reference: is any argument bad? ---
  bool bad = K == 0 || K >= (U(1) << 32);
  bad = bad || (n_neg != 0 && n_neg != B);
  bad = bad || B > (U(1) << 32) || offset > (U(1) << 32) - B;
  bad = bad || static_cast<unsigned>(source) > 1;
  const std::size_t id = sizeof(Id);
  bad = bad || fuzz::bytes_overlap(pools, pool_extent * id, users, B * id);
  bad = bad || fuzz::bytes_overlap(negs, n_neg * id, users, B * id);
  bad = bad || fuzz::bytes_overlap(negs, n_neg * id, pools, pool_extent * id);
  for (std::size_t b = 0; b < B; ++b) {
    const Id u = users[b];
    if (u < 0 || static_cast<U>(u) >= n_users) {
      bad = true;
    } else if (observed.degree(static_cast<U>(u)) >= n_items) {
      bad = true;  // no free item
    }
  }

  if (std::getenv("FUZZ_DEBUG")) std::fprintf(stderr, "B=%zu K=%llu n_neg=%zu off=%llu src=%u alias=%d n_items=%llu\n", B, (unsigned long long)K, n_neg, (unsigned long long)offset, unsigned(source), alias, (unsigned long long)n_items);
  const brmrs::matrix_view<Id> pv(pools, B, K, stride);
  try {
    brmrs::sample_pools<Id>(observed, brmrs::vector_view<const Id>(users, B), seed, step, offset, pv,
                            brmrs::vector_view<Id>(negs, n_neg), source);
  } catch (const brmrs::invalid_argument&) {
    FUZZ_CHECK(bad);
    FUZZ_CHECK(arena.snapshot() == before);
    return;
  }
  FUZZ_CHECK(!bad);
  // Every pool slot and negative is the definition's draw; nothing else changed.
  std::vector<unsigned char> expect = before;
  Id* ex = reinterpret_cast<Id*>(expect.data());
  for (std::size_t b = 0; b < B; ++b) {
    const U u = static_cast<U>(users[b]);
    const auto row = observed.items_of(u);
    const U n_free = n_items - row.size();
    const U e = offset + b;
    for (U k = 0; k < K; ++k) {
      const U want = walk_unobserved(row, brmrs::uniform_below(brmrs::philox_draw64(seed, step, e, k), n_free));
      const Id got = pools[b * stride + k];
      FUZZ_CHECK(got >= 0 && static_cast<U>(got) < n_items && !observed.contains(u, static_cast<U>(got)));
      FUZZ_CHECK(static_cast<U>(got) == want);
      ex[at_pools + b * stride + k] = static_cast<Id>(want);
    }
    if (n_neg) {
      const U want = source == brmrs::negative_source::pool_member
                         ? static_cast<U>(pools[b * stride + brmrs::pool_negative_slot(seed, step, e, K)])
                         : walk_unobserved(row, brmrs::uniform_below(brmrs::philox_draw64(seed, step, e, K), n_free));
      FUZZ_CHECK(static_cast<U>(negs[b]) == want && !observed.contains(u, want));
      ex[at_neg + b] = static_cast<Id>(want);
    }
  }
  FUZZ_CHECK(arena.snapshot() == expect);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::bytes in(data, size);
  if (in.flag())
    run<std::int32_t>(in);
  else
    run<std::int64_t>(in);
  return 0;
}
