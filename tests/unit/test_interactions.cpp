// Tests for brmrs/interactions.hpp: CSR construction from pairs (sorting, duplicate merging),
// from ready CSR arrays, queries, and the errors on bad input.
#include <brmrs/interactions.hpp>
#include <catch2/catch.hpp>
#include <cstdint>
#include <random>
#include <set>
#include <vector>

using brmrs::interactions;

TEST_CASE("from_pairs sorts each user's items and merges duplicates", "[interactions]") {
  // User 0: items 4, 1, 4 -> {1, 4}; user 1: none; user 2: 0, 5, 0, 3 -> {0, 3, 5}.
  const std::vector<std::int32_t> users{2, 0, 2, 0, 2, 0, 2};
  const std::vector<std::int32_t> items{0, 4, 5, 1, 0, 4, 3};
  const auto x = interactions<std::int32_t>::from_pairs(3, 6, users, items);
  CHECK(x.n_users() == 3);
  CHECK(x.n_items() == 6);
  CHECK(x.nnz() == 5);
  CHECK(x.degree(0) == 2);
  CHECK(x.degree(1) == 0);
  CHECK(x.degree(2) == 3);
  CHECK(std::vector<std::int32_t>(x.items_of(0).begin(), x.items_of(0).end()) ==
        std::vector<std::int32_t>{1, 4});
  CHECK(x.items_of(1).empty());
  CHECK(std::vector<std::int32_t>(x.items_of(2).begin(), x.items_of(2).end()) ==
        std::vector<std::int32_t>{0, 3, 5});
  // CSR arrays: offsets {0, 2, 2, 5}, indices {1, 4, 0, 3, 5}.
  CHECK(std::vector<std::int64_t>(x.offsets().begin(), x.offsets().end()) ==
        std::vector<std::int64_t>{0, 2, 2, 5});
  CHECK(std::vector<std::int32_t>(x.indices().begin(), x.indices().end()) ==
        std::vector<std::int32_t>{1, 4, 0, 3, 5});
  CHECK(x.contains(0, 4));
  CHECK(!x.contains(0, 3));
  CHECK(!x.contains(1, 0));
  CHECK(x.contains(2, 5));
  CHECK(!x.contains(2, 6));    // outside [0, n_items)
  CHECK(!x.contains(2, 100));  // far outside
}

TEST_CASE("from_pairs agrees with a std::set reference on random pairs", "[interactions]") {
  const std::uint32_t seed = GENERATE(1u, 2u, 3u);
  INFO("seed " << seed);
  std::mt19937 rng(seed);
  const std::size_t n_users = 40, n_items = 25;
  std::vector<std::int64_t> users, items;
  std::vector<std::set<std::int64_t>> ref(n_users);
  for (int p = 0; p < 600; ++p) {
    const std::int64_t u = static_cast<std::int64_t>(rng() % n_users),
                       i = static_cast<std::int64_t>(rng() % n_items);
    users.push_back(u);
    items.push_back(i);
    ref[static_cast<std::size_t>(u)].insert(i);
  }
  const auto x = interactions<std::int64_t>::from_pairs(n_users, n_items, users, items);
  std::size_t nnz = 0;
  for (std::size_t u = 0; u < n_users; ++u) {
    const auto row = x.items_of(u);
    CHECK(std::vector<std::int64_t>(row.begin(), row.end()) ==
          std::vector<std::int64_t>(ref[u].begin(), ref[u].end()));
    for (std::size_t i = 0; i < n_items; ++i)
      CHECK(x.contains(u, i) == (ref[u].count(static_cast<std::int64_t>(i)) == 1));
    nnz += ref[u].size();
  }
  CHECK(x.nnz() == nnz);
}

TEST_CASE("an empty store is consistent", "[interactions]") {
  const interactions<std::int32_t> d;
  CHECK(d.n_users() == 0);
  CHECK(d.nnz() == 0);
  CHECK(d.offsets().size() == 1);
  const auto x =
      interactions<std::int32_t>::from_pairs(4, 3, std::vector<std::int32_t>{}, std::vector<std::int32_t>{});
  CHECK(x.nnz() == 0);
  CHECK(x.offsets().size() == 5);
  for (std::size_t u = 0; u < 4; ++u) CHECK(x.degree(u) == 0);
}

