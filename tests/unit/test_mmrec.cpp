// Tests for brmrs/io/mmrec.hpp: the MMRec .inter loader on small files the test writes (good
// ones, column orders, Windows line ends, and every kind of broken line) and on the shared
// Last.fm 2K file when it is present.
#include <brmrs/io/mmrec.hpp>
#include <catch2/catch.hpp>
#include <cstdint>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace {

std::string write_file(const std::string& name, const std::string& content) {
  const std::string path = std::string(BRMRS_TEST_TMP_DIR) + "/test_mmrec_" + name + ".inter";
  std::ofstream out(path, std::ios::binary);
  out << content;
  out.close();
  REQUIRE(out.good());
  return path;
}

std::vector<std::int32_t> row(const brmrs::interactions<std::int32_t>& x, std::size_t u) {
  return std::vector<std::int32_t>(x.items_of(u).begin(), x.items_of(u).end());
}

bool file_exists(const std::string& path) { return std::ifstream(path).good(); }

}  // namespace

TEST_CASE("load_mmrec_inter splits rows by x_label and merges duplicates", "[mmrec]") {
  // Rows (user, item, label): train (0,2) (0,1) (1,0) (0,2 again); validation (1,3); test (2,4).
  const std::string path = write_file("basic",
                                      "userID\titemID\trating\tx_label\n"
                                      "0\t2\t1\t0\n"
                                      "0\t1\t1\t0\n"
                                      "1\t0\t5\t0\n"
                                      "1\t3\t1\t1\n"
                                      "2\t4\t1\t2\n"
                                      "0\t2\t1\t0\n");
  const auto d = brmrs::load_mmrec_inter(path);
  CHECK(d.has_x_label);
  CHECK(d.n_users == 3);  // 1 + max user id 2
  CHECK(d.n_items == 5);  // 1 + max item id 4
  CHECK(d.train_rows == 4);
  CHECK(d.validation_rows == 1);
  CHECK(d.test_rows == 1);
  CHECK(d.train.nnz() == 3);  // the repeated (0, 2) is merged
  CHECK(row(d.train, 0) == std::vector<std::int32_t>{1, 2});
  CHECK(row(d.train, 1) == std::vector<std::int32_t>{0});
  CHECK(row(d.train, 2).empty());
  CHECK(row(d.validation, 1) == std::vector<std::int32_t>{3});
  CHECK(row(d.test, 2) == std::vector<std::int32_t>{4});
  // All splits share the id space.
  CHECK(d.validation.n_users() == 3);
  CHECK(d.test.n_items() == 5);
}

TEST_CASE("load_mmrec_inter reads columns in any order, CRLF line ends and no x_label", "[mmrec]") {
  const std::string crlf = write_file("crlf",
                                      "timestamp\tx_label\titemID\tuserID\r\n"
                                      "1700000000\t2\t7\t1\r\n"
                                      "1700000001\t0\t3\t0\r\n");
  const auto d = brmrs::load_mmrec_inter(crlf);
  CHECK(d.n_users == 2);
  CHECK(d.n_items == 8);
  CHECK(row(d.train, 0) == std::vector<std::int32_t>{3});
  CHECK(row(d.test, 1) == std::vector<std::int32_t>{7});
  CHECK(d.validation.nnz() == 0);

  // No x_label: everything is train. No final newline; trailing blank lines are fine.
  const auto a = brmrs::load_mmrec_inter(write_file("nolabel", "itemID\tuserID\n5\t0\n6\t0"));
  CHECK(!a.has_x_label);
  CHECK(a.train_rows == 2);
  CHECK(row(a.train, 0) == std::vector<std::int32_t>{5, 6});
  const auto b = brmrs::load_mmrec_inter(write_file("tailblank", "userID\titemID\n0\t1\n\n\r\n"));
  CHECK(b.train_rows == 1);
  // Header only: an empty store.
  const auto c = brmrs::load_mmrec_inter(write_file("headeronly", "userID\titemID\tx_label\n"));
  CHECK(c.n_users == 0);
  CHECK(c.n_items == 0);
}

