// Tests for brmrs/adapters/eigen.hpp: views alias Eigen storage element for element, and
// layouts without contiguous rows are refused with a message that says why.
// requires: eigen
#include <brmrs/adapters/eigen.hpp>

#include <Eigen/Core>
#include <catch2/catch.hpp>

using RowMajorF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

template <class View, class E>
void check_same_elements(const View& v, const E& m) {
  REQUIRE(v.rows() == static_cast<std::size_t>(m.rows()));
  REQUIRE(v.cols() == static_cast<std::size_t>(m.cols()));
  for (Eigen::Index r = 0; r < m.rows(); ++r)
    for (Eigen::Index c = 0; c < m.cols(); ++c) CHECK(v(r, c) == m(r, c));
}

TEST_CASE("a row-major Eigen matrix is viewed in place", "[adapters][eigen]") {
  RowMajorF m(3, 4);
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 4; ++c) m(r, c) = float(10 * r + c);
  auto v = brmrs::matrix_view_of(m);
  STATIC_REQUIRE(std::is_same_v<decltype(v), brmrs::matrix_view<float>>);
  CHECK(v.data() == m.data());
  CHECK(v.stride() == 4);
  check_same_elements(v, m);
  v(1, 2) = -5.0f;  // writes go to the matrix
  CHECK(m(1, 2) == -5.0f);

  const RowMajorF& cm = m;
  auto cv = brmrs::matrix_view_of(cm);
  STATIC_REQUIRE(std::is_same_v<decltype(cv), brmrs::matrix_view<const float>>);
  check_same_elements(cv, m);
}

TEST_CASE("row-major Maps and Blocks keep their row stride", "[adapters][eigen]") {
  std::vector<double> buf(3 * 6);
  for (std::size_t i = 0; i < buf.size(); ++i) buf[i] = double(i);
  // 3 x 4 rows inside a 3 x 6 buffer: outer stride 6.
  Eigen::Map<Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>, 0, Eigen::OuterStride<>>
      map(buf.data(), 3, 4, Eigen::OuterStride<>(6));
  auto v = brmrs::matrix_view_of(map);
  CHECK(v.stride() == 6);
  CHECK(v(2, 3) == 2 * 6 + 3);
  check_same_elements(v, map);

  RowMajorF m = RowMajorF::Random(5, 7);
  auto block = m.block(1, 2, 3, 4);
  auto bv = brmrs::matrix_view_of(block);
  CHECK(bv.stride() == 7);
  CHECK(bv.data() == &m(1, 2));
  check_same_elements(bv, block);
}

TEST_CASE("column-major Eigen objects are accepted only when their rows are contiguous", "[adapters][eigen]") {
  Eigen::MatrixXf col_major(3, 4);
  col_major.setRandom();
  CHECK_THROWS_AS(brmrs::matrix_view_of(col_major), brmrs::invalid_argument);
  CHECK_THROWS_WITH(brmrs::matrix_view_of(col_major),
                    Catch::Contains("column-major") && Catch::Contains("3 x 4") && Catch::Contains("RowMajor"));

  // A column vector has one element per row: as a matrix it is n x 1 with row stride 1.
  Eigen::VectorXf vec = Eigen::VectorXf::LinSpaced(5, 0.0f, 4.0f);
  auto v = brmrs::matrix_view_of(vec);
  CHECK(v.rows() == 5);
  CHECK(v.cols() == 1);
  check_same_elements(v, vec);

  // Every other element of a buffer: inner stride 2 is refused.
  std::vector<float> buf(12, 1.0f);
  Eigen::Map<RowMajorF, 0, Eigen::Stride<Eigen::Dynamic, 2>> strided(buf.data(), 2, 3,
                                                                     Eigen::Stride<Eigen::Dynamic, 2>(6, 2));
  CHECK_THROWS_WITH(brmrs::matrix_view_of(strided), Catch::Contains("inner stride 2"));
}

TEST_CASE("vector_view_of takes contiguous Eigen vectors and refuses strided ones", "[adapters][eigen]") {
  Eigen::VectorXi ids(4);
  ids << 3, 1, 4, 1;
  auto v = brmrs::vector_view_of(ids);
  REQUIRE(v.size() == 4);
  CHECK(v[2] == 4);

  RowMajorF m = RowMajorF::Random(3, 5);
  auto row = m.row(1);  // contiguous in a row-major matrix
  auto rv = brmrs::vector_view_of(row);
  CHECK(rv.size() == 5);
  CHECK(rv[4] == m(1, 4));
  auto col = m.col(1);  // stride 5 in a row-major matrix
  CHECK_THROWS_WITH(brmrs::vector_view_of(col), Catch::Contains("inner stride 5"));
  CHECK_THROWS_WITH(brmrs::vector_view_of(m), Catch::Contains("3 x 5") && Catch::Contains("not a vector"));
}
