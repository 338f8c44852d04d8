// examples/train/train.cpp — brmrs_train: trains a small multimodal recommender with the brmrs
// sampler and objective (Adam, hand-written backward pass through the item projections, Eigen for
// the dense parts), evaluates it by full ranking, and runs the ablation
//   bpr      fused BPR only                       (λ_bpr = 1, λ_h = 0, λ_s = 0)
//   chns     + cross-modal hard negatives         (λ_bpr = 1, λ_h = h, λ_s = 0)
//   synergy  + synergy-aware loss                 (λ_bpr = 1, λ_h = 0, λ_s = s)
//   full     all three                            (λ_bpr = 1, λ_h = h, λ_s = s)
// with h = --lambda-hard, s = --lambda-synergy, over several seeds, printing and writing
// mean ± standard deviation. Defaults (docs/results.md, "Round 2: the linear fusion"): fusion
// `linear` (model.hpp: one user vector shared by the branches, a learned linear fusion of the
// item blocks, so the fused scorer can lose pairs both branches find: U_r is measurable); the
// shared hyperparameters (d, Adam step, L2) are the best of a grid by the BPR-only arm's
// validation Recall@20 on the synthetic data; λ_h = 0.1, λ_s = 0.3, θ = 1 the best by the full
// arm's validation Recall@20 among margins θ <= 1 (larger θ, where validation kept rising, turn
// the synergy term into an unconditional push on the fused margin — at θ = 1000 its gradient is
// λ_s for every example — so they are reported in docs/results.md but not used as the method's
// default). Test numbers were not used to choose anything. `--fusion sum --lambda-hard 0.03
// --lambda-synergy 0.3 --theta 0.5` is the previous default.
//
// Data: by default the embedded synthetic set (synthetic.hpp, generated from --data-seed); with
// --data DIR an MMRec folder: its .inter file and one .npy per modality named by --modalities
// (float16/32/64; other dtypes are refused by brmrs::read_npy).
// Outputs in --out (default out/train): curves.csv (per epoch), results.csv (per run, validation
// at the best epoch and test), summary.csv (mean, std over seeds), curves.png (gnuplot, mean
// validation Recall@20 per epoch and variant). Model selection: the epoch with the best
// validation Recall@20 of the fused scorer; test is evaluated once, on that epoch's parameters.
// `brmrs_train --help` lists every option.
#include <brmrs/eval.hpp>
#include <brmrs/interactions.hpp>
#include <brmrs/io/mmrec.hpp>
#include <brmrs/io/npy.hpp>
#include <brmrs/objective.hpp>
#include <brmrs/sampler.hpp>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iomanip>
#include <iostream>
#include <map>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <vector>

#include "model.hpp"
#include "synthetic.hpp"

#ifndef BRMRS_TRAIN_GNUPLOT_SCRIPT
#define BRMRS_TRAIN_GNUPLOT_SCRIPT "plot_curves.gp"
#endif

namespace te = train_example;
using T = float;
using mat = te::mat<T>;

namespace {

struct options {
  std::string data_dir, inter_file, out_dir = "out/train", gnuplot_script = BRMRS_TRAIN_GNUPLOT_SCRIPT;
  std::vector<std::string> modalities, variants{"bpr", "chns", "synergy", "full"};
  std::size_t epochs = 60, seeds = 3, seed0 = 1, batch = 1024, pool = 32, dim = 128;
  double lr = 0.003, l2 = 1e-4, theta = 1, lambda_hard = 0.1, lambda_synergy = 0.3;
  bool plot = true, skip_if_missing = false, self_check = false, quiet = false, item_embedding = true, profile = false;
  te::fusion fusion = te::fusion::linear;
  te::synthetic_options synth;
};

[[noreturn]] void usage(int code) {
  std::cout <<
      R"(brmrs_train — trains a multimodal recommender with the brmrs objective and runs the ablation.

Usage: brmrs_train [options]
  --data DIR            MMRec folder (.inter + one .npy per modality); default: embedded synthetic data
  --inter FILE          the .inter file (default: the only *.inter in DIR)
  --modalities A,B      feature files in DIR, by name with or without .npy (required with --data)
  --variants LIST       subset of bpr,chns,synergy,full (default: all four)
  --epochs N            epochs per run (default 60)
  --seeds N             seeds per variant (default 3), --seed0 S first seed (default 1)
  --batch B --pool K --dim d   batch size (1024), pool size K (32), width d of each block (128)
  --lr X --l2 X --theta X      Adam step (0.003), brmrs λ_reg (1e-4), synergy margin θ (1)
  --lambda-hard X --lambda-synergy X   weights used by the variants that turn the term on (0.1, 0.3)
  --users N --items N --data-seed S    synthetic data size (1200, 1000) and seed (7)
  --per-user N --beta X --jitter X --clusters N   synthetic picks per user (20), choice sharpness
                        (2.5), taste spread around the cluster centre (2), clusters per type (6)
  --mix A,B,S,AB        synthetic shares of A-only, B-only, synergy and A+B users (1,1,1,1)
  --dim-a N --signal-b N --noise-b N --noise-scale X   synthetic feature sizes (24, 16, 16, 1)
  --fusion linear|sum|separate  one user vector shared by every branch with a learned linear
                        fusion of the item blocks (default), the branch blocks plus more, or a
                        fused user row of its own (model.hpp)
  --item-embedding on|off   the fused row's free item embedding e (default on)
  --out DIR             output folder (default out/train)
  --no-plot             do not call gnuplot
  --skip-if-missing     with --data: print SKIP and exit 77 when DIR does not exist
  --self-check          compare the model's gradients with finite differences and exit
  --quiet               no per-epoch lines (a terminal still gets the progress line with its ETA)
  --profile             print where each run's epochs went (sampling, projection, objective,
                        backward, optimiser, evaluation: seconds per epoch)
)";
  std::exit(code);
}

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