TEST_CASE("load_mmrec_inter rejects malformed files naming file and line", "[mmrec][errors]") {
  struct bad {
    const char* name;
    const char* content;
    const char* line_tag;  // "<file>:<line>:" suffix expected after the path
    const char* what;
  };
  const bad cases[] = {
      {"no_item_col", "userID\trating\n0\t1\n", ":1: ", "no itemID column"},
      {"no_user_col", "itemID\tx_label\n0\t1\n", ":1: ", "no userID column"},
      {"unknown_col", "userID\titemID\tscore\n0\t1\t2\n", ":1: ", "unknown column \"score\""},
      {"dup_col", "userID\titemID\tuserID\n0\t1\t0\n", ":1: ", "appears twice"},
      {"empty", "", ":1: ", "missing header"},
      {"too_few", "userID\titemID\tx_label\n0\t1\t0\n2\t3\n", ":3: ", "expected 3 tab-separated fields"},
      {"too_many", "userID\titemID\n0\t1\t0\n", ":2: ", "found 3"},
      {"space_sep", "userID\titemID\n0 1\n", ":2: ", "expected 2 tab-separated fields"},
      {"not_int", "userID\titemID\n0\t1\n0\tx7\n", ":3: ", "itemID = \"x7\" is not an integer"},
      {"float_id", "userID\titemID\n1.5\t1\n", ":2: ", "userID = \"1.5\" is not an integer"},
      {"negative", "userID\titemID\n0\t1\n-3\t1\n", ":3: ", "userID = -3 is negative"},
      {"too_large", "userID\titemID\n0\t2147483648\n", ":2: ", "itemID = 2147483648 is larger than"},
      {"huge", "userID\titemID\n0\t99999999999999999999999\n", ":2: ", "too large"},
      {"empty_id", "userID\titemID\n\t1\n", ":2: ", "userID is empty"},
      {"bad_label", "userID\titemID\tx_label\n0\t1\t0\n0\t2\t3\n", ":3: ", "x_label = \"3\""},
      {"label_text", "userID\titemID\tx_label\n0\t1\ttrain\n", ":2: ", "x_label = \"train\""},
      {"empty_rating", "userID\titemID\trating\n0\t1\t\n", ":2: ", "rating is empty"},
      {"blank_inside", "userID\titemID\n0\t1\n\n1\t2\n", ":3: ", "blank line"},
  };
  for (const bad& c : cases) {
    const std::string path = write_file(c.name, c.content);
    INFO("case " << c.name);
    CHECK_THROWS_AS(brmrs::load_mmrec_inter(path), brmrs::invalid_argument);
    CHECK_THROWS_WITH(brmrs::load_mmrec_inter(path),
                      Catch::Contains(path + c.line_tag) && Catch::Contains(c.what));
  }
  CHECK_THROWS_WITH(brmrs::load_mmrec_inter(std::string(BRMRS_TEST_TMP_DIR) + "/no/such/file.inter"),
                    Catch::Contains("cannot open") && Catch::Contains("no/such/file.inter"));
}

TEST_CASE("parse_mmrec_inter names the source it is given", "[mmrec][errors]") {
  CHECK_THROWS_WITH(brmrs::parse_mmrec_inter("userID\titemID\n0\t-1\n", "memory.inter"),
                    Catch::Contains("memory.inter:2: itemID = -1 is negative"));
}

TEST_CASE("load_mmrec_inter reads the shared Last.fm 2K file", "[mmrec][data]") {
  const std::string path = std::string(BRMRS_SHARED_DATA_DIR) + "/lfm2k/lfm2k.inter";
  if (!file_exists(path)) {
    WARN("skipped: " << path << " is absent (the shared data folder is not on this machine)");
    return;
  }
  const auto d = brmrs::load_mmrec_inter(path);
  // Published counts (data/README.md): 56 345 rows, 1 858 users, 1 425 items, split 44 327 /
  // 4 799 / 7 219.
  CHECK(d.n_users == 1858);
  CHECK(d.n_items == 1425);
  CHECK(d.train_rows == 44327);
  CHECK(d.validation_rows == 4799);
  CHECK(d.test_rows == 7219);
  CHECK(d.train_rows + d.validation_rows + d.test_rows == 56345);

  // An independent reading of the file with iostreams: the same distinct pairs per split.
  std::ifstream in(path);
  std::string header;
  std::getline(in, header);
  REQUIRE(header.rfind("userID\titemID\trating\tx_label", 0) == 0);
  std::set<std::pair<int, int>> ref[3];
  int u, i, r, x;
  while (in >> u >> i >> r >> x) ref[x].insert({u, i});
  const brmrs::interactions<std::int32_t>* splits[3] = {&d.train, &d.validation, &d.test};
  for (int s = 0; s < 3; ++s) {
    INFO("split " << s);
    CHECK(splits[s]->nnz() == ref[s].size());
    std::set<std::pair<int, int>> got;
    for (std::size_t user = 0; user < d.n_users; ++user)
      for (auto item : splits[s]->items_of(user)) got.insert({static_cast<int>(user), item});
    CHECK(got == ref[s]);
  }
  // The usual MMRec protocol: a held-out pair is not a training pair.
  std::size_t overlap = 0;
  for (const auto& p : ref[2])
    overlap += d.train.contains(static_cast<std::size_t>(p.first), static_cast<std::size_t>(p.second));
  CHECK(overlap == 0);
}
