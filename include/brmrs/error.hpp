// brmrs/error.hpp — the one exception type brmrs throws for bad input.
//
// brmrs::invalid_argument derives from std::invalid_argument, so hosts that already catch the
// standard type keep working. Its message names the argument, the position and the value, e.g.
//   "brmrs::compute_objective: batch.pools(3, 17) = 1200 is out of range [0, 1000)".
// It is thrown only before any output is written (see validate.hpp): on throw, every buffer the
// caller handed in is unchanged. Kernels never throw.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

#include "config.hpp"

BRMRS_BEGIN_NAMESPACE

class invalid_argument : public std::invalid_argument {
 public:
  explicit invalid_argument(const std::string& what) : std::invalid_argument(what) {}
};

namespace detail {

// Streams every part into one message; used by the validation helpers and by code that needs a
// one-off message. Kept out of line of hot code: it is only reached on error.
template <class... Parts>
[[noreturn]] void throw_invalid_argument(const Parts&... parts) {
  std::ostringstream os;
  os.precision(9);
  (os << ... << parts);
  throw brmrs::invalid_argument(os.str());
}

}  // namespace detail

BRMRS_END_NAMESPACE
