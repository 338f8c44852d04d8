// brmrs/io/npy.hpp — reads a NumPy .npy file of item features into a row-major matrix.
//
//   npy_matrix<T> read_npy<T>(path)        the whole array, converted to T (float or double)
//   npy_matrix<T> read_npy<T>(stream, what) the same from a stream (`what` names it in messages)
//   npy_header    read_npy_header(stream, what)   the parsed header only
//   double        half_to_double(bits)     IEEE 754 binary16 -> double, exact
//
// Accepted files: format versions 1.0, 2.0 and 3.0 (a 2- or 4-byte little-endian header length);
// dtype '<f2' (float16), '<f4' (float32) or '<f8' (float64), little-endian ('|' and '=' are not
// used by NumPy for these types); 1-D arrays (n,) read as n x 1 and 2-D arrays (rows, cols);
// C order or Fortran order (transposed on read, so the result is always row-major). Every value
// is converted exactly to double and then rounded to T (float16 and float32 -> float is exact).
// Values are copied as they are: NaN and infinity are not rejected here (a host that needs finite
// features checks them).
// Refused, with brmrs::invalid_argument naming the path, the field and its value: a missing or
// unreadable file, a bad magic string or version, a header that is not a dict with 'descr',
// 'fortran_order' and 'shape', any other dtype (integers, complex, big-endian '>f4', structured
// dtypes, objects: the message lists the accepted ones), 0-D or > 2-D shapes, and a data section
// shorter than rows * cols elements. Also refused on a big-endian host, where these little-endian
// bytes would need swapping (brmrs does not target one).
// Memory follows the bytes actually present: a header claiming more data than the file holds is
// refused ("data is truncated") after reading what is there, never by allocating the claim.
// Cost: one pass over the file, O(rows * cols) time and memory. The row-major data of Fortran-order
// files is transposed through one extra buffer.
// Guarantee: on throw nothing is returned (no partial matrix).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <istream>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "../config.hpp"
#include "../error.hpp"
#include "../views.hpp"

BRMRS_BEGIN_NAMESPACE

enum class npy_dtype { float16, float32, float64 };

inline const char* to_string(npy_dtype t) noexcept {
  switch (t) {
    case npy_dtype::float16: return "float16";
    case npy_dtype::float32: return "float32";
    case npy_dtype::float64: return "float64";
  }
  return "?";
}

inline std::size_t npy_item_size(npy_dtype t) noexcept {
  return t == npy_dtype::float16 ? 2 : t == npy_dtype::float32 ? 4 : 8;
}

struct npy_header {
  int major_version = 1;
  npy_dtype dtype = npy_dtype::float32;
  bool fortran_order = false;
  std::size_t rows = 0, cols = 0;  // a 1-D shape (n,) is n x 1
  std::size_t ndim = 2;
};

template <class T>
struct npy_matrix {
  std::size_t rows = 0, cols = 0;
  npy_dtype stored = npy_dtype::float32;  // the dtype of the file
  std::vector<T> data;                    // rows * cols, row-major
  matrix_view<const T> view() const noexcept { return matrix_view<const T>(data.data(), rows, cols); }
};

// IEEE 754 binary16 (sign, 5-bit exponent, 10-bit fraction) to double; exact for every value,
// subnormals, infinities and NaN included.
inline double half_to_double(std::uint16_t h) noexcept {
  const int sign = (h >> 15) & 1, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  double v;
  if (exp == 0)
    v = std::ldexp(double(mant), -24);  // zero and subnormals: mant * 2^-24
  else if (exp == 31)
    v = mant == 0 ? HUGE_VAL : std::nan("");
  else
    v = std::ldexp(double(mant + 1024), exp - 25);  // (1 + mant/1024) * 2^(exp-15)
  return sign ? -v : v;
}

namespace detail {

inline bool host_is_little_endian() noexcept {
  const std::uint16_t one = 1;
  unsigned char b;
  std::memcpy(&b, &one, 1);
  return b == 1;
}

// The text following `'key':` in the header dict, with leading blanks skipped.
inline std::size_t npy_find_value(const std::string& dict, const char* key, const std::string& what) {
  const std::string k = std::string("'") + key + "'";
  const std::size_t at = dict.find(k);
  if (at == std::string::npos)
    throw_invalid_argument("brmrs::read_npy: ", what, ": header has no ", k, " field (header: ", dict, ")");
  std::size_t p = dict.find(':', at + k.size());
  if (p == std::string::npos)
    throw_invalid_argument("brmrs::read_npy: ", what, ": header field ", k, " has no value (header: ", dict, ")");
  ++p;
  while (p < dict.size() && (dict[p] == ' ' || dict[p] == '\t')) ++p;
  return p;
}

}  // namespace detail