TEST_CASE("from_pairs rejects bad ids and mismatched lengths, naming position and value",
          "[interactions][errors]") {
  using I = interactions<std::int32_t>;
  using V = std::vector<std::int32_t>;
  CHECK_THROWS_WITH(I::from_pairs(3, 5, V{0, 1}, V{0}),
                    Catch::Contains("users has size 2") && Catch::Contains("items has size 1"));
  CHECK_THROWS_WITH(I::from_pairs(3, 5, V{0, -1}, V{0, 1}),
                    Catch::Contains("users[1] = -1") && Catch::Contains("negative"));
  CHECK_THROWS_WITH(I::from_pairs(3, 5, V{0, 3}, V{0, 1}),
                    Catch::Contains("users[1] = 3") && Catch::Contains("out of range [0, 3)"));
  CHECK_THROWS_WITH(I::from_pairs(3, 5, V{0, 1, 2}, V{0, 5, 1}),
                    Catch::Contains("items[1] = 5") && Catch::Contains("out of range [0, 5)"));
  CHECK_THROWS_WITH(I::from_pairs(3, 5, V{0, 1, 2}, V{0, 1, -7}),
                    Catch::Contains("items[2] = -7") && Catch::Contains("negative"));
  CHECK_THROWS_AS(I::from_pairs(3, 5, V{0}, V{9}), brmrs::invalid_argument);
  // n_items whose largest id does not fit the id type.
  using I8 = interactions<std::int8_t>;
  CHECK_THROWS_WITH(I8::from_pairs(1, 129, std::vector<std::int8_t>{}, std::vector<std::int8_t>{}),
                    Catch::Contains("n_items = 129"));
  CHECK_NOTHROW(I8::from_pairs(1, 128, std::vector<std::int8_t>{0}, std::vector<std::int8_t>{127}));
}

TEST_CASE("from_csr takes valid CSR arrays and rejects broken ones", "[interactions][errors]") {
  using I = interactions<std::int32_t>;
  const auto x = I::from_csr(3, 6, {0, 2, 2, 5}, {1, 4, 0, 3, 5});
  CHECK(x.nnz() == 5);
  CHECK(x.contains(2, 3));
  CHECK(!x.contains(1, 3));
  CHECK_THROWS_WITH(I::from_csr(3, 6, {0, 2, 5}, {1, 4, 0, 3, 5}), Catch::Contains("offsets has size 3"));
  CHECK_THROWS_WITH(I::from_csr(3, 6, {1, 2, 2, 5}, {1, 4, 0, 3, 5}), Catch::Contains("offsets[0] = 1"));
  CHECK_THROWS_WITH(I::from_csr(3, 6, {0, 3, 2, 5}, {1, 4, 0, 3, 5}), Catch::Contains("offsets[2] = 2"));
  CHECK_THROWS_WITH(I::from_csr(3, 6, {0, 2, 2, 4}, {1, 4, 0, 3, 5}),
                    Catch::Contains("offsets[n_users] = 4"));
  CHECK_THROWS_WITH(I::from_csr(3, 6, {0, 2, 2, 5}, {1, 4, 0, 6, 5}), Catch::Contains("indices[3] = 6"));
  // Row 2 = {0, 5, 3}: not increasing at position 4; a duplicate {3, 3} is rejected too.
  CHECK_THROWS_WITH(I::from_csr(3, 6, {0, 2, 2, 5}, {1, 4, 0, 5, 3}),
                    Catch::Contains("indices[4] = 3") && Catch::Contains("user 2"));
  CHECK_THROWS_WITH(I::from_csr(3, 6, {0, 2, 2, 5}, {1, 4, 3, 3, 5}), Catch::Contains("indices[3] = 3"));
  // Rows may be decreasing across a row boundary: {1, 4 | 0, ...} is fine (checked above).
}
