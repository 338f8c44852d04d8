// Tests for brmrs/views.hpp: shapes, strides, const conversion and checked construction.
#include <brmrs/views.hpp>

#include <catch2/catch.hpp>

#include <numeric>
#include <vector>

TEST_CASE("matrix_view addresses row-major elements through the row stride", "[views]") {
  std::vector<float> buf(3 * 5);
  std::iota(buf.begin(), buf.end(), 0.0f);
  // A 3 x 4 view over a 3 x 5 buffer: element (r, c) is buf[r*5 + c].
  brmrs::matrix_view<float> m(buf.data(), 3, 4, 5);
  CHECK(m.rows() == 3);
  CHECK(m.cols() == 4);
  CHECK(m.stride() == 5);
  CHECK(m(2, 3) == 13.0f);
  CHECK(m.row(1)[0] == 5.0f);
  CHECK(m.extent() == 2 * 5 + 4);
  CHECK(m.row_view(2)[1] == 11.0f);
  m(0, 1) = -1.0f;
  CHECK(buf[1] == -1.0f);

  brmrs::matrix_view<const float> c = m;  // const conversion keeps every field
  CHECK(c.data() == buf.data());
  CHECK(c.stride() == 5);
  CHECK(c(1, 2) == 7.0f);
  STATIC_REQUIRE(!std::is_convertible_v<brmrs::matrix_view<const float>, brmrs::matrix_view<float>>);
}

TEST_CASE("vector_view is a span that converts to const", "[views]") {
  std::vector<int> v{4, 5, 6};
  brmrs::vector_view<int> s(v.data(), v.size());
  brmrs::vector_view<const int> cs = s;
  CHECK(cs.size() == 3);
  CHECK(std::accumulate(cs.begin(), cs.end(), 0) == 15);
  CHECK(brmrs::vector_view<int>().empty());
}

TEST_CASE("make_matrix_view rejects a stride below the row length and a null pointer", "[views][errors]") {
  std::vector<double> buf(12);
  CHECK_THROWS_AS(brmrs::make_matrix_view(buf.data(), 3, 4, 3, "user"), brmrs::invalid_argument);
  CHECK_THROWS_WITH(brmrs::make_matrix_view(buf.data(), 3, 4, 3, "user"),
                    Catch::Contains("user.stride = 3") && Catch::Contains("user.cols = 4"));
  CHECK_THROWS_WITH(brmrs::make_matrix_view(static_cast<double*>(nullptr), 2, 2, "item"),
                    Catch::Contains("item.data is null"));
  CHECK_THROWS_WITH(brmrs::make_vector_view(static_cast<int*>(nullptr), 2, "ids"),
                    Catch::Contains("ids.data is null"));
  auto ok = brmrs::make_matrix_view(buf.data(), 3, 4);
  CHECK(ok.stride() == 4);
}
