// Tests for brmrs/rng/philox.hpp: Philox4x32-10 against the Random123 known-answer vectors, the
// documented key layout of philox_draw64, uniform_below on hand-worked values, and
// pool_negative_slot.
#include <brmrs/rng/philox.hpp>
#include <catch2/catch.hpp>
#include <cstdint>
#include <vector>

namespace {

// An independent Philox4x32-R written from the SC'11 paper's description (Random123 philox.h):
// the key is bumped *before* every round but the first, where the library rounds then bumps.
brmrs::philox4x32_counter reference_philox(brmrs::philox4x32_counter c, brmrs::philox4x32_key k, int rounds) {
  for (int r = 0; r < rounds; ++r) {
    if (r > 0) {
      k.v[0] += 0x9E3779B9u;
      k.v[1] += 0xBB67AE85u;
    }
    const std::uint64_t p0 = std::uint64_t{0xD2511F53u} * c.v[0];
    const std::uint64_t p1 = std::uint64_t{0xCD9E8D57u} * c.v[2];
    c = brmrs::philox4x32_counter{
        {static_cast<std::uint32_t>(p1 >> 32) ^ c.v[1] ^ k.v[0], static_cast<std::uint32_t>(p1),
         static_cast<std::uint32_t>(p0 >> 32) ^ c.v[3] ^ k.v[1], static_cast<std::uint32_t>(p0)}};
  }
  return c;
}

struct kat {
  brmrs::philox4x32_counter ctr;
  brmrs::philox4x32_key key;
  std::uint32_t expected[4];
};

// Random123 tests/kat_vectors, the three "philox4x32 10" lines (columns: CTR[4] KEY[2] -> OUT[4]).
const kat kat_vectors[] = {
    {{{0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u}},
     {{0x00000000u, 0x00000000u}},
     {0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}},
    {{{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}},
     {{0xffffffffu, 0xffffffffu}},
     {0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}},
    {{{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}},
     {{0xa4093822u, 0x299f31d0u}},
     {0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}},
};

std::uint64_t splitmix64(std::uint64_t& s) {
  std::uint64_t z = (s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace

TEST_CASE("philox4x32_10 reproduces the Random123 known-answer vectors", "[philox]") {
  for (const kat& t : kat_vectors) {
    const brmrs::philox4x32_counter out = brmrs::philox4x32_10(t.ctr, t.key);
    INFO("ctr " << std::hex << t.ctr.v[0] << " " << t.ctr.v[1] << " " << t.ctr.v[2] << " " << t.ctr.v[3]);
    for (int w = 0; w < 4; ++w) CHECK(out.v[w] == t.expected[w]);
    // The independent implementation agrees on the vectors too (it checks the test itself).
    const brmrs::philox4x32_counter ref = reference_philox(t.ctr, t.key, 10);
    for (int w = 0; w < 4; ++w) CHECK(ref.v[w] == t.expected[w]);
  }
}

TEST_CASE("philox4x32_10 matches an independent implementation on random inputs", "[philox]") {
  const std::uint64_t seed = 20261127;
  std::uint64_t s = seed;
  INFO("seed " << seed);
  for (int n = 0; n < 1000; ++n) {
    const std::uint64_t a = splitmix64(s), b = splitmix64(s), c = splitmix64(s);
    const brmrs::philox4x32_counter ctr{{static_cast<std::uint32_t>(a), static_cast<std::uint32_t>(a >> 32),
                                         static_cast<std::uint32_t>(b), static_cast<std::uint32_t>(b >> 32)}};
    const brmrs::philox4x32_key key{{static_cast<std::uint32_t>(c), static_cast<std::uint32_t>(c >> 32)}};
    const auto got = brmrs::philox4x32_10(ctr, key);
    const auto ref = reference_philox(ctr, key, 10);
    for (int w = 0; w < 4; ++w) REQUIRE(got.v[w] == ref.v[w]);
  }
}

TEST_CASE("philox_draw64 follows the documented (seed, step, example, slot) layout", "[philox]") {
  // key = (seed lo, seed hi), counter = (slot / 2, example, step lo, step hi); slot s takes
  // words 2*(s%2) (high half) and 2*(s%2)+1 (low half).
  const std::uint64_t seeds[] = {0, 1, 0x0123456789abcdefull, ~0ull};
  const std::uint64_t steps[] = {0, 7, 0xfedcba9876543210ull};
  const std::uint64_t examples[] = {0, 1, 4095, 0xffffffffull};
  const std::uint64_t slots[] = {0, 1, 2, 3, 62, 63, 64, 65, 1001};
  for (auto seed : seeds)
    for (auto step : steps)
      for (auto e : examples)
        for (auto slot : slots) {
          const brmrs::philox4x32_key key{
              {static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)}};
          const brmrs::philox4x32_counter ctr{
              {static_cast<std::uint32_t>(slot / 2), static_cast<std::uint32_t>(e),
               static_cast<std::uint32_t>(step), static_cast<std::uint32_t>(step >> 32)}};
          const auto out = reference_philox(ctr, key, 10);
          const unsigned w = (slot % 2) * 2;
          const std::uint64_t expected = (std::uint64_t{out.v[w]} << 32) | out.v[w + 1];
          INFO("seed " << seed << " step " << step << " example " << e << " slot " << slot);
          REQUIRE(brmrs::philox_draw64(seed, step, e, slot) == expected);
        }
  // Each key component matters: changing any one changes the draw.
  const std::uint64_t base = brmrs::philox_draw64(1, 2, 3, 4);
  CHECK(brmrs::philox_draw64(2, 2, 3, 4) != base);
  CHECK(brmrs::philox_draw64(1 + (1ull << 32), 2, 3, 4) != base);  // seed high word
  CHECK(brmrs::philox_draw64(1, 3, 3, 4) != base);
  CHECK(brmrs::philox_draw64(1, 2 + (1ull << 32), 3, 4) != base);  // step high word
  CHECK(brmrs::philox_draw64(1, 2, 4, 4) != base);
  CHECK(brmrs::philox_draw64(1, 2, 3, 5) != base);
  CHECK(brmrs::philox_draw64(1, 2, 3, 6) != base);
}

TEST_CASE("uniform_below is floor(x * n / 2^64) on hand-worked values", "[philox]") {
  const std::uint64_t max = ~0ull;
  // n = 1: always 0. x = 0: always 0.
  CHECK(brmrs::uniform_below(max, 1) == 0);
  CHECK(brmrs::uniform_below(0, 1000) == 0);
  // x = 2^64 - 1: floor((2^64 - 1) n / 2^64) = n - 1 for 1 <= n <= 2^64 - 1.
  CHECK(brmrs::uniform_below(max, 1000) == 999);
  CHECK(brmrs::uniform_below(max, max) == max - 1);
  // x = 2^63: floor(n / 2).
  CHECK(brmrs::uniform_below(1ull << 63, 7) == 3);
  CHECK(brmrs::uniform_below(1ull << 63, 100000) == 50000);
  // n = 2^k: the top k bits of x.
  CHECK(brmrs::uniform_below(0xabcdef0123456789ull, 1ull << 12) == 0xabcu);
  // n = 3: 0x5555555555555555 * 3 = 2^64 - 1 -> 0; 0x5555555555555556 * 3 = 2^64 + 2 -> 1;
  // 0xAAAAAAAAAAAAAAAB * 3 = 2^65 + 1 -> 2.
  CHECK(brmrs::uniform_below(0x5555555555555555ull, 3) == 0);
  CHECK(brmrs::uniform_below(0x5555555555555556ull, 3) == 1);
  CHECK(brmrs::uniform_below(0xAAAAAAAAAAAAAAAAull, 3) == 1);  // * 3 = 2^65 - 2
  CHECK(brmrs::uniform_below(0xAAAAAAAAAAAAAAABull, 3) == 2);
  // Large n and x split into 32-bit halves: (2^32 + 1) * (2^32 + 1) = 2^64 + 2^33 + 1 -> 1.
  CHECK(brmrs::uniform_below((1ull << 32) + 1, (1ull << 32) + 1) == 1);
}

TEST_CASE("pool_negative_slot is the documented draw of slot K mapped to [0, K)", "[philox]") {
  for (std::uint64_t K : {1ull, 2ull, 3ull, 64ull, 1000ull})
    for (std::uint64_t e = 0; e < 50; ++e) {
      const std::uint64_t slot = brmrs::pool_negative_slot(42, 9, e, K);
      CHECK(slot < K);
      CHECK(slot == brmrs::uniform_below(brmrs::philox_draw64(42, 9, e, K), K));
    }
}
