// Tests for brmrs/adapters/xtensor.hpp: views alias xtensor storage, and layouts without
// contiguous rows or of the wrong dimension are refused with a message that says why.
// requires: xtensor
#include <brmrs/adapters/xtensor.hpp>

#include <catch2/catch.hpp>
#include <xtensor/xarray.hpp>
#include <xtensor/xtensor.hpp>

TEST_CASE("a row-major xtensor is viewed in place", "[adapters][xtensor]") {
  xt::xtensor<float, 2> a = {{0, 1, 2}, {10, 11, 12}};
  auto v = brmrs::matrix_view_of(a);
  STATIC_REQUIRE(std::is_same_v<decltype(v), brmrs::matrix_view<float>>);
  REQUIRE(v.rows() == 2);
  REQUIRE(v.cols() == 3);
  CHECK(v.stride() == 3);
  for (std::size_t r = 0; r < 2; ++r)
    for (std::size_t c = 0; c < 3; ++c) CHECK(v(r, c) == a(r, c));
  v(1, 0) = 99;
  CHECK(a(1, 0) == 99);

  const auto& ca = a;
  auto cv = brmrs::matrix_view_of(ca);
  STATIC_REQUIRE(std::is_same_v<decltype(cv), brmrs::matrix_view<const float>>);
  CHECK(cv(0, 2) == 2);
}

TEST_CASE("a single-row xtensor (stride 0 on the row axis) gets a valid row stride", "[adapters][xtensor]") {
  xt::xtensor<double, 2> a = {{1, 2, 3, 4}};
  auto v = brmrs::matrix_view_of(a);
  CHECK(v.rows() == 1);
  CHECK(v.stride() == 4);
  CHECK(v(0, 3) == 4);
}

TEST_CASE("xarray views check dimension and layout", "[adapters][xtensor]") {
  xt::xarray<double> a = {{1, 2}, {3, 4}, {5, 6}};
  auto v = brmrs::matrix_view_of(a);
  CHECK(v.rows() == 3);
  CHECK(v(2, 1) == 6);

  xt::xarray<double> cube = xt::zeros<double>({2, 2, 2});
  CHECK_THROWS_WITH(brmrs::matrix_view_of(cube), Catch::Contains("dimension 3, expected 2"));

  xt::xtensor<float, 2, xt::layout_type::column_major> cm = {{1, 2, 3}, {4, 5, 6}};
  CHECK_THROWS_AS(brmrs::matrix_view_of(cm), brmrs::invalid_argument);
  CHECK_THROWS_WITH(brmrs::matrix_view_of(cm), Catch::Contains("column-major") && Catch::Contains("2 x 3"));

  // One column: column-major storage is also row-major.
  xt::xtensor<float, 2, xt::layout_type::column_major> one_col = {{1}, {2}, {3}};
  auto oc = brmrs::matrix_view_of(one_col);
  CHECK(oc.rows() == 3);
  CHECK(oc(2, 0) == 3);
}

TEST_CASE("vector_view_of takes 1-D xtensor containers", "[adapters][xtensor]") {
  xt::xtensor<int, 1> ids = {5, 6, 7};
  auto v = brmrs::vector_view_of(ids);
  REQUIRE(v.size() == 3);
  CHECK(v[1] == 6);
  xt::xarray<int> two_d = {{1, 2}, {3, 4}};
  CHECK_THROWS_WITH(brmrs::vector_view_of(two_d), Catch::Contains("dimension 2, expected 1"));
}
