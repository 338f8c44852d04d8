// Tests for brmrs/io/npy.hpp: .npy files written byte by byte here (float16, float32, float64,
// versions 1.0 and 2.0, C and Fortran order, 1-D), the refused ones (int32, big-endian '>f4',
// 3-D, truncated, bad magic, missing file) with their messages, and the shared lfm2k features
// when the data folder is present.
#include <brmrs/io/npy.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace {

std::string tmp_path(const std::string& name) { return std::string(BRMRS_TEST_TMP_DIR) + "/npy_" + name + ".npy"; }

// Writes magic, version, header length and the dict (padded with spaces and a newline to a
// multiple of 64 bytes, as NumPy does), then the raw data bytes.
void write_npy_file(const std::string& path, const std::string& dict, const void* data, std::size_t bytes,
                    int major = 1) {
  const std::size_t pre = major == 1 ? 10 : 12;
  std::string h = dict;
  while ((pre + h.size() + 1) % 64 != 0) h += ' ';
  h += '\n';
  std::ofstream out(path, std::ios::binary);
  out.write("\x93NUMPY", 6);
  const char ver[2] = {char(major), 0};
  out.write(ver, 2);
  if (major == 1) {
    const unsigned char l[2] = {static_cast<unsigned char>(h.size() & 0xff), static_cast<unsigned char>(h.size() >> 8)};
    out.write(reinterpret_cast<const char*>(l), 2);
  } else {
    const unsigned char l[4] = {static_cast<unsigned char>(h.size() & 0xff), static_cast<unsigned char>(h.size() >> 8), 0, 0};
    out.write(reinterpret_cast<const char*>(l), 4);
  }
  out.write(h.data(), static_cast<std::streamsize>(h.size()));
  out.write(static_cast<const char*>(data), static_cast<std::streamsize>(bytes));
}

}  // namespace

