// Tests for brmrs/validate.hpp: the batched id-range test against a per-id reference, and the
// checks that name the first bad id.
#include <brmrs/validate.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <random>
#include <vector>

namespace {

// The definition, one id at a time: 0 <= id < n.
template <class Id>
bool reference_in_range(const std::vector<Id>& ids, std::size_t n) {
  for (Id id : ids) {
    if constexpr (std::is_signed_v<Id>)
      if (id < 0) return false;
    if (static_cast<std::uintmax_t>(id) >= static_cast<std::uintmax_t>(n)) return false;
  }
  return true;
}

template <class Id>
void check_against_reference(std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  constexpr std::size_t id_max = static_cast<std::size_t>(std::numeric_limits<Id>::max());
  // Range sizes at the edges: empty, one, around the largest id, and beyond every id.
  const std::vector<std::size_t> ns = {0, 1, 2, 63, 64, 1000, id_max - 1, id_max, id_max + 1,
                                       std::numeric_limits<std::size_t>::max()};
  std::size_t planted_rejected = 0, planted_accepted = 0, clean_accepted = 0;
  for (std::size_t n : ns)
    for (std::size_t count : {std::size_t(0), std::size_t(1), std::size_t(15), std::size_t(16), std::size_t(64),
                              std::size_t(100)})
      for (int trial = 0; trial < 20; ++trial) {
        std::vector<Id> ids(count);
        // Valid ids (below n, capped at the largest id); in half of the trials one edge value
        // planted at a random position: n - 1, n, the smallest and the largest Id, and -1.
        const std::size_t top = n == 0 ? 0 : (n - 1 < id_max ? n - 1 : id_max);
        std::uniform_int_distribution<std::uintmax_t> valid(0, top);
        for (Id& id : ids) id = static_cast<Id>(valid(rng));
        const bool plant = count > 0 && trial % 2 == 1;
        if (plant) {
          const std::size_t pos = static_cast<std::size_t>(rng() % count);
          const std::uintmax_t edge[] = {static_cast<std::uintmax_t>(top), static_cast<std::uintmax_t>(n),
                                         static_cast<std::uintmax_t>(std::numeric_limits<Id>::min()),
                                         static_cast<std::uintmax_t>(std::numeric_limits<Id>::max()),
                                         static_cast<std::uintmax_t>(-1)};
          ids[pos] = static_cast<Id>(edge[(trial / 2) % 5]);
        }
        const bool expected = reference_in_range(ids, n);
        CHECK(brmrs::detail::ids_in_range(ids.data(), ids.size(), n) == expected);
        if (n > 0 && plant) (expected ? planted_accepted : planted_rejected) += 1;
        if (n > 0 && !plant && count > 0 && expected) ++clean_accepted;
      }
  // Both answers were exercised with an edge planted, and valid arrays were accepted.
  CHECK(planted_rejected > 0);
  CHECK(planted_accepted > 0);
  CHECK(clean_accepted > 0);
}

}  // namespace

TEST_CASE("ids_in_range agrees with the per-id definition for every id type and range edge", "[validate]") {
  check_against_reference<std::int32_t>(1);
  check_against_reference<std::int64_t>(2);
  check_against_reference<std::uint32_t>(3);
  check_against_reference<std::int16_t>(4);
  check_against_reference<std::uint64_t>(5);
}

TEST_CASE("check_ids_in_range names the first id out of range and its position", "[validate]") {
  // A strided matrix (the layout of pool ids): the padding column past cols() is never read.
  const std::vector<std::int32_t> pools = {1, 2, -9, 3, 4, -9};
  const brmrs::matrix_view<const std::int32_t> pv(pools.data(), 2, 2, 3);
  CHECK_NOTHROW(brmrs::detail::check_ids_in_range("f", "pools", pv, 5));
  CHECK_THROWS_WITH(brmrs::detail::check_ids_in_range("f", "pools", pv, 4),
                    Catch::Contains("pools(1, 1) = 4"));

  const std::vector<std::int32_t> fine = {3, 0, 7, 2, 9};
  CHECK_NOTHROW(brmrs::detail::check_ids_in_range("f", "ids", brmrs::vector_view<const std::int32_t>(fine.data(), 5), 10));
  const std::vector<std::int32_t> ids = {3, 0, 7, -2, 9};
  const brmrs::vector_view<const std::int32_t> v(ids.data(), ids.size());
  CHECK_THROWS_WITH(brmrs::detail::check_ids_in_range("f", "ids", v, 8),
                    Catch::Contains("ids[3] = -2") && Catch::Contains("negative"));
  const std::vector<std::int32_t> high = {3, 0, 7, 8, 9};
  const brmrs::vector_view<const std::int32_t> h(high.data(), high.size());
  CHECK_THROWS_WITH(brmrs::detail::check_ids_in_range("f", "ids", h, 8),
                    Catch::Contains("ids[3] = 8") && Catch::Contains("out of range [0, 8)"));
}