options parse(int argc, char** argv) {
  options o;
  auto need = [&](int& i) -> std::string {
    if (i + 1 >= argc) {
      std::cerr << "brmrs_train: " << argv[i] << " needs a value\n";
      std::exit(2);
    }
    return argv[++i];
  };
  auto num = [&](int& i) -> double {
    const std::string flag = argv[i], v = need(i);
    char* end = nullptr;
    const double x = std::strtod(v.c_str(), &end);
    if (end == v.c_str() || *end != '\0') {
      std::cerr << "brmrs_train: " << flag << " = \"" << v << "\" is not a number\n";
      std::exit(2);
    }
    return x;
  };
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") usage(0);
    else if (a == "--data") o.data_dir = need(i);
    else if (a == "--inter") o.inter_file = need(i);
    else if (a == "--modalities") o.modalities = split_list(need(i));
    else if (a == "--variants") o.variants = split_list(need(i));
    else if (a == "--epochs") o.epochs = std::size_t(num(i));
    else if (a == "--seeds") o.seeds = std::size_t(num(i));
    else if (a == "--seed0") o.seed0 = std::size_t(num(i));
    else if (a == "--batch") o.batch = std::size_t(num(i));
    else if (a == "--pool") o.pool = std::size_t(num(i));
    else if (a == "--dim") o.dim = std::size_t(num(i));
    else if (a == "--lr") o.lr = num(i);
    else if (a == "--l2") o.l2 = num(i);
    else if (a == "--theta") o.theta = num(i);
    else if (a == "--lambda-hard") o.lambda_hard = num(i);
    else if (a == "--lambda-synergy") o.lambda_synergy = num(i);
    else if (a == "--users") o.synth.n_users = std::size_t(num(i));
    else if (a == "--items") o.synth.n_items = std::size_t(num(i));
    else if (a == "--data-seed") o.synth.seed = std::uint64_t(num(i));
    else if (a == "--per-user") o.synth.per_user = std::size_t(num(i));
    else if (a == "--beta") o.synth.beta = num(i);
    else if (a == "--jitter") o.synth.jitter = num(i);
    else if (a == "--clusters") o.synth.clusters = std::size_t(num(i));
    else if (a == "--noise-b") o.synth.noise_b = std::size_t(num(i));
    else if (a == "--noise-scale") o.synth.noise_scale = num(i);
    else if (a == "--dim-a") o.synth.dim_a = std::size_t(num(i));
    else if (a == "--signal-b") o.synth.signal_b = std::size_t(num(i));
    else if (a == "--mix") {
      const auto parts = split_list(need(i));
      if (parts.size() != 4) {
        std::cerr << "brmrs_train: --mix needs four weights A,B,synergy,A+B\n";
        std::exit(2);
      }
      double total = 0;
      for (std::size_t k = 0; k < 4; ++k) {
        char* end = nullptr;
        o.synth.mix[k] = std::strtod(parts[k].c_str(), &end);
        if (end == parts[k].c_str() || *end != '\0' || !(o.synth.mix[k] >= 0)) {
          std::cerr << "brmrs_train: --mix share " << k << " = \"" << parts[k] << "\" is not a number >= 0\n";
          std::exit(2);
        }
        total += o.synth.mix[k];
      }
      if (!(total > 0)) {
        std::cerr << "brmrs_train: --mix shares are all 0\n";
        std::exit(2);
      }
    }
    else if (a == "--item-embedding") {
      const std::string f = need(i);
      if (f != "on" && f != "off") {
        std::cerr << "brmrs_train: --item-embedding " << f << " must be on or off\n";
        std::exit(2);
      }
      o.item_embedding = f == "on";
    }
    else if (a == "--out") o.out_dir = need(i);
    else if (a == "--gnuplot-script") o.gnuplot_script = need(i);
    else if (a == "--no-plot") o.plot = false;
    else if (a == "--fusion") {
      const std::string f = need(i);
      if (f != "separate" && f != "sum" && f != "linear") {
        std::cerr << "brmrs_train: --fusion " << f << " must be sum, separate or linear\n";
        std::exit(2);
      }
      o.fusion = f == "separate" ? te::fusion::separate : f == "sum" ? te::fusion::sum : te::fusion::linear;
    }
    else if (a == "--skip-if-missing") o.skip_if_missing = true;
    else if (a == "--self-check") o.self_check = true;
    else if (a == "--quiet") o.quiet = true;
    else if (a == "--profile") o.profile = true;
    else {
      std::cerr << "brmrs_train: unknown option " << a << " (see --help)\n";
      std::exit(2);
    }
  }
  for (const auto& v : o.variants)
    if (v != "bpr" && v != "chns" && v != "synergy" && v != "full") {
      std::cerr << "brmrs_train: unknown variant " << v << " (bpr, chns, synergy, full)\n";
      std::exit(2);
    }
  if (o.epochs == 0 || o.seeds == 0 || o.batch == 0 || o.pool == 0 || o.dim == 0) {
    std::cerr << "brmrs_train: --epochs, --seeds, --batch, --pool and --dim must be >= 1\n";
    std::exit(2);
  }
  return o;
}

bool exists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0;
}

void make_dirs(const std::string& p) {
  std::string cur;
  for (std::size_t i = 0; i <= p.size(); ++i) {
    if (i == p.size() || p[i] == '/') {
      if (!cur.empty()) ::mkdir(cur.c_str(), 0755);
    }
    if (i < p.size()) cur += p[i];
  }
}

std::string stem(const std::string& path) {
  std::string s = path.substr(path.find_last_of('/') + 1);
  if (s.size() > 4 && s.compare(s.size() - 4, 4, ".npy") == 0) s.resize(s.size() - 4);
  return s;
}

// Column z-scores over items (constant columns become 0): features of very different scales
// (unit-norm sentence embeddings, raw VGGish activations) enter the projections alike.
void standardise(mat& X) {
  for (Eigen::Index c = 0; c < X.cols(); ++c) {
    const double mean = X.col(c).template cast<double>().mean();
    const double var = (X.col(c).template cast<double>().array() - mean).square().mean();
    const double sd = var > 1e-24 ? std::sqrt(var) : 0.0;
    for (Eigen::Index r = 0; r < X.rows(); ++r) X(r, c) = sd > 0 ? T((double(X(r, c)) - mean) / sd) : T(0);
  }
}

