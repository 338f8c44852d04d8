// Driver for the PyTorch cross-check (check_objective_torch.py): builds one random double-precision
// case from a seed, runs brmrs::compute_objective (scalar backend) and writes the inputs and
// brmrs's outputs as JSON on stdout. The Python side recomputes everything with torch autograd.
//
// usage: objective_driver SEED M MODE SHARED REDUCE TAU GIVEN_NEGATIVES
//   MODE stop|through, SHARED 0|1, REDUCE mean|sum, TAU >= 0, GIVEN_NEGATIVES 0|1
#include <brmrs/objective.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

namespace {

void put(const char* name, const std::vector<double>& v, bool last = false) {
  std::printf("\"%s\": [", name);
  for (std::size_t i = 0; i < v.size(); ++i) std::printf("%s%.17g", i ? ", " : "", v[i]);
  std::printf("]%s\n", last ? "" : ",");
}
void put_ids(const char* name, const std::vector<std::int64_t>& v) {
  std::printf("\"%s\": [", name);
  for (std::size_t i = 0; i < v.size(); ++i) std::printf("%s%lld", i ? ", " : "", static_cast<long long>(v[i]));
  std::printf("],\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 8) {
    std::fprintf(stderr, "usage: %s SEED M stop|through SHARED mean|sum TAU GIVEN_NEGATIVES\n", argv[0]);
    return 2;
  }
  const std::uint64_t seed = std::strtoull(argv[1], nullptr, 10);
  const std::size_t M = std::strtoul(argv[2], nullptr, 10);
  const std::string mode = argv[3];
  const bool shared = std::atoi(argv[4]) != 0;
  const std::string reduce = argv[5];
  const double tau = std::atof(argv[6]);
  const bool given = std::atoi(argv[7]) != 0;

  std::mt19937_64 rng(seed);
  std::normal_distribution<double> nd(0.0, 0.7);
  const std::size_t B = 8, K = 5, n_users = 6, n_items = 14, d_f = 5;
  std::vector<std::size_t> dims;
  for (std::size_t m = 0; m < M; ++m) dims.push_back(shared ? 4 : 3 + m);
  std::vector<std::vector<double>> U(shared ? 1 : M), I(M);
  for (std::size_t m = 0; m < U.size(); ++m) {
    U[m].resize(n_users * dims[m]);
    for (auto& x : U[m]) x = nd(rng);
  }
  for (std::size_t m = 0; m < M; ++m) {
    I[m].resize(n_items * dims[m]);
    for (auto& x : I[m]) x = nd(rng);
  }
  std::vector<double> FU(n_users * d_f), FI(n_items * d_f);
  for (auto& x : FU) x = nd(rng);
  for (auto& x : FI) x = nd(rng);
  std::uniform_int_distribution<std::int64_t> du(0, n_users - 1), di(0, n_items - 1);
  std::vector<std::int64_t> users(B), pos(B), pools(B * K), negs(B);
  for (std::size_t b = 0; b < B; ++b) {
    users[b] = du(rng);
    pos[b] = di(rng);
    for (std::size_t k = 0; k < K; ++k) {
      std::int64_t j;
      do j = di(rng);
      while (j == pos[b]);
      pools[b * K + k] = j;
    }
    do negs[b] = di(rng);
    while (negs[b] == pos[b]);
  }

  brmrs::dot_tables<double> t;
  for (std::size_t m = 0; m < M; ++m) {
    t.user.push_back({U[shared ? 0 : m].data(), n_users, dims[m]});
    t.item.push_back({I[m].data(), n_items, dims[m]});
  }
  t.fused_user = {FU.data(), n_users, d_f};
  t.fused_item = {FI.data(), n_items, d_f};
  brmrs::batch<std::int64_t> bt{{users.data(), B}, {pos.data(), B}, {pools.data(), B, K}, {}};
  if (given) bt.negatives = {negs.data(), B};
  brmrs::objective_config<double> cfg;
  cfg.lambda_bpr = 0.8;
  cfg.lambda_hard = 1.3;
  cfg.lambda_synergy = 0.6;
  cfg.theta = 0.15;
  cfg.tau = tau;
  cfg.lambda_reg = 0.01;
  cfg.reduce = reduce == "sum" ? brmrs::reduction::sum : brmrs::reduction::mean;
  cfg.synergy_mode = mode == "through" ? brmrs::synergy_gradient::through_max : brmrs::synergy_gradient::stop_unimodal;
  cfg.seed = seed * 7919 + 13;
  cfg.step = seed % 5;
  cfg.example_offset = 1000 * (seed % 3);

  std::vector<std::vector<double>> gU(U.size()), gI(M);
  for (std::size_t m = 0; m < U.size(); ++m) gU[m].assign(U[m].size(), 0.0);
  for (std::size_t m = 0; m < M; ++m) gI[m].assign(I[m].size(), 0.0);
  std::vector<double> gFU(FU.size(), 0.0), gFI(FI.size(), 0.0);
  std::vector<std::int64_t> hard(B * M), used_neg(B);
  brmrs::objective_outputs<double, std::int64_t> out;
  for (std::size_t m = 0; m < M; ++m) {
    out.tables.user.push_back({gU[shared ? 0 : m].data(), n_users, dims[m]});
    out.tables.item.push_back({gI[m].data(), n_items, dims[m]});
  }
  out.tables.fused_user = {gFU.data(), n_users, d_f};
  out.tables.fused_item = {gFI.data(), n_items, d_f};
  out.hard_negatives = {hard.data(), B, M};
  out.negatives = {used_neg.data(), B};
  const auto r = brmrs::compute_objective(t, bt, cfg, out, brmrs::scalar_backend{});

  std::printf("{\n\"M\": %zu, \"B\": %zu, \"K\": %zu, \"n_users\": %zu, \"n_items\": %zu, \"d_f\": %zu,\n", M, B, K,
              n_users, n_items, d_f);
  std::printf("\"dims\": [");
  for (std::size_t m = 0; m < M; ++m) std::printf("%s%zu", m ? ", " : "", dims[m]);
  std::printf("],\n\"shared_user\": %s, \"given_negatives\": %s,\n", shared ? "true" : "false", given ? "true" : "false");
  std::printf("\"lambda_bpr\": %.17g, \"lambda_hard\": %.17g, \"lambda_synergy\": %.17g, \"theta\": %.17g, "
              "\"tau\": %.17g, \"lambda_reg\": %.17g, \"reduce\": \"%s\", \"mode\": \"%s\",\n",
              cfg.lambda_bpr, cfg.lambda_hard, cfg.lambda_synergy, cfg.theta, cfg.tau, cfg.lambda_reg, reduce.c_str(),
              mode.c_str());
  std::printf("\"seed\": %llu, \"step\": %llu, \"example_offset\": %llu,\n", static_cast<unsigned long long>(cfg.seed),
              static_cast<unsigned long long>(cfg.step), static_cast<unsigned long long>(cfg.example_offset));
  put_ids("users", users);
  put_ids("positives", pos);
  put_ids("pools", pools);
  put_ids("negatives", negs);
  put_ids("brmrs_hard_negatives", hard);
  put_ids("brmrs_used_negatives", used_neg);
  for (std::size_t m = 0; m < U.size(); ++m) put(("user_" + std::to_string(m)).c_str(), U[m]);
  for (std::size_t m = 0; m < M; ++m) put(("item_" + std::to_string(m)).c_str(), I[m]);
  put("fused_user", FU);
  put("fused_item", FI);
  for (std::size_t m = 0; m < U.size(); ++m) put(("grad_user_" + std::to_string(m)).c_str(), gU[m]);
  for (std::size_t m = 0; m < M; ++m) put(("grad_item_" + std::to_string(m)).c_str(), gI[m]);
  put("grad_fused_user", gFU);
  put("grad_fused_item", gFI);
  put("result", {r.loss, r.bpr, r.chns, r.synergy, r.l2, r.fusion_degradation_rate, r.hard_negative_agreement}, true);
  std::printf("}\n");
  return 0;
}
