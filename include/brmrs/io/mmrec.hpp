// brmrs/io/mmrec.hpp — loads an MMRec `.inter` file into train / validation / test interactions.
//
// Format (MMRec, e.g. lfm2k.inter): UTF-8 text, one record per line, fields separated by one
// tab. The first line is a header naming the columns, in any order:
//   userID, itemID   required: non-negative integer ids (decimal, at most 2^31 - 1)
//   x_label          optional: 0 = train, 1 = validation, 2 = test; without it every row is train
//   rating, timestamp optional: must be present on each line (non-empty) but are not interpreted
// A trailing '\r' on any line (Windows line ends), a UTF-8 byte-order mark and blank lines at the
// very end of the file are tolerated (from the first blank line on, the file may hold only '\r'
// and '\n'). A minus sign is negative even on zero ("-0" is refused). Anything else is an error: a missing userID or itemID
// column, an unknown or repeated column name, a line with the wrong number of fields, an empty
// field, an id that is not a plain decimal integer, negative or too large, an x_label outside
// {0, 1, 2}, a blank line before the end. Each error is a brmrs::invalid_argument whose message
// holds "<file>:<line>: " (1-based line number) and the offending field and value.
//
// Result: n_users = 1 + the largest user id over all splits, n_items likewise (so the three
// splits share one id space), one interactions<int32> per split (rows sorted, duplicates
// merged), and the number of data lines per split before merging.
// Cost: one read of the file and one pass over it (std::from_chars, no locale, no allocation per
// field), then interactions::from_pairs per split: O(rows log degree). The 56 345-row lfm2k file
// loads in about 8 ms on one core of the (loaded) 2-core CI machine.
#pragma once

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "../config.hpp"
#include "../error.hpp"
#include "../interactions.hpp"

BRMRS_BEGIN_NAMESPACE

struct mmrec_interactions {
  std::size_t n_users = 0;  // 1 + the largest user id over all splits
  std::size_t n_items = 0;  // 1 + the largest item id over all splits
  interactions<std::int32_t> train, validation, test;
  // Data lines per split as read (duplicate pairs still counted; nnz() counts distinct pairs).
  std::size_t train_rows = 0, validation_rows = 0, test_rows = 0;
  bool has_x_label = false;  // false: the file had no x_label column and every row is train
};

namespace detail {

struct mmrec_parse_context {
  const std::string& source;
  std::size_t line;
  template <class... Parts>
  [[noreturn]] void fail(const Parts&... parts) const {
    throw_invalid_argument("brmrs::load_mmrec_inter: ", source, ":", line, ": ", parts...);
  }
};

// A non-negative decimal integer filling the whole field, at most `max`.
inline std::int64_t mmrec_parse_id(const mmrec_parse_context& ctx, std::string_view field, const char* column,
                                   std::int64_t max) {
  if (field.empty()) ctx.fail(column, " is empty");
  std::int64_t value = 0;
  const auto res = std::from_chars(field.data(), field.data() + field.size(), value);
  if (res.ec == std::errc::result_out_of_range) ctx.fail(column, " = \"", field, "\" is too large");
  if (res.ec != std::errc() || res.ptr != field.data() + field.size())
    ctx.fail(column, " = \"", field, "\" is not an integer");
  // A minus sign makes an id negative even when the digits are zero ("-0" is not a plain id).
  if (value < 0 || field[0] == '-') ctx.fail(column, " = ", field, " is negative");
  if (value > max) ctx.fail(column, " = ", value, " is larger than ", max);
  return value;
}

}  // namespace detail