brmrs::interactions<std::int32_t> widen(const brmrs::interactions<std::int32_t>& s, std::size_t n_items) {
  const auto off = s.offsets();
  const auto idx = s.indices();
  return brmrs::interactions<std::int32_t>::from_csr(s.n_users(), n_items, std::vector<std::int64_t>(off.begin(), off.end()),
                                                     std::vector<std::int32_t>(idx.begin(), idx.end()));
}

te::dataset load_data(const options& o) {
  te::dataset ds;
  std::string inter = o.inter_file;
  if (inter.empty()) {
    // The only *.inter in the folder.
    const std::string cmd = "ls -1 \"" + o.data_dir + "\"/*.inter 2>/dev/null";
    FILE* f = ::popen(cmd.c_str(), "r");
    std::vector<std::string> found;
    char buf[4096];
    while (f != nullptr && std::fgets(buf, sizeof buf, f) != nullptr) {
      std::string line(buf);
      while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
      found.push_back(line);
    }
    if (f != nullptr) ::pclose(f);
    if (found.size() != 1) {
      std::cerr << "brmrs_train: " << o.data_dir << " holds " << found.size()
                << " .inter files; name one with --inter\n";
      std::exit(2);
    }
    inter = found[0];
  } else if (inter.find('/') == std::string::npos) {
    inter = o.data_dir + "/" + inter;
  }
  auto mm = brmrs::load_mmrec_inter(inter);
  ds.name = stem(o.data_dir.back() == '/' ? o.data_dir.substr(0, o.data_dir.size() - 1) : o.data_dir);
  ds.n_users = mm.n_users;
  ds.n_items = mm.n_items;
  if (o.modalities.size() < 2) {
    std::cerr << "brmrs_train: --data needs --modalities with at least two .npy names, e.g. "
                 "--modalities all-MiniLM-L6-v2,vggish\n";
    std::exit(2);
  }
  std::size_t rows = 0;
  for (const auto& name : o.modalities) {
    std::string path = name.find('/') != std::string::npos ? name : o.data_dir + "/" + name;
    if (!exists(path) && exists(path + ".npy")) path += ".npy";
    const auto arr = brmrs::read_npy<T>(path);
    std::cerr << "  modality " << stem(name) << ": " << arr.rows << " x " << arr.cols << " " << brmrs::to_string(arr.stored)
              << " from " << path << "\n";
    if (rows == 0) rows = arr.rows;
    if (arr.rows != rows || arr.rows < mm.n_items) {
      std::cerr << "brmrs_train: " << path << " has " << arr.rows << " rows; expected " << std::max(rows, mm.n_items)
                << " (one per item id, every modality alike)\n";
      std::exit(2);
    }
    mat X = Eigen::Map<const mat>(arr.data.data(), Eigen::Index(arr.rows), Eigen::Index(arr.cols));
    for (Eigen::Index k = 0; k < X.size(); ++k)
      if (!std::isfinite(X.data()[k])) {
        std::cerr << "brmrs_train: " << path << " holds a non-finite value at row " << k / X.cols() << ", column "
                  << k % X.cols() << "\n";
        std::exit(2);
      }
    ds.features.push_back(std::move(X));
    ds.modality_names.push_back(stem(name));
  }
  // Items that have features but appear in no split are still candidates.
  if (rows > mm.n_items) {
    mm.train = widen(mm.train, rows);
    mm.validation = widen(mm.validation, rows);
    mm.test = widen(mm.test, rows);
    ds.n_items = rows;
  }
  ds.train = std::move(mm.train);
  ds.validation = std::move(mm.validation);
  ds.test = std::move(mm.test);
  return ds;
}

struct variant_weights {
  T bpr, hard, synergy;
};

variant_weights weights_of(const std::string& v, const options& o) {
  const T h = T(o.lambda_hard), s = T(o.lambda_synergy);
  if (v == "bpr") return {1, 0, 0};
  if (v == "chns") return {1, h, 0};
  if (v == "synergy") return {1, 0, s};
  return {1, h, s};
}

// Full ranking of `held` (excluding the stores in `excluded`) under the M branch scorers and
// the fused one (scorers 0..M-1 and M of the report), or with fused_only under the fused one alone
// (scorer 0): brmrs::evaluate_ranking_blocked asks for tiles of users, each filled by one matrix
// product per scorer (the tile's user rows times the item table), so no n_users x n_items score
// matrix is ever held and the ranking reads each tile from cache.
brmrs::ranking_report evaluate(const te::model<T>& m, const brmrs::interactions<std::int32_t>& held,
                               const std::vector<const brmrs::interactions<std::int32_t>*>& excluded,
                               bool fused_only = false) {
  const std::size_t first = fused_only ? m.M : 0;
  auto score = [&](brmrs::vector_view<const std::size_t> users, brmrs::matrix_view<T> tile) {
    const auto n = Eigen::Index(users.size()), ni = Eigen::Index(m.n_items);
    mat Pu(n, Eigen::Index(m.Du));
    for (Eigen::Index r = 0; r < n; ++r) Pu.row(r) = m.P.row(Eigen::Index(users[std::size_t(r)]));
    for (std::size_t s = first; s <= m.M; ++s) {
      Eigen::Map<mat> out(tile.row((s - first) * users.size()), n, ni);
      if (s < m.M)
        out.noalias() = Pu.middleCols(m.ucol(s), m.dd()) * m.F.middleCols(m.blk(s), m.dd()).transpose();
      else
        out.noalias() = Pu.middleCols(Eigen::Index(m.fuo), Eigen::Index(m.Df)) *
                        m.F.middleCols(Eigen::Index(m.fio), Eigen::Index(m.Df)).transpose();
    }
  };
  brmrs::ranking_options ro;
  ro.ks = {10, 20};
  return brmrs::evaluate_ranking_blocked<T>(m.M + 1 - first, held, excluded, score, ro);
}