// Parses the magic string and header of an .npy stream; leaves the stream at the first data byte.
// `what` names the source in error messages (normally the path).
inline npy_header read_npy_header(std::istream& in, const std::string& what) {
  constexpr const char* fn = "brmrs::read_npy";
  if (!detail::host_is_little_endian())
    detail::throw_invalid_argument(fn, ": ", what, ": this host is big-endian; brmrs reads little-endian .npy only");
  unsigned char pre[8];
  if (!in.read(reinterpret_cast<char*>(pre), 8))
    detail::throw_invalid_argument(fn, ": ", what, ": file is shorter than the 8-byte .npy preamble");
  if (std::memcmp(pre, "\x93NUMPY", 6) != 0)
    detail::throw_invalid_argument(fn, ": ", what, ": not an .npy file (magic string \\x93NUMPY missing)");
  npy_header h;
  h.major_version = pre[6];
  std::size_t header_len = 0;
  if (pre[6] == 1) {
    unsigned char l[2];
    if (!in.read(reinterpret_cast<char*>(l), 2))
      detail::throw_invalid_argument(fn, ": ", what, ": truncated header length");
    header_len = std::size_t(l[0]) | (std::size_t(l[1]) << 8);
  } else if (pre[6] == 2 || pre[6] == 3) {
    unsigned char l[4];
    if (!in.read(reinterpret_cast<char*>(l), 4))
      detail::throw_invalid_argument(fn, ": ", what, ": truncated header length");
    header_len = std::size_t(l[0]) | (std::size_t(l[1]) << 8) | (std::size_t(l[2]) << 16) | (std::size_t(l[3]) << 24);
  } else {
    detail::throw_invalid_argument(fn, ": ", what, ": format version ", int(pre[6]), ".", int(pre[7]),
                                   " is not supported (1.0, 2.0, 3.0 are)");
  }
  if (header_len > (std::size_t(1) << 24))
    detail::throw_invalid_argument(fn, ": ", what, ": header length ", header_len, " is implausible");
  std::string dict(header_len, '\0');
  if (header_len > 0 && !in.read(&dict[0], static_cast<std::streamsize>(header_len)))
    detail::throw_invalid_argument(fn, ": ", what, ": header is truncated (expected ", header_len, " bytes)");
  while (!dict.empty() && (dict.back() == '\n' || dict.back() == ' ' || dict.back() == '\0')) dict.pop_back();

  // 'descr': '<f4'
  std::size_t p = detail::npy_find_value(dict, "descr", what);
  if (p >= dict.size() || (dict[p] != '\'' && dict[p] != '"'))
    detail::throw_invalid_argument(fn, ": ", what, ": dtype (descr) is not a simple type string: ",
                                   dict.substr(p, 40), " (accepted: '<f2', '<f4', '<f8')");
  const char q = dict[p];
  const std::size_t e = dict.find(q, p + 1);
  if (e == std::string::npos) detail::throw_invalid_argument(fn, ": ", what, ": unterminated descr in header ", dict);
  const std::string descr = dict.substr(p + 1, e - p - 1);
  if (descr == "<f2")
    h.dtype = npy_dtype::float16;
  else if (descr == "<f4")
    h.dtype = npy_dtype::float32;
  else if (descr == "<f8")
    h.dtype = npy_dtype::float64;
  else if (descr.size() == 3 && descr[0] == '>' && descr[1] == 'f')
    detail::throw_invalid_argument(fn, ": ", what, ": dtype '", descr,
                                   "' is big-endian; accepted: '<f2' (float16), '<f4' (float32), '<f8' (float64)");
  else
    detail::throw_invalid_argument(fn, ": ", what, ": dtype '", descr,
                                   "' is not supported; accepted: '<f2' (float16), '<f4' (float32), '<f8' (float64)");

  // 'fortran_order': False
  p = detail::npy_find_value(dict, "fortran_order", what);
  if (dict.compare(p, 4, "True") == 0)
    h.fortran_order = true;
  else if (dict.compare(p, 5, "False") == 0)
    h.fortran_order = false;
  else
    detail::throw_invalid_argument(fn, ": ", what, ": fortran_order is neither True nor False: ", dict.substr(p, 10));

  // 'shape': (r, c) or (n,)
  p = detail::npy_find_value(dict, "shape", what);
  if (p >= dict.size() || dict[p] != '(')
    detail::throw_invalid_argument(fn, ": ", what, ": shape is not a tuple: ", dict.substr(p, 20));
  const std::size_t close = dict.find(')', p);
  if (close == std::string::npos) detail::throw_invalid_argument(fn, ": ", what, ": unterminated shape in header ", dict);
  // Python tuple syntax: integers separated by commas, a trailing comma allowed ("(n,)").
  std::vector<std::size_t> dims;
  const std::string shape_text = dict.substr(p, close - p + 1);
  std::size_t i = p + 1;
  auto skip_blanks = [&] {
    while (i < close && dict[i] == ' ') ++i;
  };
  skip_blanks();
  while (i < close) {
    if (dict[i] < '0' || dict[i] > '9')
      detail::throw_invalid_argument(fn, ": ", what, ": shape ", shape_text, " is not a tuple of integers");
    std::size_t v = 0;
    while (i < close && dict[i] >= '0' && dict[i] <= '9') {
      v = v * 10 + std::size_t(dict[i] - '0');
      if (v > (std::size_t(1) << 40))
        detail::throw_invalid_argument(fn, ": ", what, ": shape ", shape_text, " is implausibly large");
      ++i;
    }
    if (i < close && dict[i] == 'L') ++i;  // Python 2 long suffix
    dims.push_back(v);
    skip_blanks();
    if (i < close && dict[i] != ',')
      detail::throw_invalid_argument(fn, ": ", what, ": shape ", shape_text, " is not a tuple of integers");
    if (i < close) ++i;  // the comma
    skip_blanks();
  }
  if (dims.size() == 1) {
    h.ndim = 1;
    h.rows = dims[0];
    h.cols = 1;
  } else if (dims.size() == 2) {
    h.ndim = 2;
    h.rows = dims[0];
    h.cols = dims[1];
  } else {
    detail::throw_invalid_argument(fn, ": ", what, ": shape ", dict.substr(p, close - p + 1), " has ", dims.size(),
                                   " dimensions; a feature matrix needs 1 or 2");
  }
  return h;
}