TEST_CASE("read_npy reads float32 C-order 2-D arrays", "[npy]") {
  const std::vector<float> v{1.5f, -2.0f, 3.25f, 0.0f, 1e-3f, 7.0f};
  const std::string p = tmp_path("f4");
  write_npy_file(p, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", v.data(), v.size() * 4);
  const auto m = brmrs::read_npy<float>(p);
  CHECK(m.stored == brmrs::npy_dtype::float32);
  REQUIRE(m.rows == 2);
  REQUIRE(m.cols == 3);
  CHECK(m.data == v);
  CHECK(m.view()(1, 2) == 7.0f);
  // float32 -> double is exact.
  const auto md = brmrs::read_npy<double>(p);
  CHECK(md.data[4] == double(1e-3f));
}

TEST_CASE("read_npy reads float64 and narrows to float by rounding", "[npy]") {
  const std::vector<double> v{0.1, -1e300, 2.0, 1.0 / 3.0};
  const std::string p = tmp_path("f8");
  write_npy_file(p, "{'descr': '<f8', 'fortran_order': False, 'shape': (4, 1), }", v.data(), v.size() * 8);
  const auto md = brmrs::read_npy<double>(p);
  CHECK(md.stored == brmrs::npy_dtype::float64);
  CHECK(md.data == v);
  const auto mf = brmrs::read_npy<float>(p);
  CHECK(mf.data[0] == 0.1f);
  CHECK(std::isinf(mf.data[1]));  // -1e300 overflows float: rounding, as NumPy's astype does
  CHECK(mf.data[1] < 0);
  CHECK(mf.data[3] == 1.0f / 3.0f);
}

TEST_CASE("read_npy decodes float16 exactly, subnormals, infinity and signed zero included", "[npy]") {
  // Bit patterns worked by hand: sign | 5-bit exponent (bias 15) | 10-bit fraction.
  //   0x3C00 = 1.0; 0xC000 = -2.0; 0x3555 = (1 + 341/1024) * 2^-2 = 0.333251953125;
  //   0x0001 = 2^-24 (smallest subnormal); 0x7BFF = (1 + 1023/1024) * 2^15 = 65504 (largest);
  //   0x7C00 = +inf; 0x8000 = -0.0; 0x7E00 = NaN.
  const std::vector<std::uint16_t> bits{0x3C00, 0xC000, 0x3555, 0x0001, 0x7BFF, 0x7C00, 0x8000, 0x7E00};
  const std::string p = tmp_path("f2");
  write_npy_file(p, "{'descr': '<f2', 'fortran_order': False, 'shape': (8,), }", bits.data(), bits.size() * 2);
  const auto m = brmrs::read_npy<double>(p);
  CHECK(m.stored == brmrs::npy_dtype::float16);
  REQUIRE(m.rows == 8);
  REQUIRE(m.cols == 1);  // 1-D reads as a column
  CHECK(m.data[0] == 1.0);
  CHECK(m.data[1] == -2.0);
  CHECK(m.data[2] == 0.333251953125);
  CHECK(m.data[3] == std::ldexp(1.0, -24));
  CHECK(m.data[4] == 65504.0);
  CHECK(std::isinf(m.data[5]));
  CHECK(m.data[6] == 0.0);
  CHECK(std::signbit(m.data[6]));
  CHECK(std::isnan(m.data[7]));
}

TEST_CASE("read_npy transposes Fortran-order files and reads format 2.0", "[npy]") {
  // The 2 x 3 matrix [[1 2 3] [4 5 6]] stored column by column: 1 4 2 5 3 6.
  const std::vector<float> colmajor{1, 4, 2, 5, 3, 6};
  const std::string p = tmp_path("fortran_v2");
  write_npy_file(p, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", colmajor.data(), 24, 2);
  const auto m = brmrs::read_npy<float>(p);
  CHECK(m.data == std::vector<float>{1, 2, 3, 4, 5, 6});
}

TEST_CASE("read_npy refuses other dtypes, shapes and broken files with a clear message", "[npy]") {
  using Catch::Matchers::Contains;
  const std::vector<std::int32_t> ints{1, 2, 3, 4};
  const std::string pi = tmp_path("i4");
  write_npy_file(pi, "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 2), }", ints.data(), 16);
  CHECK_THROWS_AS(brmrs::read_npy<float>(pi), brmrs::invalid_argument);
  CHECK_THROWS_WITH(brmrs::read_npy<float>(pi),
                    Contains(pi) && Contains("dtype '<i4' is not supported") && Contains("'<f2'") && Contains("'<f8'"));

  const std::string pb = tmp_path("be");
  write_npy_file(pb, "{'descr': '>f4', 'fortran_order': False, 'shape': (2, 2), }", ints.data(), 16);
  CHECK_THROWS_WITH(brmrs::read_npy<float>(pb), Contains("dtype '>f4' is big-endian"));

  const std::string p3 = tmp_path("3d");
  write_npy_file(p3, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 2), }", ints.data(), 16);
  CHECK_THROWS_WITH(brmrs::read_npy<float>(p3), Contains("(1, 2, 2)") && Contains("3 dimensions"));

  const std::string pt = tmp_path("trunc");
  write_npy_file(pt, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }", ints.data(), 16);
  CHECK_THROWS_WITH(brmrs::read_npy<float>(pt), Contains("truncated") && Contains("expected 4 float64"));

  const std::string pm = tmp_path("magic");
  {
    std::ofstream out(pm, std::ios::binary);
    out << "this is not numpy at all";
  }
  CHECK_THROWS_WITH(brmrs::read_npy<float>(pm), Contains("not an .npy file"));

  CHECK_THROWS_WITH(brmrs::read_npy<float>(tmp_path("does_not_exist")), Contains("cannot be opened"));
}

TEST_CASE("read_npy reads the lfm2k features (float32 text, float64 audio) when the data is present", "[npy][data]") {
  const std::string dir = std::string(BRMRS_SHARED_DATA_DIR) + "/lfm2k";
  std::ifstream probe(dir + "/vggish.npy");
  if (!probe) {
    WARN("SKIP: " << dir << " is absent; the lfm2k part of this test did not run");
    return;
  }
  const auto text = brmrs::read_npy<float>(dir + "/all-MiniLM-L6-v2.npy");
  CHECK(text.stored == brmrs::npy_dtype::float32);
  CHECK(text.rows == 1425);
  CHECK(text.cols == 384);
  const auto audio = brmrs::read_npy<double>(dir + "/vggish.npy");
  CHECK(audio.stored == brmrs::npy_dtype::float64);
  CHECK(audio.rows == 1425);
  CHECK(audio.cols == 128);
  // The file is exactly header + 1425*128*8 bytes: reading the last value worked, and
  // (file size) - (data bytes) is the header, which NumPy pads to a multiple of 64.
  std::ifstream f(dir + "/vggish.npy", std::ios::binary | std::ios::ate);
  const auto size = static_cast<std::size_t>(f.tellg());
  CHECK((size - 1425u * 128u * 8u) % 64u == 0u);
  std::size_t finite = 0;
  for (double v : audio.data) finite += std::isfinite(v) ? 1u : 0u;
  CHECK(finite == audio.data.size());
}
