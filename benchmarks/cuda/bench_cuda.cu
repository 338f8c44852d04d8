// Timing of the CUDA backend on workload W (DESIGN.md §4: M = 2, d = 64, d_f = 64, float32,
// B = 2048, K = 64, 100 000 users, n_items = 100 000 and 2 000) and at 16x the batch.
//
//   bench_cuda [--torch-json FILE] [--csv FILE]
//
// Measures, with CUDA events, the median of many runs after warm-up:
//   copy        cudaMemcpyAsync device-to-device of 1 GiB: the card's copy bandwidth, counting
//               bytes read plus bytes written (the ceiling the gathers are compared with)
//   sample      sample_pools (ids checked on the device, one synchronisation)
//   select      select_hard_negatives without the id check (the fused gather-score-argmax kernel
//               alone) and with it
//   objective   compute_objective with per-example gradient rows, and with table gradients
//               (deterministic scatter, and the atomic opt-in); each call includes its
//               synchronisation (the host reads the loss)
// Pools rotate over 4 sets so that repeated runs do not re-read the same candidates from L2.
// "gathered" bytes = B·K·Σd_m·4, the candidate rows of every modality; "% copy" = gathered
// bytes/s over the measured copy bandwidth. With --torch-json (written by torch_objective.py)
// the PyTorch eager time of the same objective is printed beside it. The table is printed last.
// BRMRS_BENCH_SMOKE=1: tiny shapes and few runs (a check that it runs, not a timing).
// Without a device: prints "SKIP: no CUDA device (...)" and exits 77.
#include <brmrs/backend/cuda/objective.cuh>
#include <brmrs/backend/cuda/sampler.cuh>
#include <brmrs/backend/cuda/select.cuh>
#include <brmrs/interactions.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace bc = brmrs::backend::cuda;
using Id = std::int32_t;

__global__ void fill_uniform(float* p, std::size_t n, std::uint64_t seed, float scale) {
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    const std::uint64_t r = brmrs::philox_draw64(seed, 0, i >> 1, i & 1u);
    p[i] = scale * (static_cast<float>(r >> 40) * (1.0f / 16777216.0f) * 2.0f - 1.0f);
  }
}

void fill(bc::device_buffer<float>& b, std::uint64_t seed, float scale) {
  fill_uniform<<<1024, 256>>>(b.data(), b.size(), seed, scale);
  BRMRS_CUDA_CHECK_LAUNCH("fill_uniform");
}

struct timer {
  cudaEvent_t a{}, b{};
  timer() {
    BRMRS_CUDA_CHECK(cudaEventCreate(&a));
    BRMRS_CUDA_CHECK(cudaEventCreate(&b));
  }
  ~timer() {
    (void)cudaEventDestroy(a);
    (void)cudaEventDestroy(b);
  }
  // Median milliseconds of reps runs of f(r) after warm runs.
  template <class F>
  double median_ms(F&& f, int warm, int reps) {
    for (int r = 0; r < warm; ++r) f(r);
    BRMRS_CUDA_CHECK(cudaDeviceSynchronize());
    std::vector<float> t;
    for (int r = 0; r < reps; ++r) {
      BRMRS_CUDA_CHECK(cudaEventRecord(a, 0));
      f(r);
      BRMRS_CUDA_CHECK(cudaEventRecord(b, 0));
      BRMRS_CUDA_CHECK(cudaEventSynchronize(b));
      float ms = 0;
      BRMRS_CUDA_CHECK(cudaEventElapsedTime(&ms, a, b));
      t.push_back(ms);
    }
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
  }
};

struct row {
  std::string op, workload;
  std::size_t B, n_items;
  double ms, candidates_per_s, gathered_gbs, pct_copy;
  std::string torch_key;
};

