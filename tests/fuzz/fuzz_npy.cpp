// Fuzz target: brmrs::read_npy on arbitrary bytes (header dictionary, dtype strings, byte order,
// fortran order, shapes whose product overflows, truncated data, v1/v2/v3 headers).
// Contract: a matrix, or brmrs::invalid_argument (never another exception, a crash or an
// allocation the file's size does not justify). When a matrix comes back:
//   - rows * cols elements, and the file really holds them: the data section (located here from
//     the preamble, independently of the reader) has at least rows * cols * itemsize bytes;
//   - every element equals the decoding, done here, of its bytes at its C- or Fortran-order position;
//   - when the strict reference parser below accepts the header (the NumPy dict written by
//     numpy.lib.format), the reader agrees on dtype, order and shape; and whenever the reference
//     accepts a header with enough data, the reader must not throw.
#include <brmrs/io/npy.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <sstream>
#include <string>

#include "fuzz_common.hpp"

namespace {

struct ref_header {
  bool ok = false;
  int dtype = 0;  // item size 2, 4, 8
  bool fortran = false;
  std::size_t ndim = 0, rows = 0, cols = 0;
};

// A strict parser of the dict NumPy writes: {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
// keys in NumPy's order, single spaces, optional trailing comma, padding of spaces and one '\n'.
ref_header parse_reference(const std::string& h) {
  ref_header r;
  std::size_t end = h.size();
  if (end == 0 || h[end - 1] != '\n') return r;
  --end;
  while (end > 0 && h[end - 1] == ' ') --end;
  const std::string d = h.substr(0, end);
  const std::string p1 = "{'descr': '<f";
  if (d.compare(0, p1.size(), p1) != 0 || d.size() < p1.size() + 2) return r;
  const char c = d[p1.size()];
  if (c != '2' && c != '4' && c != '8') return r;
  r.dtype = c - '0';
  std::size_t i = p1.size() + 1;
  const std::string p2 = "', 'fortran_order': ";
  if (d.compare(i, p2.size(), p2) != 0) return r;
  i += p2.size();
  if (d.compare(i, 4, "True") == 0) {
    r.fortran = true;
    i += 4;
  } else if (d.compare(i, 5, "False") == 0) {
    i += 5;
  } else {
    return r;
  }
  const std::string p3 = ", 'shape': (";
  if (d.compare(i, p3.size(), p3) != 0) return r;
  i += p3.size();
  std::size_t dims[2] = {0, 0};
  std::size_t nd = 0;
  for (;;) {
    if (i >= d.size() || d[i] < '0' || d[i] > '9') return r;
    std::size_t v = 0;
    int digits = 0;
    while (i < d.size() && d[i] >= '0' && d[i] <= '9') {
      v = v * 10 + std::size_t(d[i] - '0');
      if (++digits > 12) return r;  // beyond what a file can hold
      ++i;
    }
    if (nd == 2) return r;
    dims[nd++] = v;
    if (d.compare(i, 2, ", ") == 0 && nd == 1 && i + 2 < d.size() && d[i + 2] != ')') {
      i += 2;
      continue;
    }
    break;
  }
  if (nd == 1) {
    if (d.compare(i, 2, ",)") != 0) return r;
    i += 2;
  } else {
    if (d.compare(i, 1, ")") != 0) return r;
    i += 1;
  }
  if (d.compare(i, std::string::npos, ", }") != 0 && d.compare(i, std::string::npos, "}") != 0) return r;
  r.ndim = nd;
  r.rows = dims[0];
  r.cols = nd == 2 ? dims[1] : 1;
  r.ok = true;
  return r;
}

double decode(const std::uint8_t* p, int size) {
  if (size == 2) {
    std::uint16_t h;
    std::memcpy(&h, p, 2);
    const int sign = h >> 15, e = (h >> 10) & 31, m = h & 1023;
    double v = e == 0 ? std::ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : std::ldexp(1024 + m, e - 25);
    return sign ? -v : v;
  }
  if (size == 4) {
    float f;
    std::memcpy(&f, p, 4);
    return f;
  }
  double v;
  std::memcpy(&v, p, 8);
  return v;
}

template <class T>
bool same_value(T got, double want) {
  const T w = static_cast<T>(want);
  if (std::isnan(w)) return std::isnan(got);
  return got == w && std::signbit(got) == std::signbit(w);
}

template <class T>
void check_one(const std::uint8_t* data, std::size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  // The data section per the preamble, located independently of the reader.
  std::size_t data_at = 0;
  std::string header_text;
  if (size >= 8 && bytes.compare(0, 6, "\x93NUMPY") == 0) {
    const unsigned v = data[6];
    const std::size_t lenb = v == 1 ? 2 : 4;
    if (size >= 8 + lenb) {
      std::size_t len = 0;
      for (std::size_t b = 0; b < lenb; ++b) len |= std::size_t(data[8 + b]) << (8 * b);
      data_at = 8 + lenb + len;
      if (data_at <= size) header_text = bytes.substr(8 + lenb, len);
    }
  }
  const ref_header ref = parse_reference(header_text);
  const bool version_ok = size >= 8 && (data[6] == 1 || data[6] == 2 || data[6] == 3);

  std::istringstream in(bytes);
  brmrs::npy_matrix<T> m;
  try {
    m = brmrs::read_npy<T>(in, "fuzz.npy");
  } catch (const brmrs::invalid_argument&) {
    // Refusing a header NumPy writes, with all its data present, is a wrong answer.
    if (ref.ok && version_ok && data_at <= size) {
      const unsigned __int128 need = (unsigned __int128)ref.rows * ref.cols * unsigned(ref.dtype);
      FUZZ_CHECK(need > size - data_at);
    }
    return;
  }
  FUZZ_CHECK(data_at >= 10 && data_at <= size);
  FUZZ_CHECK(m.data.size() == m.rows * m.cols);
  const int isz = m.stored == brmrs::npy_dtype::float16 ? 2 : m.stored == brmrs::npy_dtype::float32 ? 4 : 8;
  const unsigned __int128 need = (unsigned __int128)m.rows * m.cols * unsigned(isz);
  FUZZ_CHECK(need <= size - data_at);
  if (ref.ok) {
    FUZZ_CHECK(ref.dtype == isz);
    FUZZ_CHECK(ref.rows == m.rows && ref.cols == m.cols);
  }
  // Fortran order: where element (r, c) is stored. The reader reports no order, so accept the
  // reference's when it parsed, else find it from the header text.
  const bool fortran = ref.ok ? ref.fortran : header_text.find("True") != std::string::npos;
  if (m.data.empty()) return;  // (2^40, 0) is a valid empty shape: no element to compare
  for (std::size_t r = 0; r < m.rows; ++r)
    for (std::size_t c = 0; c < m.cols; ++c) {
      const std::size_t k = fortran && m.cols > 1 ? c * m.rows + r : r * m.cols + c;
      if (ref.ok) FUZZ_CHECK(same_value(m.data[r * m.cols + c], decode(data + data_at + k * isz, isz)));
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  check_one<float>(data, size);
  check_one<double>(data, size);
  return 0;
}