// Where an epoch's time goes (--profile): wall seconds per phase, summed over a run's epochs.
struct phase_times {
  enum phase { sampling, projection, objective, backward, optimiser, evaluation, count };
  static constexpr const char* names[count] = {"sampling", "projection", "objective", "backward", "optimiser",
                                               "evaluation"};
  double seconds[count] = {};
};

struct epoch_log {
  std::size_t epoch;
  double loss, bpr, chns, synergy, fdr, agreement, val_recall10, val_recall20, val_ndcg10, val_ndcg20, seconds;
};

struct run_result {
  std::string variant;
  std::size_t seed = 0, best_epoch = 0;
  brmrs::ranking_report val, test;
  double fdr = 0;  // training fusion degradation rate, mean over the best epoch's batches
  std::vector<epoch_log> curve;
  phase_times profile;  // over every epoch (the final test evaluation excluded)
};

// The progress line on a terminal: this run's epoch and step, and the ETA of the whole
// invocation (every run's epochs), from the time spent so far.
struct progress_line {
  bool on = false;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  std::size_t total_epochs = 1, done_epochs = 0;

  void show(const std::string& tag, std::size_t epoch, std::size_t epochs, std::size_t step, std::size_t steps,
            double loss) const {
    if (!on) return;
    const int width = 24;
    const double frac_epoch = double(step) / double(steps);
    const int filled = int(double(width) * frac_epoch);
    const double done = (double(done_epochs) + frac_epoch) / double(total_epochs);
    const double spent = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::fprintf(stderr, "\r%s epoch %2zu/%zu [", tag.c_str(), epoch, epochs);
    for (int k = 0; k < width; ++k) std::fputc(k < filled ? '#' : '.', stderr);
    std::fprintf(stderr, "] %3d%%  loss %.4f  ", int(100.0 * frac_epoch), loss);
    if (done > 0) {
      const long eta = long(spent * (1.0 - done) / done + 0.5);
      std::fprintf(stderr, "ETA %ld:%02ld:%02ld ", eta / 3600, (eta / 60) % 60, eta % 60);
    }
    std::fflush(stderr);
  }
  void clear() const {
    if (on) std::fprintf(stderr, "\r%*s\r", 100, "");
  }
};

run_result train_one(const te::dataset& ds, const std::vector<mat>& X, const options& o, const std::string& variant,
                     std::size_t seed, progress_line& bar) {
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  const std::size_t M = X.size(), d = o.dim;
  te::model<T> model(ds.n_users, ds.n_items, X, d, seed * 1000003u + 17u, o.fusion, o.item_embedding);
  const variant_weights w = weights_of(variant, o);

  // Training pairs in CSR order; shuffled every epoch.
  std::vector<std::pair<std::int32_t, std::int32_t>> pairs;
  for (std::size_t u = 0; u < ds.n_users; ++u)
    for (const auto i : ds.train.items_of(u)) pairs.emplace_back(std::int32_t(u), i);
  std::mt19937_64 shuffle_rng(seed * 7919u + 3u);

  const std::size_t B = o.batch, K = o.pool;
  std::vector<std::int32_t> users(B), positives(B), pools(B * K);
  te::batch_grads<T> g;
  g.resize(model, B);
  // dP and dF start at zero; Adam and backward_items clear them once read, for the next scatter.
  mat dP = mat::Zero(Eigen::Index(ds.n_users), Eigen::Index(model.Du));
  mat dF = mat::Zero(Eigen::Index(ds.n_items), Eigen::Index(model.Di)), dE;
  std::vector<unsigned char> item_touched(ds.n_items, 0);  // dF's rows the scatter wrote
  std::vector<mat> dW, dC;
  te::lazy_row_adam<T> aP;  // a batch's gradient reaches only its users' rows of P
  te::adam_state<T> aE;
  std::vector<Eigen::Index> batch_users;  // the distinct users of the batch
  std::vector<std::uint64_t> seen_at(ds.n_users, 0);
  std::vector<te::adam_state<T>> aW(M), aC(M);
  te::adam_options adam;
  adam.lr = o.lr;

  brmrs::objective_config<T> cfg;
  cfg.lambda_bpr = w.bpr;
  cfg.lambda_hard = w.hard;
  cfg.lambda_synergy = w.synergy;
  cfg.theta = T(o.theta);
  cfg.lambda_reg = T(o.l2);
  cfg.seed = seed;

  run_result res;
  res.variant = variant;
  res.seed = seed;
  auto lap = clock::now();
  auto mark = [&](phase_times::phase ph) {
    const auto now = clock::now();
    res.profile.seconds[ph] += std::chrono::duration<double>(now - lap).count();
    lap = now;
  };
  double best = -1;
  te::model<T> best_model;
  std::uint64_t step = 0;
  const std::size_t steps = (pairs.size() + B - 1) / B;
  const std::string tag = "[" + variant + " seed " + std::to_string(seed) + "]";
  for (std::size_t epoch = 1; epoch <= o.epochs; ++epoch) {
    lap = clock::now();
    std::shuffle(pairs.begin(), pairs.end(), shuffle_rng);
    double sum_loss = 0, sum_bpr = 0, sum_chns = 0, sum_syn = 0, sum_fdr = 0, sum_agr = 0;
    for (std::size_t s = 0; s < steps; ++s) {
      const std::size_t begin = s * B, b = std::min(B, pairs.size() - begin);
      for (std::size_t e = 0; e < b; ++e) {
        users[e] = pairs[begin + e].first;
        positives[e] = pairs[begin + e].second;
      }
      const brmrs::vector_view<const std::int32_t> uv(users.data(), b), pv(positives.data(), b);
      brmrs::sample_pools(ds.train, uv, seed, step, 0, brmrs::matrix_view<std::int32_t>(pools.data(), b, K));
      mark(phase_times::sampling);
      batch_users.clear();
      for (std::size_t e = 0; e < b; ++e)
        if (seen_at[std::size_t(users[e])] != step + 1) {
          seen_at[std::size_t(users[e])] = step + 1;
          batch_users.push_back(users[e]);
        }
      aP.catch_up(model.P, batch_users, adam, long(step));  // the rows the objective reads
      mark(phase_times::optimiser);
      model.forward_items(X);
      mark(phase_times::projection);
      cfg.step = step;
      const brmrs::batch<std::int32_t> bt{uv, pv, brmrs::matrix_view<const std::int32_t>(pools.data(), b, K), {}};
      const auto r = brmrs::compute_objective(model.tables(), bt, cfg, g.outputs(b));
      mark(phase_times::objective);
      g.scatter(b, users.data(), positives.data(), dP, dF, &item_touched);
      model.backward_items(X, dF, dE, dW, dC, true, &item_touched);
      mark(phase_times::backward);
      ++step;
      aP.step(model.P, dP, batch_users, adam, long(step));
      if (model.item_embedding) te::adam_step(model.E, dE, aE, adam, long(step));
      for (std::size_t m = 0; m < M; ++m) te::adam_step(model.W[m], dW[m], aW[m], adam, long(step));
      for (std::size_t m = 0; m < model.C.size(); ++m) te::adam_step(model.C[m], dC[m], aC[m], adam, long(step));
      mark(phase_times::optimiser);
      sum_loss += r.loss, sum_bpr += r.bpr, sum_chns += r.chns, sum_syn += r.synergy;
      sum_fdr += r.fusion_degradation_rate, sum_agr += r.hard_negative_agreement;
      if (s % 4 == 0 || s + 1 == steps) bar.show(tag, epoch, o.epochs, s + 1, steps, sum_loss / double(s + 1));
      lap = clock::now();
    }
    aP.sync(model.P, adam, long(step));
    mark(phase_times::optimiser);
    model.forward_items(X);
    // Model selection reads the fused scorer only; the best epoch's full report comes at the end.
    const auto val = evaluate(model, ds.validation, {&ds.train}, true);
    mark(phase_times::evaluation);
    ++bar.done_epochs;
    const double n = double(steps);
    epoch_log log{epoch, sum_loss / n, sum_bpr / n, sum_chns / n, sum_syn / n, sum_fdr / n, sum_agr / n,
                  val.recall_at(0, 10), val.recall_at(0, 20), val.ndcg_at(0, 10), val.ndcg_at(0, 20),
                  std::chrono::duration<double>(clock::now() - t0).count()};
    res.curve.push_back(log);
    if (!o.quiet) {
      bar.clear();
      std::fprintf(stderr, "%s epoch %2zu/%zu  loss %.4f  fdr %.3f  val R@20 %.4f  N@20 %.4f  (%.1f s)\n", tag.c_str(),
                   epoch, o.epochs, log.loss, log.fdr, log.val_recall20, log.val_ndcg20, log.seconds);
    }
    if (log.val_recall20 > best) {
      best = log.val_recall20;
      best_model = model;
      res.best_epoch = epoch;
      res.fdr = log.fdr;
    }
  }
  res.val = evaluate(best_model, ds.validation, {&ds.train});
  res.test = evaluate(best_model, ds.test, {&ds.train, &ds.validation});
  return res;
}

