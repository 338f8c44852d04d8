// examples/torch/brmrs_torch.cpp — the PyTorch bridge: brmrs's sampler and objective as a
// PyTorch C++ extension (one translation unit, built by brmrs_torch.py with
// torch.utils.cpp_extension.load). Python wraps objective_forward in a torch.autograd.Function.
//
//   Interactions(n_users, n_items, users, items)    brmrs::interactions<int64_t> (from_pairs)
//     .sample(users, K, seed, step, example_offset=0, source="pool_member") -> (pools [B,K], negatives [B])
//   objective_forward(user_tables, item_tables, fused_user, fused_item, users, positives, pools,
//                     negatives or None, lambda_bpr, lambda_hard, lambda_synergy, theta, tau,
//                     lambda_reg, reduction, synergy_mode, seed, step, example_offset)
//     -> (loss 0-d, parts [bpr, chns, synergy, l2, fusion_degradation_rate, hard_negative_agreement],
//         hard_negatives [B, M], negatives [B], grads: list of 2M + 2 table-shaped gradients of
//         the loss in the order user[0..M), item[0..M), fused_user, fused_item)
// Tables are CPU float32 or float64 tensors (all the same dtype), 2-D with unit column stride;
// their rows may be strided, so column slices of a wider tensor (F[:, m*d:(m+1)*d]) pass without
// a copy. Ids may be int32 or int64 (converted to int64). The same tensor may be passed as every
// user table (shared user table): each position gets its own gradient and autograd adds them.
// Errors: brmrs::invalid_argument (a std::invalid_argument) reaches Python as ValueError with
// brmrs's message (argument, position, value); layout problems raise RuntimeError (TORCH_CHECK).
// The GIL is released while brmrs computes; brmrs uses OpenMP when this TU is built with it.
#include <torch/extension.h>

#include <brmrs/interactions.hpp>
#include <brmrs/objective.hpp>
#include <brmrs/sampler.hpp>

#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

namespace py = pybind11;
using id_t_ = std::int64_t;
using store = brmrs::interactions<id_t_>;

