// Host-side validation of the CUDA entry points — runs everywhere, GPU or not (CI has none).
// Each bad call must throw brmrs::invalid_argument before any CUDA call: on a machine without a
// device every CUDA call fails, so getting invalid_argument (not brmrs::cuda_error) proves the
// order. For compute_objective the message must equal the CPU backend's for the same bad input
// (the independent expectation), and the poisoned outputs (host memory standing in for device
// memory: no kernel runs) must be untouched. Without a device, a valid call must fail with
// brmrs::cuda_error carrying the CUDA error text, never silently succeed.
#include <brmrs/backend/cuda/objective.cuh>
#include <brmrs/backend/cuda/sampler.cuh>
#include <brmrs/backend/cuda/select.cuh>
#include <brmrs/objective.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "cuda_test_util.cuh"

namespace {

using namespace brmrs_cuda_test;
namespace bc = brmrs::backend::cuda;

struct fixture {
  std::size_t M = 2, B = 4, K = 3, n_users = 5, n_items = 9, d = 4;
  std::vector<float> user0, user1, item0, item1, fu, fi;
  std::vector<std::int32_t> users{0, 1, 2, 3}, positives{1, 2, 3, 4}, pools;
  std::vector<float> rows_u0, rows_u1, rows_p0, rows_p1, rows_n0, rows_n1, rows_h0, rows_h1, rfu, rfp, rfn;
  std::vector<std::int32_t> hard;
  fixture() {
    for (auto* v : {&user0, &user1, &fu}) v->assign(n_users * d, 0.25f);
    for (auto* v : {&item0, &item1, &fi}) v->assign(n_items * d, 0.5f);
    pools.assign(B * K, 5);
    for (auto* v : {&rows_u0, &rows_u1, &rows_p0, &rows_p1, &rows_n0, &rows_n1, &rfu, &rfp, &rfn})
      v->assign(B * d, std::numeric_limits<float>::quiet_NaN());
    rows_h0.assign(B * M * d, std::numeric_limits<float>::quiet_NaN());
    rows_h1 = rows_h0;
    hard.assign(B * M, -7);
  }
  brmrs::dot_tables<float> tables() const {
    brmrs::dot_tables<float> t;
    t.user = {{user0.data(), n_users, d}, {user1.data(), n_users, d}};
    t.item = {{item0.data(), n_items, d}, {item1.data(), n_items, d}};
    t.fused_user = {fu.data(), n_users, d};
    t.fused_item = {fi.data(), n_items, d};
    return t;
  }
  brmrs::batch<std::int32_t> batch() const {
    brmrs::batch<std::int32_t> b;
    b.users = {users.data(), B};
    b.positives = {positives.data(), B};
    b.pools = {pools.data(), B, K};
    return b;
  }
  brmrs::objective_outputs<float, std::int32_t> outs() {
    brmrs::objective_outputs<float, std::int32_t> o;
    o.hard_negatives = {hard.data(), B, M};
    o.rows.user = {{rows_u0.data(), B, d}, {rows_u1.data(), B, d}};
    o.rows.positive = {{rows_p0.data(), B, d}, {rows_p1.data(), B, d}};
    o.rows.negative = {{rows_n0.data(), B, d}, {rows_n1.data(), B, d}};
    o.rows.hard = {{rows_h0.data(), B * M, d}, {rows_h1.data(), B * M, d}};
    o.rows.fused_user = {rfu.data(), B, d};
    o.rows.fused_positive = {rfp.data(), B, d};
    o.rows.fused_negative = {rfn.data(), B, d};
    return o;
  }
  bool outputs_untouched() const {
    for (const auto* v : {&rows_u0, &rows_u1, &rows_p0, &rows_p1, &rows_n0, &rows_n1, &rows_h0, &rows_h1, &rfu, &rfp, &rfn})
      for (float x : *v)
        if (!std::isnan(x)) return false;
    for (auto h : hard)
      if (h != -7) return false;
    return true;
  }
};

enum class outcome { invalid_argument, cuda_error, other, none };

outcome run(const std::function<void()>& f, std::string& msg) {
  try {
    f();
  } catch (const brmrs::invalid_argument& e) {
    msg = e.what();
    return outcome::invalid_argument;
  } catch (const brmrs::cuda_error& e) {
    msg = e.what();
    return outcome::cuda_error;
  } catch (const std::exception& e) {
    msg = e.what();
    return outcome::other;
  }
  return outcome::none;
}

// One bad compute_objective call: the CUDA host checks throw the CPU's message, nothing written.
void objective_case(const std::string& name, const std::function<void(brmrs::dot_tables<float>&, brmrs::batch<std::int32_t>&,
                                                                      brmrs::objective_config<float>&,
                                                                      brmrs::objective_outputs<float, std::int32_t>&)>& spoil,
                    const char* cuda_only_substring = nullptr) {
  fixture f;
  auto t = f.tables();
  auto b = f.batch();
  brmrs::objective_config<float> cfg;
  auto o = f.outs();
  spoil(t, b, cfg, o);
  std::string cpu_msg, gpu_msg;
  const outcome gpu = run([&] { bc::compute_objective(t, b, cfg, o, cudaStream_t{0}); }, gpu_msg);
  CT_CHECK(gpu == outcome::invalid_argument, name + ": expected brmrs::invalid_argument, got '" + gpu_msg + "'");
  CT_CHECK(f.outputs_untouched(), name + ": an output was written");
  if (cuda_only_substring != nullptr) {
    CT_CHECK(gpu_msg.find(cuda_only_substring) != std::string::npos,
             name + ": message '" + gpu_msg + "' lacks '" + cuda_only_substring + "'");
    return;
  }
  const outcome cpu = run([&] { brmrs::compute_objective(t, b, cfg, o, brmrs::scalar_backend{}); }, cpu_msg);
  CT_CHECK(cpu == outcome::invalid_argument, name + ": the CPU backend did not reject it: '" + cpu_msg + "'");
  CT_CHECK(gpu_msg == cpu_msg, name + ": CUDA message '" + gpu_msg + "' differs from the CPU's '" + cpu_msg + "'");
}

}  // namespace