// --- gradient self-check: the model's backward pass against central differences (double) ---
// d = 4 with 5 features a modality: the linear fusion's backward goes through X_aᵀ [dQ | dH'_a]
// (f < 2 d, model.hpp); d = 2 takes the direct products.
int self_check_one(te::fusion fusion, bool item_embedding, std::size_t d = 4) {
  using D = double;
  using dmat = te::mat<D>;
  te::synthetic_options so;
  so.n_users = 30, so.n_items = 40, so.per_user = 6, so.dim_a = 5, so.signal_b = 3, so.noise_b = 2;
  const te::dataset ds = te::make_synthetic(so);
  std::vector<dmat> X;
  for (const auto& f : ds.features) X.push_back(f.cast<D>());
  te::model<D> m(ds.n_users, ds.n_items, X, d, 99, fusion, item_embedding);
  m.block_rows = 16;  // 40 items: blocks of 16, 16 and 8, so the per-block shares are added up
  for (auto& w : m.W) w *= 0.5;
  {
    // Move the linear fusion's C_m off the identity so the check sees a general mixing.
    std::mt19937_64 gc(5);
    std::normal_distribution<double> nc(0.0, 0.3);
    for (auto& c : m.C)
      for (Eigen::Index k = 0; k < c.size(); ++k) c.data()[k] += nc(gc);
  }
  const std::size_t B = 8, K = 5, M = X.size();
  std::vector<std::int32_t> users, positives, pools(B * K), negs(B);
  for (std::size_t e = 0; e < B; ++e) {
    const std::size_t u = (e * 7) % ds.n_users;
    users.push_back(std::int32_t(u));
    positives.push_back(ds.train.items_of(u)[0]);
  }
  brmrs::sample_pools(ds.train, brmrs::vector_view<const std::int32_t>(users.data(), B), 5, 0, 0,
                      brmrs::matrix_view<std::int32_t>(pools.data(), B, K),
                      brmrs::vector_view<std::int32_t>(negs.data(), B), brmrs::negative_source::complement);
  brmrs::objective_config<D> cfg;
  cfg.lambda_reg = 0.01;
  // The default synergy gradient stops the unimodal margins (a chosen pseudo-gradient, not the
  // derivative of the loss); through_max is the loss's true derivative, which differences see.
  cfg.synergy_mode = brmrs::synergy_gradient::through_max;
  const brmrs::batch<std::int32_t> bt{brmrs::vector_view<const std::int32_t>(users.data(), B),
                                      brmrs::vector_view<const std::int32_t>(positives.data(), B),
                                      brmrs::matrix_view<const std::int32_t>(pools.data(), B, K),
                                      brmrs::vector_view<const std::int32_t>(negs.data(), B)};
  auto loss_of = [&](te::model<D>& mm) {
    mm.forward_items(X);
    return brmrs::compute_objective(mm.tables(), bt, cfg).loss;
  };
  te::batch_grads<D> g;
  g.resize(m, B);
  m.forward_items(X);
  brmrs::compute_objective(m.tables(), bt, cfg, g.outputs(B));
  dmat dP = dmat::Zero(Eigen::Index(m.n_users), Eigen::Index(m.Du)), dF = dmat::Zero(Eigen::Index(m.n_items), Eigen::Index(m.Di)), dE;
  std::vector<dmat> dW, dC;
  std::vector<unsigned char> touched(m.n_items, 0);
  g.scatter(B, users.data(), positives.data(), dP, dF, &touched);
  const long n_touched = long(std::count(touched.begin(), touched.end(), 1));
  // Two backward passes: every row (the copy dF_all) and the touched rows only (the trainer's).
  dmat dF_all = dF, dE_all;
  std::vector<dmat> dW_all, dC_all;
  m.backward_items(X, dF_all, dE_all, dW_all, dC_all, true);
  m.backward_items(X, dF, dE, dW, dC, true, &touched);
  if (!dF.isZero(0) || !dF_all.isZero(0)) {  // cleared for the next step's scatter (the trainer relies on it)
    std::fprintf(stderr, "self-check: backward_items left %ld / %ld entries of dF nonzero\n", long((dF.array() != 0).count()),
                 long((dF_all.array() != 0).count()));
    return 1;
  }
  // The two passes take the same terms (the untouched rows' are zero), blocked differently.
  double pass_gap = 0;
  auto gap = [&](const dmat& a, const dmat& b) {
    pass_gap = std::max(pass_gap, (a - b).cwiseAbs().maxCoeff() / std::max(1e-300, b.cwiseAbs().maxCoeff()));
  };
  if (m.item_embedding) gap(dE, dE_all);
  for (std::size_t a = 0; a < M; ++a) gap(dW[a], dW_all[a]);
  for (std::size_t a = 0; a < dC.size(); ++a) gap(dC[a], dC_all[a]);
  if (pass_gap > 1e-12) {
    std::fprintf(stderr, "self-check: touched-rows and every-row backward differ by %.3g (relative)\n", pass_gap);
    return 1;
  }
  if (n_touched == 0 || n_touched == long(m.n_items) || std::count(touched.begin(), touched.end(), 0) != long(m.n_items)) {
    std::fprintf(stderr, "self-check: %ld of %zu item rows touched (want some, not all), flags not reset\n", n_touched,
                 m.n_items);
    return 1;
  }
  double worst = 0;
  int checked = 0;
  auto check = [&](dmat& param, const dmat& grad, const char* name) {
    for (Eigen::Index k = 0; k < param.size(); k += 3) {
      const D h = 1e-6, keep = param.data()[k];
      param.data()[k] = keep + h;
      const D lp = loss_of(m);
      param.data()[k] = keep - h;
      const D lm = loss_of(m);
      param.data()[k] = keep;
      const D fd = (lp - lm) / (2 * h), an = grad.data()[k];
      const D err = std::fabs(fd - an) / std::max(1e-3, std::fabs(fd) + std::fabs(an));
      if (err > worst) worst = err;
      if (err > 1e-4) std::fprintf(stderr, "self-check: %s[%ld] analytic %.9g finite-difference %.9g\n", name, long(k), an, fd);
      ++checked;
    }
  };
  check(m.P, dP, "P");
  if (m.item_embedding) check(m.E, dE, "E");
  for (std::size_t a = 0; a < M; ++a) check(m.W[a], dW[a], "W");
  for (std::size_t a = 0; a < m.C.size(); ++a) check(m.C[a], dC[a], "C");
  if (m.item_embedding) check(m.E, dE_all, "E (every row)");
  for (std::size_t a = 0; a < M; ++a) check(m.W[a], dW_all[a], "W (every row)");
  for (std::size_t a = 0; a < m.C.size(); ++a) check(m.C[a], dC_all[a], "C (every row)");
  std::printf("self-check (fusion %s, item embedding %s, d = %zu, %ld of %zu item rows touched): %d parameters, worst "
              "relative error %.3g (%s)\n",
              te::fusion_name(fusion), item_embedding ? "on" : "off", d, n_touched, m.n_items, checked, worst,
              worst < 1e-4 ? "ok" : "FAILED");
  return worst < 1e-4 ? 0 : 1;
}

