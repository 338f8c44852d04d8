// brmrs_peer — the brmrs side of the PyTorch peer comparison (benchmarks/peer/peer.py).
//
//   brmrs_peer --dump DIR --items N [--backend simd|scalar]
// (BRMRS_BENCH_SMOKE=1 shrinks the shape as the benchmarks do.)
//
// Builds workload W with n_items = N (benchmarks/peer/workload.hpp), runs compute_objective once
// with table-shaped gradients (zeroed first, so they are the plain gradient dL/dtable, what
// PyTorch autograd leaves in .grad) and writes into DIR:
//   meta.json                      shapes, config, and the loss parts brmrs computed
//   user_<m>.f32, item_<m>.f32,    the tables (row-major float32), m = 0..M-1
//   fused_user.f32, fused_item.f32
//   users.i32, positives.i32, negatives.i32, pools.i32   the batch (int32)
//   hard.i32                       brmrs's hard negatives, B x M
//   grad_user_<m>.f32, grad_item_<m>.f32, grad_fused_user.f32, grad_fused_item.f32
// peer.py loads these files, so PyTorch runs on the very same bytes, and checks its loss and
// gradients against brmrs's before it times anything. Config: λ_bpr = λ_h = λ_s = 1, θ = 0.1,
// τ = 0, λ_reg = 0, mean reduction, stop-gradient on the unimodal margins, explicit negatives.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <brmrs/objective.hpp>

#include "workload.hpp"

namespace {

template <class T>
void write_raw(const std::string& path, const T* p, std::size_t n) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(p), static_cast<std::streamsize>(n * sizeof(T)));
  if (!f) throw std::runtime_error("cannot write " + path);
}

template <class Backend>
int dump(const std::string& dir, std::size_t n_items, const char* backend_name) {
  brmrs_bench::shape s;
  s.n_items = n_items;
  if (brmrs_bench::smoke()) s = s.smoke_version();  // BRMRS_BENCH_SMOKE=1: tiny shapes
  const brmrs_bench::workload<float> w(s);
  const auto tables = w.tables();
  const auto b = w.make_batch(true);
  brmrs::objective_config<float> cfg;  // defaults: λ = 1, θ = 0.1, τ = 0, λ_reg = 0, mean
  std::vector<std::int32_t> hard(s.B * s.M);
  std::vector<std::vector<float>> gu, gi;
  std::vector<float> gfu(s.n_users * s.d_f, 0.f), gfi(s.n_items * s.d_f, 0.f);
  brmrs::objective_outputs<float, std::int32_t> out;
  out.hard_negatives = brmrs::matrix_view<std::int32_t>(hard.data(), s.B, s.M);
  for (std::size_t m = 0; m < s.M; ++m) {
    gu.emplace_back(s.n_users * s.d, 0.f);
    gi.emplace_back(s.n_items * s.d, 0.f);
    out.tables.user.emplace_back(gu.back().data(), s.n_users, s.d);
    out.tables.item.emplace_back(gi.back().data(), s.n_items, s.d);
  }
  out.tables.fused_user = brmrs::matrix_view<float>(gfu.data(), s.n_users, s.d_f);
  out.tables.fused_item = brmrs::matrix_view<float>(gfi.data(), s.n_items, s.d_f);
  const auto r = brmrs::compute_objective(tables, b, cfg, out, Backend{});

  for (std::size_t m = 0; m < s.M; ++m) {
    write_raw(dir + "/user_" + std::to_string(m) + ".f32", w.user[m].data(), s.n_users * s.d);
    write_raw(dir + "/item_" + std::to_string(m) + ".f32", w.item[m].data(), s.n_items * s.d);
    write_raw(dir + "/grad_user_" + std::to_string(m) + ".f32", gu[m].data(), gu[m].size());
    write_raw(dir + "/grad_item_" + std::to_string(m) + ".f32", gi[m].data(), gi[m].size());
  }
  write_raw(dir + "/fused_user.f32", w.fused_user.data(), s.n_users * s.d_f);
  write_raw(dir + "/fused_item.f32", w.fused_item.data(), s.n_items * s.d_f);
  write_raw(dir + "/grad_fused_user.f32", gfu.data(), gfu.size());
  write_raw(dir + "/grad_fused_item.f32", gfi.data(), gfi.size());
  write_raw(dir + "/users.i32", w.users.data(), s.B);
  write_raw(dir + "/positives.i32", w.positives.data(), s.B);
  write_raw(dir + "/negatives.i32", w.negatives.data(), s.B);
  write_raw(dir + "/pools.i32", w.pools.data(), s.B * s.K);
  write_raw(dir + "/hard.i32", hard.data(), hard.size());

  std::ofstream meta(dir + "/meta.json");
  meta.precision(9);
  meta << "{\n  \"M\": " << s.M << ", \"d\": " << s.d << ", \"d_f\": " << s.d_f << ", \"B\": " << s.B
       << ", \"K\": " << s.K << ", \"n_users\": " << s.n_users << ", \"n_items\": " << s.n_items << ",\n"
       << "  \"theta\": " << cfg.theta << ", \"backend\": \"" << backend_name << "\",\n"
       << "  \"loss\": " << r.loss << ", \"bpr\": " << r.bpr << ", \"chns\": " << r.chns << ", \"synergy\": " << r.synergy
       << ",\n  \"fusion_degradation_rate\": " << r.fusion_degradation_rate
       << ", \"hard_negative_agreement\": " << r.hard_negative_agreement << "\n}\n";
  if (!meta) throw std::runtime_error("cannot write " + dir + "/meta.json");
  std::cout << "brmrs_peer: wrote workload W (n_items = " << s.n_items << ", backend " << backend_name << ") to " << dir
            << ", loss " << r.loss << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir;
  std::size_t n_items = 100000;
  std::string backend = "simd";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--dump" && i + 1 < argc) dir = argv[++i];
    else if (a == "--items" && i + 1 < argc) n_items = std::strtoull(argv[++i], nullptr, 10);
    else if (a == "--backend" && i + 1 < argc) backend = argv[++i];
    else {
      std::cerr << "usage: brmrs_peer --dump DIR [--items N] [--backend simd|scalar]\n";
      return 2;
    }
  }
  if (dir.empty()) {
    std::cerr << "usage: brmrs_peer --dump DIR [--items N] [--backend simd|scalar]\n";
    return 2;
  }
  try {
    if (backend == "scalar") return dump<brmrs::scalar_backend>(dir, n_items, "scalar");
#if BRMRS_HAS_XSIMD
    return dump<brmrs::default_backend>(dir, n_items, "simd");
#else
    return dump<brmrs::scalar_backend>(dir, n_items, "scalar (xsimd unavailable)");
#endif
  } catch (const std::exception& e) {
    std::cerr << "brmrs_peer: " << e.what() << "\n";
    return 1;
  }
}