std::map<std::string, double> read_torch(const std::string& path, std::string& note) {
  std::map<std::string, double> m;
  std::ifstream in(path);
  if (!in) {
    note = "no PyTorch timings file (" + path + ")";
    return m;
  }
  // A flat JSON object: {"note": "...", "W/100000": 1.23, ...}; parsed by hand (no JSON library).
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string s = ss.str();
  std::size_t pos = 0;
  while ((pos = s.find('"', pos)) != std::string::npos) {
    const std::size_t end = s.find('"', pos + 1);
    if (end == std::string::npos) break;
    const std::string key = s.substr(pos + 1, end - pos - 1);
    std::size_t colon = s.find(':', end);
    if (colon == std::string::npos) break;
    std::size_t v = colon + 1;
    while (v < s.size() && s[v] == ' ') ++v;
    if (v < s.size() && s[v] == '"') {
      const std::size_t vend = s.find('"', v + 1);
      if (key == "note") note = s.substr(v + 1, vend - v - 1);
      pos = vend + 1;
    } else {
      m[key] = std::strtod(s.c_str() + v, nullptr);
      pos = v;
    }
  }
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  std::string torch_json, csv;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--torch-json") torch_json = argv[i + 1];
    if (a == "--csv") csv = argv[i + 1];
  }
  int n_dev = 0;
  const cudaError_t de = cudaGetDeviceCount(&n_dev);
  if (de != cudaSuccess || n_dev == 0) {
    std::printf("SKIP: no CUDA device (%s)\n",
                de != cudaSuccess ? cudaGetErrorString(de) : "cudaGetDeviceCount returned 0 devices");
    return 77;
  }
  const bool smoke = std::getenv("BRMRS_BENCH_SMOKE") != nullptr;
  try {
    cudaDeviceProp prop{};
    BRMRS_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
    char date[64];
    const std::time_t now = std::time(nullptr);
    std::strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
    std::printf("device: %s, cc %d.%d, %d SMs, L2 %d MB, %.1f GB, %s\n", prop.name, prop.major, prop.minor,
                prop.multiProcessorCount, prop.l2CacheSize >> 20, static_cast<double>(prop.totalGlobalMem) / 1e9, date);
    timer tm;
    const int reps = smoke ? 3 : 30, warm = smoke ? 1 : 5;

    // Copy bandwidth.
    const std::size_t copy_bytes = smoke ? (std::size_t(16) << 20) : (std::size_t(1) << 30);
    bc::device_buffer<unsigned char> src(copy_bytes), dst(copy_bytes);
    BRMRS_CUDA_CHECK(cudaMemset(src.data(), 1, copy_bytes));
    const double copy_ms = tm.median_ms(
        [&](int) { BRMRS_CUDA_CHECK(cudaMemcpyAsync(dst.data(), src.data(), copy_bytes, cudaMemcpyDeviceToDevice, 0)); },
        warm, reps);
    const double copy_bw = 2.0 * static_cast<double>(copy_bytes) / (copy_ms * 1e-3);
    std::printf("copy: %.3f ms for %zu MiB: %.1f GB/s (read + write)\n", copy_ms, copy_bytes >> 20, copy_bw / 1e9);

    std::string torch_note = "PyTorch timings not given";
    std::map<std::string, double> torch;
    if (!torch_json.empty()) torch = read_torch(torch_json, torch_note);

    std::vector<row> rows;
    const std::size_t M = 2, d = 64, K = 64;
    const std::size_t n_users = smoke ? 1000 : 100000;
    for (std::size_t n_items : {smoke ? std::size_t(1000) : std::size_t(100000), std::size_t(2000)}) {
      // Tables (uniform in [-0.1, 0.1]) and interactions (20 random items per user).
      std::vector<bc::device_buffer<float>> user, item;
      for (std::size_t m = 0; m < M; ++m) {
        user.emplace_back(n_users * d);
        item.emplace_back(n_items * d);
        fill(user.back(), 11 + m, 0.1f);
        fill(item.back(), 21 + m, 0.1f);
      }
      bc::device_buffer<float> fu(n_users * d), fi(n_items * d);
      fill(fu, 31, 0.1f);
      fill(fi, 32, 0.1f);
      std::vector<Id> pu, pi;
      std::uint64_t x = 12345;
      for (std::size_t u = 0; u < n_users; ++u)
        for (int j = 0; j < 20; ++j) {
          x = x * 6364136223846793005ull + 1442695040888963407ull;
          pu.push_back(static_cast<Id>(u));
          pi.push_back(static_cast<Id>((x >> 33) % n_items));
        }
      const auto obs = brmrs::interactions<Id>::from_pairs(n_users, n_items, {pu.data(), pu.size()}, {pi.data(), pi.size()});
      const auto dobs = bc::device_interactions<Id>::upload(obs);

      for (std::size_t mult : {std::size_t(1), std::size_t(16)}) {
        const std::size_t B = (smoke ? 64 : 2048) * mult;
        const std::string wl = mult == 1 ? "W" : "16xW";
        std::vector<Id> hu(B), hp(B);
        for (std::size_t b = 0; b < B; ++b) {
          x = x * 6364136223846793005ull + 1442695040888963407ull;
          hu[b] = static_cast<Id>((x >> 33) % n_users);
          hp[b] = obs.items_of(static_cast<std::size_t>(hu[b]))[0];
        }
        bc::device_buffer<Id> users(B), positives(B);
        BRMRS_CUDA_CHECK(cudaMemcpy(users.data(), hu.data(), B * sizeof(Id), cudaMemcpyHostToDevice));
        BRMRS_CUDA_CHECK(cudaMemcpy(positives.data(), hp.data(), B * sizeof(Id), cudaMemcpyHostToDevice));
        constexpr int sets = 4;
        std::vector<bc::device_buffer<Id>> pools;
        for (int s = 0; s < sets; ++s) {
          pools.emplace_back(B * K);
          bc::sample_pools(dobs.view(), brmrs::vector_view<const Id>(users.data(), B), 7, static_cast<std::uint64_t>(s), 0,
                           brmrs::matrix_view<Id>(pools.back().data(), B, K));
        }
        const double cand = static_cast<double>(B * K);
        const double gathered = cand * static_cast<double>(M * d * sizeof(float));
        auto add = [&](const std::string& op, double ms, const std::string& tkey) {
          const double bps = gathered / (ms * 1e-3);
          rows.push_back({op, wl, B, n_items, ms, cand / (ms * 1e-3), bps / 1e9, 100.0 * bps / copy_bw, tkey});
        };

        const double t_sample = tm.median_ms(
            [&](int r) {
              bc::sample_pools(dobs.view(), brmrs::vector_view<const Id>(users.data(), B), 7, 100 + static_cast<std::uint64_t>(r),
                               0, brmrs::matrix_view<Id>(pools[static_cast<std::size_t>(r % sets)].data(), B, K));
            },
            warm, reps);
        rows.push_back({"sample_pools", wl, B, n_items, t_sample, cand / (t_sample * 1e-3), 0, 0, ""});
        // Re-draw the sets that the timing loop overwrote, so every set is a valid pool.
        for (int s = 0; s < sets; ++s)
          bc::sample_pools(dobs.view(), brmrs::vector_view<const Id>(users.data(), B), 7, static_cast<std::uint64_t>(s), 0,
                           brmrs::matrix_view<Id>(pools[static_cast<std::size_t>(s)].data(), B, K));

        std::vector<brmrs::matrix_view<const float>> uv, iv;
        for (std::size_t m = 0; m < M; ++m) {
          uv.emplace_back(user[m].data(), n_users, d);
          iv.emplace_back(item[m].data(), n_items, d);
        }
        bc::device_buffer<Id> hard(B * M);
        bc::device_buffer<float> best(B * M);
        for (bool checked : {false, true}) {
          bc::launch_options opt;
          opt.check_ids = checked;
          const double t = tm.median_ms(
              [&](int r) {
                bc::select_hard_negatives<float, Id>(
                    uv, iv, brmrs::vector_view<const Id>(users.data(), B),
                    brmrs::matrix_view<const Id>(pools[static_cast<std::size_t>(r % sets)].data(), B, K),
                    brmrs::matrix_view<Id>(hard.data(), B, M), brmrs::matrix_view<float>(best.data(), B, M), 0, opt);
              },
              warm, reps);
          add(checked ? "select (ids checked)" : "select", t, "");
        }

        // Objective: rows; tables (deterministic); tables (atomic).
        brmrs::dot_tables<float> tabs;
        tabs.user = uv;
        tabs.item = iv;
        tabs.fused_user = {fu.data(), n_users, d};
        tabs.fused_item = {fi.data(), n_items, d};
        std::vector<bc::device_buffer<float>> rbuf;
        auto rowbuf = [&](std::size_t n) -> float* {
          rbuf.emplace_back(n);
          return rbuf.back().data();
        };
        brmrs::objective_outputs<float, Id> orows;
        for (std::size_t m = 0; m < M; ++m) {
          orows.rows.user.emplace_back(rowbuf(B * d), B, d);
          orows.rows.positive.emplace_back(rowbuf(B * d), B, d);
          orows.rows.negative.emplace_back(rowbuf(B * d), B, d);
          orows.rows.hard.emplace_back(rowbuf(B * M * d), B * M, d);
        }
        orows.rows.fused_user = {rowbuf(B * d), B, d};
        orows.rows.fused_positive = {rowbuf(B * d), B, d};
        orows.rows.fused_negative = {rowbuf(B * d), B, d};
        brmrs::objective_outputs<float, Id> otabs;
        for (std::size_t m = 0; m < M; ++m) {
          otabs.tables.user.emplace_back(rowbuf(n_users * d), n_users, d);
          otabs.tables.item.emplace_back(rowbuf(n_items * d), n_items, d);
        }
        otabs.tables.fused_user = {rowbuf(n_users * d), n_users, d};
        otabs.tables.fused_item = {rowbuf(n_items * d), n_items, d};
        const std::string tkey = wl + "/" + std::to_string(n_items);
        struct variant {
          const char* name;
          const brmrs::objective_outputs<float, Id>* out;
          bc::scatter_mode mode;
          const char* torch_suffix;
        };
        for (const variant& v : {variant{"objective + rows", &orows, bc::scatter_mode::deterministic, ""},
                                 variant{"objective + tables", &otabs, bc::scatter_mode::deterministic, ""},
                                 variant{"objective + tables (atomic)", &otabs, bc::scatter_mode::atomic, ""}}) {
          bc::launch_options opt;
          opt.scatter = v.mode;
          brmrs::objective_config<float> cfg;
          float sink = 0;
          const double t = tm.median_ms(
              [&](int r) {
                brmrs::batch<Id> bt;
                bt.users = {users.data(), B};
                bt.positives = {positives.data(), B};
                bt.pools = {pools[static_cast<std::size_t>(r % sets)].data(), B, K};
                sink += bc::compute_objective(tabs, bt, cfg, *v.out, 0, opt).loss;
              },
              warm, reps);
          add(v.name, t, tkey);
          if (!(sink == sink)) std::printf("warning: NaN loss in %s\n", v.name);
        }
      }
    }

    // The table, last.
    std::FILE* f = csv.empty() ? nullptr : std::fopen(csv.c_str(), "w");
    if (f) std::fprintf(f, "op,workload,B,n_items,ms,candidates_per_s,gathered_GBps,pct_copy,torch_ms,speedup\n");
    std::printf("\n== brmrs CUDA timings: %s, %s; copy bandwidth %.0f GB/s; median of %d runs\n", prop.name, date,
                copy_bw / 1e9, reps);
    std::printf("%s\n", torch.empty() ? ("PyTorch: " + torch_note).c_str() : ("PyTorch: " + torch_note).c_str());
    std::printf("%-28s %-5s %6s %7s %10s %12s %10s %7s %10s %8s\n", "op", "work", "B", "items", "ms", "cand/s",
                "gath GB/s", "%copy", "torch ms", "speedup");
    for (const row& r : rows) {
      double tms = 0;
      if (!r.torch_key.empty() && torch.count(r.torch_key)) tms = torch[r.torch_key];
      char tcol[32] = "-", scol[32] = "-";
      if (tms > 0) {
        std::snprintf(tcol, sizeof tcol, "%.3f", tms);
        std::snprintf(scol, sizeof scol, "%.1fx", tms / r.ms);
      }
      std::printf("%-28s %-5s %6zu %7zu %10.4f %12.3e %10.1f %7.1f %10s %8s\n", r.op.c_str(), r.workload.c_str(), r.B,
                  r.n_items, r.ms, r.candidates_per_s, r.gathered_gbs, r.pct_copy, tcol, scol);
      if (f)
        std::fprintf(f, "%s,%s,%zu,%zu,%.5f,%.4e,%.2f,%.2f,%s,%s\n", r.op.c_str(), r.workload.c_str(), r.B, r.n_items, r.ms,
                     r.candidates_per_s, r.gathered_gbs, r.pct_copy, tms > 0 ? tcol : "", tms > 0 ? scol : "");
    }
    if (f) std::fclose(f);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_cuda: FAILED: %s\n", e.what());
    return 1;
  }
  return 0;
}
