// Fuzz target: brmrs::interactions<Id>::from_pairs (and from_csr fed its result back) for
// Id = int8, int16, int32, int64, with counts from 0 to 2^64 - 1, ids in and out of range,
// negative ids, duplicate pairs, mismatched lengths. A std::set per user is the reference:
//   - throw exactly when the reference finds a bad argument (lengths differ, an id negative or
//     not below its count, a count whose ids Id cannot represent), and then the inputs are unchanged;
//   - otherwise the CSR holds exactly the reference's distinct pairs, rows strictly increasing,
//     offsets from 0 to nnz, and contains() agrees with the reference for every (u, i) probed.
// Counts above 2^16 users are only used where they must be refused (from_pairs allocates
// n_users + 1 row pointers by design); huge n_items are used freely (no per-item memory).
#include <brmrs/interactions.hpp>

#include <cstdint>
#include <cstring>
#include <limits>
#include <set>
#include <type_traits>
#include <vector>

#include "fuzz_common.hpp"

namespace {

template <class Id>
void run(fuzz::bytes& in) {
  using U = std::uint64_t;
  constexpr U id_max = static_cast<U>(std::numeric_limits<Id>::max());
  U n_users = in.size(40), n_items = in.size(40);
  // A count the id type cannot represent must be refused; one it can, above 2^16 users, would
  // make the harness allocate gigabytes of row pointers: keep it out.
  const bool users_too_many = n_users > 0 && n_users - 1 > id_max;
  if (!users_too_many && n_users > (U(1) << 16)) n_users %= 64;
  const std::size_t n_pairs = in.in(0, 48);
  const std::size_t n_items_len = in.u8() < 16 ? n_pairs + in.in(1, 3) : n_pairs;  // sometimes mismatched
  std::vector<Id> users(n_pairs), items(n_items_len);
  auto draw_id = [&](U n) -> Id {
    const std::uint8_t sel = in.u8();
    if (sel < 200 && n > 0) return static_cast<Id>(in.u64() % (n < 64 ? n : (sel & 1 ? 64 : n)));
    if (sel < 230) return static_cast<Id>(n);  // one past the end
    if constexpr (std::is_signed_v<Id>)
      if (sel < 245) return static_cast<Id>(-static_cast<Id>(1 + in.u8() % 3));
    return static_cast<Id>(in.u64());
  };
  for (auto& u : users) u = draw_id(n_users);
  for (auto& i : items) i = draw_id(n_items);
  const std::vector<Id> users_before = users, items_before = items;

  // The reference: which argument is bad, if any.
  bool bad = users_too_many || (n_items > 0 && n_items - 1 > id_max) || users.size() != items.size();
  for (Id u : users) bad = bad || u < 0 || static_cast<U>(u) >= n_users;
  for (Id i : items) bad = bad || i < 0 || static_cast<U>(i) >= n_items;

  brmrs::interactions<Id> got;
  try {
    got = brmrs::interactions<Id>::from_pairs(n_users, n_items, users, items);
  } catch (const brmrs::invalid_argument&) {
    FUZZ_CHECK(bad);
    FUZZ_CHECK(users == users_before && items == items_before);
    return;
  }
  FUZZ_CHECK(!bad);
  FUZZ_CHECK(users == users_before && items == items_before);
  std::vector<std::set<U>> ref(n_users);
  for (std::size_t p = 0; p < users.size(); ++p) ref[static_cast<U>(users[p])].insert(static_cast<U>(items[p]));
  FUZZ_CHECK(got.n_users() == n_users && got.n_items() == n_items);
  const auto off = got.offsets();
  FUZZ_CHECK(off.size() == n_users + 1 && off[0] == 0 && static_cast<U>(off[n_users]) == got.nnz());
  std::size_t nnz = 0;
  for (U u = 0; u < n_users; ++u) {
    const auto row = got.items_of(u);
    FUZZ_CHECK(row.size() == ref[u].size());
    std::size_t k = 0;
    for (U i : ref[u]) FUZZ_CHECK(static_cast<U>(row[k++]) == i);  // sorted, distinct, equal
    nnz += ref[u].size();
    for (int probe = 0; probe < 4; ++probe) {
      const U i = n_items ? in.u64() % (n_items < 128 ? n_items + 2 : n_items) : in.u8();
      FUZZ_CHECK(got.contains(u, i) == (ref[u].count(i) == 1));
    }
  }
  FUZZ_CHECK(nnz == got.nnz());
  // The CSR round trip accepts what from_pairs produced and rebuilds the same store.
  std::vector<std::int64_t> o(off.begin(), off.end());
  std::vector<Id> idx(got.indices().begin(), got.indices().end());
  const auto again = brmrs::interactions<Id>::from_csr(n_users, n_items, o, idx);
  FUZZ_CHECK(again.nnz() == got.nnz());
  for (U u = 0; u < n_users; ++u) FUZZ_CHECK(again.degree(u) == got.degree(u));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::bytes in(data, size);
  switch (in.u8() % 4) {
    case 0: run<std::int8_t>(in); break;
    case 1: run<std::int16_t>(in); break;
    case 2: run<std::int32_t>(in); break;
    default: run<std::int64_t>(in); break;
  }
  return 0;
}