// Reads the whole array from `in` (positioned at the magic string), converted to T (float or
// double); `path` names the source in error messages.
template <class T = float>
npy_matrix<T> read_npy(std::istream& in, const std::string& path) {
  static_assert(std::is_floating_point_v<T>, "read_npy reads into float or double");
  constexpr const char* fn = "brmrs::read_npy";
  const npy_header h = read_npy_header(in, path);
  const std::size_t size = npy_item_size(h.dtype);
  // rows * cols * size must not wrap: each dimension is at most 2^40, the product is checked.
  if (h.cols != 0 && h.rows > std::numeric_limits<std::size_t>::max() / size / h.cols)
    detail::throw_invalid_argument(fn, ": ", path, ": shape ", h.rows, " x ", h.cols, " of ", to_string(h.dtype),
                                   " values needs more than 2^64 bytes");
  const std::size_t n = h.rows * h.cols, bytes = n * size;
  // Read in chunks, so a header claiming more data than the file holds costs the file's size
  // in memory, not the claim's, before it is refused.
  std::vector<unsigned char> raw;
  constexpr std::size_t chunk = std::size_t(1) << 24;
  while (raw.size() < bytes) {
    const std::size_t at = raw.size(), want = bytes - at < chunk ? bytes - at : chunk;
    raw.resize(at + want);
    in.read(reinterpret_cast<char*>(raw.data() + at), static_cast<std::streamsize>(want));
    const auto got = static_cast<std::size_t>(in.gcount());
    if (got != want)
      detail::throw_invalid_argument(fn, ": ", path, ": data is truncated: expected ", n, " ", to_string(h.dtype),
                                     " values (", bytes, " bytes) for shape ", h.rows, " x ", h.cols, ", got ",
                                     at + got, " bytes");
  }
  npy_matrix<T> out;
  out.rows = h.rows;
  out.cols = h.cols;
  out.stored = h.dtype;
  out.data.resize(n);
  for (std::size_t k = 0; k < n; ++k) {
    // k-th stored element; in Fortran order it is element (k % rows, k / rows).
    const std::size_t dst = h.fortran_order && h.ndim == 2 ? (k % h.rows) * h.cols + k / h.rows : k;
    const unsigned char* src = raw.data() + k * size;
    double v;
    if (h.dtype == npy_dtype::float16) {
      std::uint16_t b;
      std::memcpy(&b, src, 2);
      v = half_to_double(b);
    } else if (h.dtype == npy_dtype::float32) {
      float f;
      std::memcpy(&f, src, 4);
      v = f;
    } else {
      std::memcpy(&v, src, 8);
    }
    out.data[dst] = static_cast<T>(v);
  }
  return out;
}

// Reads the whole array at `path`, converted to T (float or double).
template <class T = float>
npy_matrix<T> read_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) detail::throw_invalid_argument("brmrs::read_npy: path = \"", path, "\" cannot be opened");
  return read_npy<T>(in, path);
}

BRMRS_END_NAMESPACE