// lazy_row_adam against dense adam_step on random sparse row gradients (float, the trainer's type):
// every row the lazy table brings up to date before a step, and the whole table, its moments and
// its cleared gradient after sync, must equal the dense ones bitwise.
int lazy_adam_check() {
  using fmat = te::mat<float>;
  const Eigen::Index rows = 50, cols = 37;
  const long steps = 30;
  std::mt19937_64 gen(11);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  fmat lazy_p(rows, cols);
  for (Eigen::Index k = 0; k < lazy_p.size(); ++k) lazy_p.data()[k] = nd(gen);
  fmat dense_p = lazy_p, lazy_g = fmat::Zero(rows, cols), dense_g = lazy_g;
  te::adam_options o;
  o.lr = 0.01;
  te::adam_state<float> dense;
  te::lazy_row_adam<float> lazy;
  auto same = [](const float* a, const float* b, Eigen::Index n) { return std::memcmp(a, b, sizeof(float) * std::size_t(n)) == 0; };
  long differing = 0;
  for (long t = 1; t <= steps; ++t) {
    std::vector<Eigen::Index> touched;
    for (Eigen::Index r = 0; r < rows; ++r)
      if (gen() % 5 == 0) touched.push_back(r);
    lazy.catch_up(lazy_p, touched, o, t - 1);
    for (const auto r : touched) {
      if (!same(lazy_p.row(r).data(), dense_p.row(r).data(), cols)) ++differing;
      for (Eigen::Index j = 0; j < cols; ++j) lazy_g(r, j) = dense_g(r, j) = nd(gen);
    }
    te::adam_step(dense_p, dense_g, dense, o, t, true);
    lazy.step(lazy_p, lazy_g, touched, o, t);
  }
  lazy.sync(lazy_p, o, steps);
  const bool ok = differing == 0 && same(lazy_p.data(), dense_p.data(), lazy_p.size()) &&
                  same(lazy.st.m.data(), dense.m.data(), lazy_p.size()) &&
                  same(lazy.st.v.data(), dense.v.data(), lazy_p.size()) && lazy_g.isZero(0);
  std::printf("self-check (lazy Adam against dense Adam, %ld steps): %ld rows read out of date, table %s (%s)\n", steps,
              differing, same(lazy_p.data(), dense_p.data(), lazy_p.size()) ? "equal" : "different", ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}

int self_check() {
  int rc = lazy_adam_check();
  for (const auto f : {te::fusion::separate, te::fusion::sum, te::fusion::linear})
    for (const bool e : {true, false}) rc |= self_check_one(f, e);
  for (const bool e : {true, false}) rc |= self_check_one(te::fusion::linear, e, 2);
  return rc;
}

// --profile: one line per run, seconds per epoch by phase (mean over the run's epochs).
void print_profile(const run_result& r, std::size_t epochs) {
  double total = 0;
  for (double x : r.profile.seconds) total += x;
  std::printf("profile [%s seed %zu], s per epoch:", r.variant.c_str(), r.seed);
  for (int ph = 0; ph < phase_times::count; ++ph)
    std::printf(" %s %.3f", phase_times::names[ph], r.profile.seconds[ph] / double(epochs));
  std::printf(" | epoch %.3f\n", total / double(epochs));
  std::fflush(stdout);
}

double mean_of(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0) / double(v.size()); }
// Sample standard deviation (n - 1); 0 for a single seed.
double std_of(const std::vector<double>& v) {
  if (v.size() < 2) return 0.0;
  const double mu = mean_of(v);
  double s = 0;
  for (double x : v) s += (x - mu) * (x - mu);
  return std::sqrt(s / double(v.size() - 1));
}