// Parses the contents of an .inter file held in memory; `source` names it in error messages.
inline mmrec_interactions parse_mmrec_inter(std::string_view text, const std::string& source) {
  enum column { user_col, item_col, label_col, rating_col, time_col, n_known };
  static constexpr const char* names[n_known] = {"userID", "itemID", "x_label", "rating", "timestamp"};
  detail::mmrec_parse_context ctx{source, 1};

  if (text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // UTF-8 BOM
  std::size_t pos = 0;
  auto next_line = [&](std::string_view& line) {
    if (pos >= text.size()) return false;
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    line = text.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = end + 1;
    return true;
  };

  // --- header ---
  std::string_view header;
  if (!next_line(header) || header.empty())
    ctx.fail("missing header line (expected e.g. \"userID\\titemID\\tx_label\")");
  int where[n_known] = {-1, -1, -1, -1, -1};
  std::size_t n_fields = 0;
  for (std::size_t start = 0;; ++n_fields) {
    const std::size_t tab = header.find('\t', start);
    const std::string_view name =
        header.substr(start, tab == std::string_view::npos ? std::string_view::npos : tab - start);
    int known = -1;
    for (int c = 0; c < n_known; ++c)
      if (name == names[c]) known = c;
    if (known < 0)
      ctx.fail("unknown column \"", name,
               "\" in the header (expected userID, itemID and optionally rating, "
               "timestamp, x_label, tab-separated)");
    if (where[known] >= 0) ctx.fail("column \"", name, "\" appears twice in the header");
    where[known] = static_cast<int>(n_fields);
    if (tab == std::string_view::npos) {
      ++n_fields;
      break;
    }
    start = tab + 1;
  }
  if (where[user_col] < 0) ctx.fail("the header has no userID column");
  if (where[item_col] < 0) ctx.fail("the header has no itemID column");

  // --- data lines ---
  constexpr std::int64_t id_max = std::numeric_limits<std::int32_t>::max();
  std::vector<std::int32_t> users[3], items[3];
  std::int64_t max_user = -1, max_item = -1;
  std::vector<std::string_view> fields(n_fields);
  std::string_view line;
  while (next_line(line)) {
    ++ctx.line;
    if (line.empty()) {
      // Blank lines are tolerated only as the tail of the file.
      if (text.find_first_not_of("\r\n", pos) == std::string_view::npos) break;
      ctx.fail("blank line inside the data");
    }
    std::size_t count = 0, start = 0;
    for (;;) {
      const std::size_t tab = line.find('\t', start);
      const std::size_t stop = tab == std::string_view::npos ? line.size() : tab;
      if (count < n_fields) fields[count] = line.substr(start, stop - start);
      ++count;
      if (tab == std::string_view::npos) break;
      start = tab + 1;
    }
    if (count != n_fields)
      ctx.fail("expected ", n_fields, " tab-separated fields as in the header, found ", count);
    const std::int64_t u =
        detail::mmrec_parse_id(ctx, fields[static_cast<std::size_t>(where[user_col])], "userID", id_max);
    const std::int64_t i =
        detail::mmrec_parse_id(ctx, fields[static_cast<std::size_t>(where[item_col])], "itemID", id_max);
    std::size_t split = 0;
    if (where[label_col] >= 0) {
      const std::string_view f = fields[static_cast<std::size_t>(where[label_col])];
      if (f.size() != 1 || f[0] < '0' || f[0] > '2')
        ctx.fail("x_label = \"", f, "\" is not 0 (train), 1 (validation) or 2 (test)");
      split = static_cast<std::size_t>(f[0] - '0');
    }
    for (int c : {rating_col, time_col})
      if (where[c] >= 0 && fields[static_cast<std::size_t>(where[c])].empty())
        ctx.fail(names[c], " is empty");
    users[split].push_back(static_cast<std::int32_t>(u));
    items[split].push_back(static_cast<std::int32_t>(i));
    max_user = u > max_user ? u : max_user;
    max_item = i > max_item ? i : max_item;
  }

  mmrec_interactions out;
  out.n_users = static_cast<std::size_t>(max_user + 1);
  out.n_items = static_cast<std::size_t>(max_item + 1);
  out.has_x_label = where[label_col] >= 0;
  out.train_rows = users[0].size();
  out.validation_rows = users[1].size();
  out.test_rows = users[2].size();
  interactions<std::int32_t>* splits[3] = {&out.train, &out.validation, &out.test};
  for (int s = 0; s < 3; ++s)
    *splits[s] = interactions<std::int32_t>::from_pairs(out.n_users, out.n_items, users[s], items[s]);
  return out;
}

// Reads and parses the file at `path`. Throws brmrs::invalid_argument when the file cannot be
// opened or read, or is malformed (see the header comment).
inline mmrec_interactions load_mmrec_inter(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) detail::throw_invalid_argument("brmrs::load_mmrec_inter: cannot open \"", path, "\"");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) detail::throw_invalid_argument("brmrs::load_mmrec_inter: error while reading \"", path, "\"");
  const std::string text = buffer.str();
  return parse_mmrec_inter(text, path);
}

BRMRS_END_NAMESPACE
