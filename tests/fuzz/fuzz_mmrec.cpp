// Fuzz target: brmrs::parse_mmrec_inter (the .inter reader) on arbitrary text: column sets and
// order, header or none, CRLF, BOM, quoted fields, negative or huge ids, non-numeric text,
// empty files. A second, deliberately plain implementation of the format documented in
// io/mmrec.hpp (below) says whether the text is valid and what it holds; the reader must agree:
// the same splits, the same distinct pairs, the same row counts and id spaces when valid, and
// brmrs::invalid_argument when not. (Valid files whose largest id is above 2^20 are skipped:
// the reader then allocates O(largest id) row pointers by design.)
#include <brmrs/io/mmrec.hpp>

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fuzz_common.hpp"

namespace {

struct reference {
  bool ok = false;
  std::int64_t max_user = -1, max_item = -1;
  bool has_label = false;
  std::set<std::pair<std::int64_t, std::int64_t>> pairs[3];
  std::size_t rows[3] = {0, 0, 0};
};

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out(1);
  for (char c : s) {
    if (c == sep)
      out.emplace_back();
    else
      out.back() += c;
  }
  return out;
}

// A plain decimal integer: digits only, at most 2^31 - 1. -1 when not.
std::int64_t plain_id(const std::string& f) {
  if (f.empty()) return -1;  // leading zeros are allowed, any number of them
  std::int64_t v = 0;
  for (char c : f) {
    if (c < '0' || c > '9') return -1;
    v = v * 10 + (c - '0');
    if (v > 2147483647) return -1;
  }
  return v;
}

reference parse_reference(std::string text) {
  reference r;
  if (text.rfind("\xEF\xBB\xBF", 0) == 0) text.erase(0, 3);
  std::vector<std::string> lines = split(text, '\n');
  if (!text.empty() && text.back() == '\n') lines.pop_back();  // the last line's terminator
  if (text.empty()) lines.clear();
  for (auto& l : lines)
    if (!l.empty() && l.back() == '\r') l.pop_back();
  if (lines.empty() || lines[0].empty()) return r;
  const std::vector<std::string> names = split(lines[0], '\t');
  int user = -1, item = -1, label = -1;
  std::vector<int> required_nonempty;
  std::set<std::string> seen;
  for (std::size_t c = 0; c < names.size(); ++c) {
    const std::string& n = names[c];
    if (!seen.insert(n).second) return r;
    if (n == "userID") user = int(c);
    else if (n == "itemID") item = int(c);
    else if (n == "x_label") label = int(c);
    else if (n == "rating" || n == "timestamp") required_nonempty.push_back(int(c));
    else return r;
  }
  if (user < 0 || item < 0) return r;
  r.has_label = label >= 0;
  // A blank line ends the data when nothing but '\r' and '\n' follows it (the documented
  // tolerance of blank lines at the end, stray carriage returns included); elsewhere it is an error.
  std::size_t last = lines.size();
  for (std::size_t k = 1; k < lines.size(); ++k) {
    if (!lines[k].empty()) continue;
    bool only_cr = true;
    for (std::size_t j = k; j < lines.size(); ++j)
      for (char c : lines[j]) only_cr = only_cr && c == '\r';
    if (!only_cr) return r;
    last = k;
    break;
  }
  for (std::size_t k = 1; k < last; ++k) {
    const std::vector<std::string> f = split(lines[k], '\t');
    if (lines[k].empty() || f.size() != names.size()) return r;
    const std::int64_t u = plain_id(f[std::size_t(user)]), i = plain_id(f[std::size_t(item)]);
    if (u < 0 || i < 0) return r;
    int split_of = 0;
    if (label >= 0) {
      const std::string& x = f[std::size_t(label)];
      if (x != "0" && x != "1" && x != "2") return r;
      split_of = x[0] - '0';
    }
    for (int c : required_nonempty)
      if (f[std::size_t(c)].empty()) return r;
    r.pairs[split_of].insert({u, i});
    ++r.rows[split_of];
    r.max_user = std::max(r.max_user, u);
    r.max_item = std::max(r.max_item, i);
  }
  r.ok = true;
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const reference ref = parse_reference(text);
  if (ref.ok && (ref.max_user > (1 << 20) || ref.max_item > (1 << 20))) return 0;
  brmrs::mmrec_interactions got;
  try {
    got = brmrs::parse_mmrec_inter(text, "fuzz.inter");
  } catch (const brmrs::invalid_argument& e) {
    FUZZ_CHECK(!ref.ok);
    FUZZ_CHECK(std::string(e.what()).find("fuzz.inter:") != std::string::npos);  // names the source and line
    return 0;
  }
  FUZZ_CHECK(ref.ok);
  FUZZ_CHECK(got.n_users == std::size_t(ref.max_user + 1));
  FUZZ_CHECK(got.n_items == std::size_t(ref.max_item + 1));
  FUZZ_CHECK(got.has_x_label == ref.has_label);
  const brmrs::interactions<std::int32_t>* splits[3] = {&got.train, &got.validation, &got.test};
  const std::size_t rows[3] = {got.train_rows, got.validation_rows, got.test_rows};
  for (int s = 0; s < 3; ++s) {
    FUZZ_CHECK(rows[s] == ref.rows[s]);
    FUZZ_CHECK(splits[s]->n_users() == got.n_users && splits[s]->n_items() == got.n_items);
    FUZZ_CHECK(splits[s]->nnz() == ref.pairs[s].size());
    for (const auto& [u, i] : ref.pairs[s]) FUZZ_CHECK(splits[s]->contains(std::size_t(u), std::size_t(i)));
  }
  return 0;
}