namespace {

torch::Tensor ids(const torch::Tensor& t, const char* name) {
  TORCH_CHECK(t.device().is_cpu(), name, " must be a CPU tensor");
  TORCH_CHECK(t.scalar_type() == torch::kLong || t.scalar_type() == torch::kInt, name,
              " must hold int32 or int64 ids, got ", t.scalar_type());
  return t.to(torch::kLong).contiguous();
}

template <class T>
brmrs::matrix_view<T> view2d(const torch::Tensor& t, const char* name) {
  TORCH_CHECK(t.device().is_cpu(), name, " must be a CPU tensor");
  TORCH_CHECK(t.dim() == 2, name, " must be 2-D, got ", t.dim(), " dimensions");
  TORCH_CHECK(t.size(1) <= 1 || t.stride(1) == 1, name, " must have unit column stride (got ", t.stride(1),
              "); call .contiguous()");
  const auto rows = static_cast<std::size_t>(t.size(0)), cols = static_cast<std::size_t>(t.size(1));
  const std::size_t stride = t.size(0) > 1 ? static_cast<std::size_t>(t.stride(0)) : cols;
  TORCH_CHECK(stride >= cols, name, " has a row stride ", stride, " below its ", cols, " columns");
  // torch 1.13 instantiates data_ptr for the plain scalar types only (not const T).
  return brmrs::matrix_view<T>(t.data_ptr<std::remove_const_t<T>>(), rows, cols, stride);
}

template <class T>
py::tuple forward_impl(const std::vector<torch::Tensor>& user_tables, const std::vector<torch::Tensor>& item_tables,
                       const torch::Tensor& fused_user, const torch::Tensor& fused_item, const torch::Tensor& users_in,
                       const torch::Tensor& positives_in, const torch::Tensor& pools_in,
                       const c10::optional<torch::Tensor>& negatives_in, const brmrs::objective_config<T>& cfg) {
  const std::size_t M = item_tables.size();
  TORCH_CHECK(user_tables.size() == M, "user_tables has ", user_tables.size(), " tensors but item_tables has ", M);
  const torch::Tensor users = ids(users_in, "users"), positives = ids(positives_in, "positives"),
                      pools = ids(pools_in, "pools");
  TORCH_CHECK(pools.dim() == 2, "pools must be 2-D (B x K)");
  torch::Tensor negatives;
  if (negatives_in.has_value() && negatives_in->defined()) negatives = ids(*negatives_in, "negatives");
  const std::size_t B = static_cast<std::size_t>(users.numel()), K = static_cast<std::size_t>(pools.size(1));

  brmrs::dot_tables<T> tables;
  for (std::size_t m = 0; m < M; ++m) {
    tables.user.push_back(view2d<const T>(user_tables[m], "user_tables[m]"));
    tables.item.push_back(view2d<const T>(item_tables[m], "item_tables[m]"));
  }
  tables.fused_user = view2d<const T>(fused_user, "fused_user");
  tables.fused_item = view2d<const T>(fused_item, "fused_item");
  brmrs::batch<id_t_> bt;
  bt.users = brmrs::vector_view<const id_t_>(users.data_ptr<id_t_>(), B);
  bt.positives = brmrs::vector_view<const id_t_>(positives.data_ptr<id_t_>(), static_cast<std::size_t>(positives.numel()));
  bt.pools = brmrs::matrix_view<const id_t_>(pools.data_ptr<id_t_>(), static_cast<std::size_t>(pools.size(0)), K);
  if (negatives.defined())
    bt.negatives = brmrs::vector_view<const id_t_>(negatives.data_ptr<id_t_>(), static_cast<std::size_t>(negatives.numel()));

  const auto fopt = torch::TensorOptions().dtype(fused_user.scalar_type());
  const auto lopt = torch::TensorOptions().dtype(torch::kLong);
  torch::Tensor hard = torch::empty({static_cast<std::int64_t>(B), static_cast<std::int64_t>(M)}, lopt);
  torch::Tensor used_neg = torch::empty({static_cast<std::int64_t>(B)}, lopt);
  std::vector<torch::Tensor> grads;
  brmrs::objective_outputs<T, id_t_> out;
  out.hard_negatives = brmrs::matrix_view<id_t_>(hard.data_ptr<id_t_>(), B, M);
  out.negatives = brmrs::vector_view<id_t_>(used_neg.data_ptr<id_t_>(), B);
  auto zeros_like2 = [&](const torch::Tensor& t) { return torch::zeros({t.size(0), t.size(1)}, fopt); };
  for (std::size_t m = 0; m < M; ++m) grads.push_back(zeros_like2(user_tables[m]));
  for (std::size_t m = 0; m < M; ++m) grads.push_back(zeros_like2(item_tables[m]));
  grads.push_back(zeros_like2(fused_user));
  grads.push_back(zeros_like2(fused_item));
  for (std::size_t m = 0; m < M; ++m) out.tables.user.push_back(view2d<T>(grads[m], "grad"));
  for (std::size_t m = 0; m < M; ++m) out.tables.item.push_back(view2d<T>(grads[M + m], "grad"));
  out.tables.fused_user = view2d<T>(grads[2 * M], "grad");
  out.tables.fused_item = view2d<T>(grads[2 * M + 1], "grad");

  brmrs::objective_result<T> r;
  {
    py::gil_scoped_release release;
    r = brmrs::compute_objective(tables, bt, cfg, out);
  }
  torch::Tensor loss = torch::full({}, static_cast<double>(r.loss), fopt);
  torch::Tensor parts = torch::tensor({double(r.bpr), double(r.chns), double(r.synergy), double(r.l2),
                                       double(r.fusion_degradation_rate), double(r.hard_negative_agreement)},
                                      torch::TensorOptions().dtype(torch::kDouble));
  py::list g;
  for (auto& t : grads) g.append(t);
  return py::make_tuple(loss, parts, hard, used_neg, g);
}

template <class T>
brmrs::objective_config<T> make_config(double lambda_bpr, double lambda_hard, double lambda_synergy, double theta,
                                       double tau, double lambda_reg, const std::string& reduction,
                                       const std::string& synergy_mode, std::uint64_t seed, std::uint64_t step,
                                       std::uint64_t example_offset) {
  brmrs::objective_config<T> c;
  c.lambda_bpr = T(lambda_bpr);
  c.lambda_hard = T(lambda_hard);
  c.lambda_synergy = T(lambda_synergy);
  c.theta = T(theta);
  c.tau = T(tau);
  c.lambda_reg = T(lambda_reg);
  if (reduction == "mean")
    c.reduce = brmrs::reduction::mean;
  else if (reduction == "sum")
    c.reduce = brmrs::reduction::sum;
  else
    throw std::invalid_argument("brmrs_torch: reduction = \"" + reduction + "\" must be \"mean\" or \"sum\"");
  if (synergy_mode == "stop_unimodal")
    c.synergy_mode = brmrs::synergy_gradient::stop_unimodal;
  else if (synergy_mode == "through_max")
    c.synergy_mode = brmrs::synergy_gradient::through_max;
  else
    throw std::invalid_argument("brmrs_torch: synergy_mode = \"" + synergy_mode +
                                "\" must be \"stop_unimodal\" or \"through_max\"");
  c.seed = seed;
  c.step = step;
  c.example_offset = example_offset;
  return c;
}

py::tuple objective_forward(const std::vector<torch::Tensor>& user_tables, const std::vector<torch::Tensor>& item_tables,
                            const torch::Tensor& fused_user, const torch::Tensor& fused_item, const torch::Tensor& users,
                            const torch::Tensor& positives, const torch::Tensor& pools,
                            const c10::optional<torch::Tensor>& negatives, double lambda_bpr, double lambda_hard,
                            double lambda_synergy, double theta, double tau, double lambda_reg,
                            const std::string& reduction, const std::string& synergy_mode, std::uint64_t seed,
                            std::uint64_t step, std::uint64_t example_offset) {
  const auto dt = fused_user.scalar_type();
  auto same = [&](const torch::Tensor& t, const char* name) {
    TORCH_CHECK(t.scalar_type() == dt, name, " has dtype ", t.scalar_type(), " but fused_user has ", dt);
  };
  for (const auto& t : user_tables) same(t, "a user table");
  for (const auto& t : item_tables) same(t, "an item table");
  same(fused_item, "fused_item");
  if (dt == torch::kFloat)
    return forward_impl<float>(user_tables, item_tables, fused_user, fused_item, users, positives, pools, negatives,
                               make_config<float>(lambda_bpr, lambda_hard, lambda_synergy, theta, tau, lambda_reg,
                                                  reduction, synergy_mode, seed, step, example_offset));
  TORCH_CHECK(dt == torch::kDouble, "tables must be float32 or float64, got ", dt);
  return forward_impl<double>(user_tables, item_tables, fused_user, fused_item, users, positives, pools, negatives,
                              make_config<double>(lambda_bpr, lambda_hard, lambda_synergy, theta, tau, lambda_reg,
                                                  reduction, synergy_mode, seed, step, example_offset));
}

py::tuple sample(const store& s, const torch::Tensor& users_in, std::int64_t K, std::uint64_t seed, std::uint64_t step,
                 std::uint64_t example_offset, const std::string& source) {
  const torch::Tensor users = ids(users_in, "users").reshape({-1});
  TORCH_CHECK(K >= 1, "K = ", K, " must be >= 1");
  brmrs::negative_source src;
  if (source == "pool_member")
    src = brmrs::negative_source::pool_member;
  else if (source == "complement")
    src = brmrs::negative_source::complement;
  else
    throw std::invalid_argument("brmrs_torch: source = \"" + source + "\" must be \"pool_member\" or \"complement\"");
  const std::int64_t B = users.numel();
  const auto lopt = torch::TensorOptions().dtype(torch::kLong);
  torch::Tensor pools = torch::empty({B, K}, lopt), negatives = torch::empty({B}, lopt);
  {
    py::gil_scoped_release release;
    brmrs::sample_pools(s, brmrs::vector_view<const id_t_>(users.data_ptr<id_t_>(), std::size_t(B)), seed, step,
                        example_offset,
                        brmrs::matrix_view<id_t_>(pools.data_ptr<id_t_>(), std::size_t(B), std::size_t(K)),
                        brmrs::vector_view<id_t_>(negatives.data_ptr<id_t_>(), std::size_t(B)), src);
  }
  return py::make_tuple(pools, negatives);
}

}  // namespace

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.doc() = "brmrs sampler and objective for PyTorch (CPU)";
  py::class_<store>(m, "Interactions")
      .def(py::init([](std::int64_t n_users, std::int64_t n_items, const torch::Tensor& users, const torch::Tensor& items) {
             TORCH_CHECK(n_users >= 0 && n_items >= 0, "n_users and n_items must be >= 0");
             const torch::Tensor u = ids(users, "users").reshape({-1}), i = ids(items, "items").reshape({-1});
             return store::from_pairs(std::size_t(n_users), std::size_t(n_items),
                                      brmrs::vector_view<const id_t_>(u.data_ptr<id_t_>(), std::size_t(u.numel())),
                                      brmrs::vector_view<const id_t_>(i.data_ptr<id_t_>(), std::size_t(i.numel())));
           }),
           py::arg("n_users"), py::arg("n_items"), py::arg("users"), py::arg("items"))
      .def_property_readonly("n_users", &store::n_users)
      .def_property_readonly("n_items", &store::n_items)
      .def_property_readonly("nnz", &store::nnz)
      .def("degree", &store::degree)
      .def("contains", &store::contains)
      .def("items_of", [](const store& s, std::size_t u) {
        TORCH_CHECK(u < s.n_users(), "user ", u, " is out of range [0, ", s.n_users(), ")");
        const auto v = s.items_of(u);
        return torch::tensor(std::vector<std::int64_t>(v.begin(), v.end()), torch::TensorOptions().dtype(torch::kLong));
      })
      .def("sample", &sample, py::arg("users"), py::arg("K"), py::arg("seed"), py::arg("step"),
           py::arg("example_offset") = 0, py::arg("source") = "pool_member",
           "Pools (B x K) and negatives (B) for `users`, a pure function of (seed, step, example).");
  m.def("objective_forward", &objective_forward, py::arg("user_tables"), py::arg("item_tables"), py::arg("fused_user"),
        py::arg("fused_item"), py::arg("users"), py::arg("positives"), py::arg("pools"), py::arg("negatives"),
        py::arg("lambda_bpr"), py::arg("lambda_hard"), py::arg("lambda_synergy"), py::arg("theta"), py::arg("tau"),
        py::arg("lambda_reg"), py::arg("reduction"), py::arg("synergy_mode"), py::arg("seed"), py::arg("step"),
        py::arg("example_offset"));
}