struct metric_def {
  std::string name;
  std::function<double(const run_result&)> get;
};

}  // namespace

int main(int argc, char** argv) {
  const options o = parse(argc, argv);
  if (o.self_check) return self_check();
  // Eigen's own parallel products synchronise their threads by spinning: on a shared 2-core
  // machine one descheduled thread stalls the other (a 40 s epoch instead of 4 s, measured on
  // the TikTok-shaped set). Products run single-threaded; the evaluation parallelises over tiles.
  Eigen::setNbThreads(1);
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();

  te::dataset ds;
  if (!o.data_dir.empty()) {
    if (!exists(o.data_dir)) {
      if (o.skip_if_missing) {
        std::printf("SKIP: data folder %s is absent\n", o.data_dir.c_str());
        return 77;
      }
      std::cerr << "brmrs_train: data folder " << o.data_dir << " does not exist\n";
      return 2;
    }
    std::cerr << "loading " << o.data_dir << "\n";
    try {
      ds = load_data(o);
    } catch (const brmrs::invalid_argument& e) {
      std::cerr << "brmrs_train: " << e.what() << "\n";
      return 2;
    }
  } else {
    ds = te::make_synthetic(o.synth);
  }
  std::vector<mat> X = ds.features;
  for (auto& x : X) standardise(x);
  const std::size_t M = X.size();
  std::cerr << ds.name << ": " << ds.n_users << " users, " << ds.n_items << " items, train " << ds.train.nnz()
            << ", validation " << ds.validation.nnz() << ", test " << ds.test.nnz() << " pairs, modalities";
  for (std::size_t m = 0; m < M; ++m) std::cerr << " " << ds.modality_names[m] << " (" << X[m].cols() << ")";
  std::cerr << "\n";

  make_dirs(o.out_dir);
  std::vector<run_result> runs;
  progress_line bar;
  bar.on = ::isatty(::fileno(stderr)) != 0;
  bar.total_epochs = o.variants.size() * o.seeds * o.epochs;
  for (const auto& v : o.variants)
    for (std::size_t s = 0; s < o.seeds; ++s) {
      runs.push_back(train_one(ds, X, o, v, o.seed0 + s, bar));
      if (o.profile) print_profile(runs.back(), o.epochs);
    }
  bar.clear();

  // Metrics written per run and summarised over seeds. Subsets at K = 20, shares of held-out pairs.
  std::vector<metric_def> metrics{
      {"recall@10", [M](const run_result& r) { return r.test.recall_at(M, 10); }},
      {"recall@20", [M](const run_result& r) { return r.test.recall_at(M, 20); }},
      {"ndcg@10", [M](const run_result& r) { return r.test.ndcg_at(M, 10); }},
      {"ndcg@20", [M](const run_result& r) { return r.test.ndcg_at(M, 20); }}};
  for (std::size_t m = 0; m < M; ++m)
    metrics.push_back({"only_" + ds.modality_names[m] + "@20", [m](const run_result& r) { return r.test.only_share(20, m); }});
  metrics.push_back({"only_fused@20", [](const run_result& r) { return r.test.synergy_share(20); }});
  metrics.push_back({"degraded@20", [](const run_result& r) { return r.test.degradation_share(20); }});
  // Every branch hits, whatever the fused scorer does: the pairs where U_r can occur at all.
  metrics.push_back({"all_branches_hit@20", [M](const run_result& r) {
                       const unsigned all = (1u << M) - 1u;
                       return r.test.pattern_share(20, all) + r.test.pattern_share(20, all | (1u << M));
                     }});
  for (std::size_t m = 0; m < M; ++m)
    metrics.push_back({"recall@20_" + ds.modality_names[m], [m](const run_result& r) { return r.test.recall_at(m, 20); }});
  metrics.push_back({"train_fdr", [](const run_result& r) { return r.fdr; }});

  {
    std::ofstream f(o.out_dir + "/curves.csv");
    f << "dataset,variant,seed,epoch,loss,bpr,chns,synergy,train_fdr,hard_agreement,val_recall@10,val_recall@20,"
         "val_ndcg@10,val_ndcg@20,seconds\n";
    f << std::setprecision(6);
    for (const auto& r : runs)
      for (const auto& e : r.curve)
        f << ds.name << ',' << r.variant << ',' << r.seed << ',' << e.epoch << ',' << e.loss << ',' << e.bpr << ',' << e.chns
          << ',' << e.synergy << ',' << e.fdr << ',' << e.agreement << ',' << e.val_recall10 << ',' << e.val_recall20 << ','
          << e.val_ndcg10 << ',' << e.val_ndcg20 << ',' << e.seconds << '\n';
  }
  {
    std::ofstream f(o.out_dir + "/results.csv");
    f << "dataset,variant,seed,best_epoch,split";
    for (const auto& md : metrics) f << ',' << md.name;
    f << '\n' << std::setprecision(6);
    for (const auto& r : runs) {
      // The validation row uses the same accessors on the validation report.
      run_result as_val = r;
      as_val.test = r.val;
      for (int split = 0; split < 2; ++split) {
        const run_result& rr = split == 0 ? as_val : r;
        f << ds.name << ',' << r.variant << ',' << r.seed << ',' << r.best_epoch << ',' << (split == 0 ? "validation" : "test");
        for (const auto& md : metrics) f << ',' << md.get(rr);
        f << '\n';
      }
    }
  }
  // Summary over seeds (test split).
  std::map<std::string, std::vector<const run_result*>> by_variant;
  for (const auto& r : runs) by_variant[r.variant].push_back(&r);
  {
    std::ofstream f(o.out_dir + "/summary.csv");
    f << "dataset,variant,metric,mean,std,seeds\n" << std::setprecision(6);
    for (const auto& v : o.variants)
      for (const auto& md : metrics) {
        std::vector<double> xs;
        for (const auto* r : by_variant[v]) xs.push_back(md.get(*r));
        f << ds.name << ',' << v << ',' << md.name << ',' << mean_of(xs) << ',' << std_of(xs) << ',' << xs.size() << '\n';
      }
  }
  // Markdown table on stdout (mean ± sample std over seeds, test split, best validation epoch).
  std::printf("\n%s, fusion %s, test split, mean ± std over %zu seed(s), %zu epochs (model selected by validation "
              "Recall@20):\n\n",
              ds.name.c_str(), te::fusion_name(o.fusion), o.seeds, o.epochs);
  std::printf("| variant |");
  for (const auto& md : metrics) std::printf(" %s |", md.name.c_str());
  std::printf("\n|---|");
  for (std::size_t k = 0; k < metrics.size(); ++k) std::printf("---|");
  std::printf("\n");
  for (const auto& v : o.variants) {
    std::printf("| %s |", v.c_str());
    for (const auto& md : metrics) {
      std::vector<double> xs;
      for (const auto* r : by_variant[v]) xs.push_back(md.get(*r));
      std::printf(" %.4f ± %.4f |", mean_of(xs), std_of(xs));
    }
    std::printf("\n");
  }
  if (by_variant.count("bpr") && by_variant.count("full")) {
    std::vector<double> a, b;
    for (const auto* r : by_variant["full"]) a.push_back(r->test.recall_at(M, 20));
    for (const auto* r : by_variant["bpr"]) b.push_back(r->test.recall_at(M, 20));
    const double diff = mean_of(a) - mean_of(b), sd = std::max(std_of(a), std_of(b));
    std::printf("\nfull - bpr test Recall@20 = %+.4f; larger seed std = %.4f; ratio %s\n", diff, sd,
                sd > 0 ? std::to_string(diff / sd).c_str() : "n/a (one seed)");
    std::vector<double> ga, gb;
    for (const auto* r : by_variant["full"]) ga.push_back(r->test.degradation_share(20));
    for (const auto* r : by_variant["bpr"]) gb.push_back(r->test.degradation_share(20));
    std::printf("degraded@20 (U_r, share of test pairs): full %.5f ± %.5f, bpr %.5f ± %.5f\n", mean_of(ga), std_of(ga),
                mean_of(gb), std_of(gb));
  }

  // Chart: mean validation Recall@20 per epoch and variant.
  const std::string dat = o.out_dir + "/curves_plot.dat", png = o.out_dir + "/curves.png";
  {
    std::ofstream f(dat);
    for (const auto& v : o.variants) {
      f << "# " << v << "\n";
      for (std::size_t e = 0; e < o.epochs; ++e) {
        std::vector<double> r20, n20;
        for (const auto* r : by_variant[v]) {
          r20.push_back(r->curve[e].val_recall20);
          n20.push_back(r->curve[e].val_ndcg20);
        }
        f << e + 1 << ' ' << mean_of(r20) << ' ' << std_of(r20) << ' ' << mean_of(n20) << '\n';
      }
      f << "\n\n";
    }
  }
  if (o.plot) {
    std::string titles;
    for (const auto& v : o.variants) titles += (titles.empty() ? "" : " ") + v;
    const std::string cmd = "gnuplot -e \"datafile='" + dat + "'; outfile='" + png + "'; titles='" + titles +
                            "'; label='" + ds.name + "'\" \"" + o.gnuplot_script + "\"";
    if (std::system(cmd.c_str()) == 0)
      std::printf("chart: %s\n", png.c_str());
    else
      std::printf("chart: gnuplot failed or is not installed; the data is in %s\n", dat.c_str());
  }
  std::printf("wrote %s/{curves,results,summary}.csv in %.1f s total\n", o.out_dir.c_str(),
              std::chrono::duration<double>(clock::now() - t0).count());
  return 0;
}