int main() {
  using T3 = brmrs::dot_tables<float>;
  using B3 = brmrs::batch<std::int32_t>;
  using C3 = brmrs::objective_config<float>;
  using O3 = brmrs::objective_outputs<float, std::int32_t>;
  objective_case("one modality", [](T3& t, B3&, C3&, O3&) {
    t.user.pop_back();
    t.item.pop_back();
  });
  objective_case("negative lambda_hard", [](T3&, B3&, C3& c, O3&) { c.lambda_hard = -1.0f; });
  objective_case("theta = 0", [](T3&, B3&, C3& c, O3&) { c.theta = 0.0f; });
  objective_case("NaN tau", [](T3&, B3&, C3& c, O3&) { c.tau = std::numeric_limits<float>::quiet_NaN(); });
  objective_case("K = 0", [](T3&, B3& b, C3&, O3&) { b.pools = {b.pools.data(), b.pools.rows(), 0}; });
  objective_case("B = 0", [](T3&, B3& b, C3&, O3&) {
    b.users = {};
    b.positives = {};
    b.pools = {};
  });
  objective_case("positives size", [](T3&, B3& b, C3&, O3&) { b.positives = {b.positives.data(), 3}; });
  objective_case("item rows mismatch", [](T3& t, B3&, C3&, O3&) { t.item[1] = {t.item[1].data(), 8, 4}; });
  objective_case("user/item dims mismatch", [](T3& t, B3&, C3&, O3&) { t.user[1] = {t.user[1].data(), 5, 3}; });
  objective_case("rows.user shape", [](T3&, B3&, C3&, O3& o) { o.rows.user[1] = {o.rows.user[1].data(), 3, 4}; });
  objective_case("rows.hard missing", [](T3&, B3&, C3&, O3& o) { o.rows.hard.pop_back(); });
  objective_case("output aliases an input", [](T3& t, B3&, C3&, O3& o) {
    o.rows.user[0] = {const_cast<float*>(t.item[0].data()), 4, 4};
  });
  objective_case("two outputs alias", [](T3&, B3&, C3&, O3& o) { o.rows.positive[1] = o.rows.negative[0]; });
  objective_case("null pools", [](T3&, B3& b, C3&, O3&) { b.pools = {nullptr, 4, 3}; });
  objective_case("example_offset overflow", [](T3&, B3&, C3& c, O3&) { c.example_offset = 0xFFFFFFFFull; });
  // CUDA-only limits.
  objective_case(
      "nine modalities",
      [](T3& t, B3&, C3&, O3& o) {
        o = O3{};
        while (t.item.size() < 9) {
          t.item.push_back(t.item[0]);
          t.user.push_back(t.user[0]);
        }
      },
      "at most 8");

  // Launch options.
  {
    fixture f;
    bc::launch_options opt;
    opt.block_threads = 48;
    std::string msg;
    const outcome r = run([&] { bc::compute_objective(f.tables(), f.batch(), brmrs::objective_config<float>{}, f.outs(), 0, opt); },
                          msg);
    CT_CHECK(r == outcome::invalid_argument && msg.find("block_threads = 48") != std::string::npos,
             "block_threads 48: '" + msg + "'");
  }

  // sample_pools host checks.
  {
    std::vector<std::int64_t> offsets{0, 1, 2};
    std::vector<std::int32_t> indices{0, 1}, users{0, 1}, pools(2 * 4, -9), negs(3, -9);
    bc::interactions_view<std::int32_t> iv{offsets.data(), indices.data(), 2, 10, 2};
    auto expect = [&](const std::string& name, const std::function<void()>& f, const std::string& substring) {
      std::string msg;
      const outcome r = run(f, msg);
      CT_CHECK(r == outcome::invalid_argument, name + ": expected invalid_argument, got '" + msg + "'");
      CT_CHECK(msg.find(substring) != std::string::npos, name + ": message '" + msg + "' lacks '" + substring + "'");
      CT_CHECK(pools == std::vector<std::int32_t>(8, -9) && negs == std::vector<std::int32_t>(3, -9), name + ": output written");
    };
    expect("sampler K = 0",
           [&] { bc::sample_pools(iv, {users.data(), 2}, 1, 2, 0, brmrs::matrix_view<std::int32_t>(pools.data(), 2, 0)); },
           "K = pools.cols() = 0");
    expect("sampler offset overflow",
           [&] {
             bc::sample_pools(iv, {users.data(), 2}, 1, 2, 0xFFFFFFFFull, brmrs::matrix_view<std::int32_t>(pools.data(), 2, 4));
           },
           "exceeds 2^32");
    expect("sampler negatives size",
           [&] {
             bc::sample_pools(iv, {users.data(), 2}, 1, 2, 0, brmrs::matrix_view<std::int32_t>(pools.data(), 2, 4),
                              brmrs::vector_view<std::int32_t>(negs.data(), 3));
           },
           "negatives has size 3");
    expect("sampler pools rows",
           [&] { bc::sample_pools(iv, {users.data(), 2}, 1, 2, 0, brmrs::matrix_view<std::int32_t>(pools.data(), 1, 4)); },
           "pools is 1 x 4");
    expect("sampler null offsets",
           [&] {
             bc::interactions_view<std::int32_t> bad = iv;
             bad.offsets = nullptr;
             bc::sample_pools(bad, {users.data(), 2}, 1, 2, 0, brmrs::matrix_view<std::int32_t>(pools.data(), 2, 4));
           },
           "observed.offsets is null");
  }

  // select_hard_negatives host checks.
  {
    fixture f;
    auto t = f.tables();
    std::string msg;
    outcome r = run(
        [&] {
          bc::select_hard_negatives<float, std::int32_t>(t.user, t.item, {f.users.data(), 4}, {f.pools.data(), 4, 3},
                                                         brmrs::matrix_view<std::int32_t>(f.hard.data(), 4, 3));
        },
        msg);
    CT_CHECK(r == outcome::invalid_argument && msg.find("hard_negatives is 4 x 3, expected 4 x 2") != std::string::npos,
             "select: hard_negatives shape: '" + msg + "'");
    r = run(
        [&] {
          bc::select_hard_negatives<float, std::int32_t>(t.user, t.item, {f.users.data(), 4}, {f.pools.data(), 4, 0},
                                                         brmrs::matrix_view<std::int32_t>(f.hard.data(), 4, 2));
        },
        msg);
    CT_CHECK(r == outcome::invalid_argument && msg.find("K = 0") != std::string::npos, "select: K = 0: '" + msg + "'");
    CT_CHECK(f.outputs_untouched(), "select: output written");
  }

  // Without a device, a valid call reaches CUDA and must fail loudly with the CUDA error text.
  int n_dev = 0;
  const cudaError_t e = cudaGetDeviceCount(&n_dev);
  (void)cudaGetLastError();
  if (e != cudaSuccess || n_dev == 0) {
    fixture f;
    std::string msg;
    const outcome r =
        run([&] { bc::compute_objective(f.tables(), f.batch(), brmrs::objective_config<float>{}, f.outs(), 0); }, msg);
    CT_CHECK(r == outcome::cuda_error, "valid call without a device: expected brmrs::cuda_error, got '" + msg + "'");
    CT_CHECK(msg.find("cudaError") != std::string::npos, "cuda_error message lacks the CUDA error name: '" + msg + "'");
    CT_CHECK(f.outputs_untouched(), "valid call without a device wrote an output");
    std::printf("no device: a valid call failed as it should: %s\n", msg.c_str());
  } else {
    std::printf("a device is present: the no-device error path is not exercised here\n");
  }
  return finish("test_cuda_validation");
}
