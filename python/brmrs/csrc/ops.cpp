// python/brmrs/csrc/ops.cpp — brmrs's objective and sampler as TorchScript operators
// (TORCH_LIBRARY(brmrs, ...)): callable as torch.ops.brmrs.* from eager code and torch.jit.script.
//
//   brmrs::loss(user[], item[], fused_user, fused_item, users, positives, pools, negatives?,
//               lambda_bpr, lambda_h, lambda_s, theta, tau, lambda_reg, reduction, synergy_grad,
//               seed, step, example_offset, sparse_grad = False)
//     -> (loss 0-d, parts [bpr, chns, synergy, l2, fusion_degradation_rate], hard_negatives B x M,
//         negatives B)
//     Differentiable in every table (a torch::autograd::Function): brmrs computes the loss and every
//     table gradient in one forward pass; backward hands them to autograd without a copy. With
//     sparse_grad the gradients are uncoalesced sparse COO tensors (what nn.Embedding(sparse=True)
//     gives): brmrs's per-example rows as values, the rows' ids as indices, no dense table zeroed.
//   brmrs::sample_pools(Interactions, users, K, seed, step, example_offset) -> (pools B x K, negatives B)
//   brmrs::pool_negatives(pools, seed, step, example_offset) -> B ids: the member loss() uses
//     when negatives is None.
//   class brmrs.Interactions(n_users, n_items, users, items): brmrs::interactions<int64_t>.
// Tables: CPU float32/float64 (one dtype), 2-D, unit column stride (row-strided slices pass without a
// copy). Ids int32/int64. Errors: brmrs::invalid_argument -> c10::ValueError with brmrs's message
// (Python ValueError); argument-layout problems also raise ValueError; CUDA tensors raise a
// RuntimeError saying this build has no CUDA backend (Debian's torch is CPU-only, see setup.py).
#include <torch/extension.h>
#include <torch/script.h>

#include <brmrs/brmrs.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace {

using id_t_ = std::int64_t;
using torch::Tensor;

// Runs f, turning brmrs::invalid_argument into a ValueError that carries the same message.
template <class F>
auto translating(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const brmrs::invalid_argument& e) {
    throw c10::ValueError(e.what(), "");
  }
}

void check_cpu(const Tensor& t, const char* name) {
  TORCH_CHECK(!t.is_cuda(), "brmrs: ", name,
              " is a CUDA tensor, but this brmrs package was built without its CUDA backend "
              "(built against a CPU-only torch); move the tensors to the CPU");
  TORCH_CHECK_VALUE(t.device().is_cpu(), "brmrs: ", name, " must be a CPU tensor, got device ", t.device());
}

Tensor ids(const Tensor& t, const char* name) {
  check_cpu(t, name);
  TORCH_CHECK_VALUE(t.scalar_type() == torch::kLong || t.scalar_type() == torch::kInt, "brmrs: ", name,
                    " must hold int32 or int64 ids, got ", t.scalar_type());
  return t.to(torch::kLong).contiguous();
}

std::uint64_t nonneg(std::int64_t v, const char* name) {
  TORCH_CHECK_VALUE(v >= 0, "brmrs: ", name, " = ", v, " must be >= 0");
  return static_cast<std::uint64_t>(v);
}

template <class T>
brmrs::matrix_view<T> view2d(const Tensor& t, const std::string& name) {
  check_cpu(t, name.c_str());
  TORCH_CHECK_VALUE(t.dim() == 2, "brmrs: ", name, " must be 2-D, got ", t.dim(), " dimensions");
  TORCH_CHECK_VALUE(t.size(1) <= 1 || t.stride(1) == 1, "brmrs: ", name, " must have unit column stride (got ",
                    t.stride(1), "); call .contiguous()");
  const auto rows = static_cast<std::size_t>(t.size(0)), cols = static_cast<std::size_t>(t.size(1));
  const std::size_t stride = t.size(0) > 1 ? static_cast<std::size_t>(t.stride(0)) : cols;
  TORCH_CHECK_VALUE(stride >= cols, "brmrs: ", name, " has a row stride ", stride, " below its ", cols, " columns");
  return brmrs::matrix_view<T>(t.data_ptr<std::remove_const_t<T>>(), rows, cols, stride);
}

struct loss_settings {
  double lambda_bpr, lambda_h, lambda_s, theta, tau, lambda_reg;
  std::string reduction, synergy_grad;
  std::int64_t seed, step, example_offset;
  bool sparse_grad;
};

template <class T>
brmrs::objective_config<T> make_config(const loss_settings& s) {
  brmrs::objective_config<T> c;
  c.lambda_bpr = T(s.lambda_bpr);
  c.lambda_hard = T(s.lambda_h);
  c.lambda_synergy = T(s.lambda_s);
  c.theta = T(s.theta);
  c.tau = T(s.tau);
  c.lambda_reg = T(s.lambda_reg);
  if (s.reduction == "mean")
    c.reduce = brmrs::reduction::mean;
  else if (s.reduction == "sum")
    c.reduce = brmrs::reduction::sum;
  else
    TORCH_CHECK_VALUE(false, "brmrs: reduction = \"", s.reduction, "\" must be \"mean\" or \"sum\"");
  if (s.synergy_grad == "stop")
    c.synergy_mode = brmrs::synergy_gradient::stop_unimodal;
  else if (s.synergy_grad == "flow")
    c.synergy_mode = brmrs::synergy_gradient::through_max;
  else
    TORCH_CHECK_VALUE(false, "brmrs: synergy_grad = \"", s.synergy_grad, "\" must be \"stop\" or \"flow\"");
  c.seed = nonneg(s.seed, "seed");
  c.step = nonneg(s.step, "step");
  c.example_offset = nonneg(s.example_offset, "example_offset");
  return c;
}

// The forward pass: loss, parts, hard negatives, negatives and one gradient per table position
// (user[0..M), item[0..M), fused_user, fused_item), dense (dense_gradients) or sparse (sparse_rows).
struct forward_result {
  Tensor loss, parts, hard, negatives;
  std::vector<Tensor> grads;
};

// The default: zeroed table-shaped gradient buffers that brmrs adds into (out.tables), one per
// position in grads. A user table passed at several positions (the same tensor: a shared user
// table) gets ONE buffer, returned at its first position and left undefined (no gradient) at the
// others: brmrs adds every position's contribution into it.
template <class T>
void dense_gradients(at::TensorList user, at::TensorList item, const Tensor& fused_user, const Tensor& fused_item,
                     const torch::TensorOptions& fopt, brmrs::objective_outputs<T, id_t_>& out,
                     std::vector<Tensor>& grads) {
  const std::size_t M = item.size();
  auto zeros2 = [&](const Tensor& t) { return torch::zeros({t.size(0), t.size(1)}, fopt); };
  std::vector<Tensor> user_buffer(M);
  for (std::size_t m = 0; m < M; ++m) {
    std::size_t first = m;
    for (std::size_t p = 0; p < m; ++p)
      if (user[p].unsafeGetTensorImpl() == user[m].unsafeGetTensorImpl() && user[p].storage_offset() == user[m].storage_offset() &&
          user[p].strides() == user[m].strides() && user[p].sizes() == user[m].sizes()) {
        first = p;
        break;
      }
    user_buffer[m] = first == m ? zeros2(user[m]) : user_buffer[first];
    if (first == m) grads[m] = user_buffer[m];
    out.tables.user.push_back(view2d<T>(user_buffer[m], "grad"));
  }
  for (std::size_t m = 0; m < M; ++m) {
    grads[M + m] = zeros2(item[m]);
    out.tables.item.push_back(view2d<T>(grads[M + m], "grad"));
  }
  grads[2 * M] = zeros2(fused_user);
  grads[2 * M + 1] = zeros2(fused_item);
  out.tables.fused_user = view2d<T>(grads[2 * M], "grad");
  out.tables.fused_item = view2d<T>(grads[2 * M + 1], "grad");
}

// sparse_grad: brmrs writes its per-example gradient rows (objective_outputs::rows) straight into
// the values of the sparse gradients, one values tensor per table position:
//   user[m]     B rows              at users
//   item[m]     2 B + B M rows      at positives, negatives, then hard ids (row b M + c: j^c_b; the
//                                   rows c = m are zero, kept so the ids need no filtering)
//   fused_user  B rows at users;    fused_item  2 B rows at positives, negatives.
// A user table passed at several positions gets one sparse gradient per position (autograd adds them).
template <class T>
struct sparse_rows {
  std::vector<Tensor> values;  // per position, as r.grads

  sparse_rows(at::TensorList user, at::TensorList item, const Tensor& fused_user, const Tensor& fused_item,
              std::size_t B, const torch::TensorOptions& fopt, brmrs::objective_outputs<T, id_t_>& out) {
    const std::size_t M = item.size();
    const auto b = static_cast<std::int64_t>(B), bm = static_cast<std::int64_t>(B * M);
    for (std::size_t m = 0; m < M; ++m) values.push_back(torch::empty({b, user[m].size(1)}, fopt));
    for (std::size_t m = 0; m < M; ++m) values.push_back(torch::empty({2 * b + bm, item[m].size(1)}, fopt));
    values.push_back(torch::empty({b, fused_user.size(1)}, fopt));
    values.push_back(torch::empty({2 * b, fused_item.size(1)}, fopt));
    for (std::size_t m = 0; m < M; ++m) {
      const Tensor& v = values[M + m];
      out.rows.user.push_back(view2d<T>(values[m], "grad"));
      out.rows.positive.push_back(view2d<T>(v.narrow(0, 0, b), "grad"));
      out.rows.negative.push_back(view2d<T>(v.narrow(0, b, b), "grad"));
      out.rows.hard.push_back(view2d<T>(v.narrow(0, 2 * b, bm), "grad"));
    }
    out.rows.fused_user = view2d<T>(values[2 * M], "grad");
    out.rows.fused_positive = view2d<T>(values[2 * M + 1].narrow(0, 0, b), "grad");
    out.rows.fused_negative = view2d<T>(values[2 * M + 1].narrow(0, b, b), "grad");
  }

  // The sparse gradients, once brmrs has written the rows and the negatives and hard ids it used.
  void finish(const Tensor& users, const Tensor& positives, const Tensor& negatives, const Tensor& hard,
              at::TensorList user, at::TensorList item, const Tensor& fused_user, const Tensor& fused_item,
              std::vector<Tensor>& grads) const {
    const std::size_t M = item.size();
    // Every gradient gets index and value tensors of its own: `users` may be the caller's tensor
    // (changed before backward, it would move the rows), and AccumulateGrad adopts a sparse
    // gradient without a copy only when nothing else holds its indices or values.
    const Tensor item_ids = torch::cat({positives, negatives, hard.reshape({-1})}).reshape({1, -1});
    auto sparse = [](const Tensor& ids, const Tensor& v, const Tensor& table) {
      // Ids were range-checked by brmrs: the unchecked constructor skips a second pass over them.
      return at::_sparse_coo_tensor_unsafe(ids, v, {table.size(0), table.size(1)}, v.options().layout(torch::kSparse));
    };
    for (std::size_t m = 0; m < M; ++m) {
      grads[m] = sparse(users.reshape({1, -1}).clone(), values[m], user[m]);
      grads[M + m] = sparse(m + 1 < M ? item_ids.clone() : item_ids, values[M + m], item[m]);
    }
    grads[2 * M] = sparse(users.reshape({1, -1}).clone(), values[2 * M], fused_user);
    grads[2 * M + 1] = sparse(torch::cat({positives, negatives}).reshape({1, -1}), values[2 * M + 1], fused_item);
  }
};

template <class T>
forward_result forward_impl(at::TensorList user, at::TensorList item, const Tensor& fused_user,
                            const Tensor& fused_item, const Tensor& users_in, const Tensor& positives_in,
                            const Tensor& pools_in, const c10::optional<Tensor>& negatives_in,
                            const brmrs::objective_config<T>& cfg, bool sparse_grad) {
  const std::size_t M = item.size();
  TORCH_CHECK_VALUE(user.size() == M, "brmrs: user_emb has ", user.size(), " tensors but item_emb has ", M);
  const Tensor users = ids(users_in, "users"), positives = ids(positives_in, "positives"),
               pools = ids(pools_in, "pools");
  TORCH_CHECK_VALUE(users.dim() == 1 && positives.dim() == 1, "brmrs: users and positives must be 1-D");
  TORCH_CHECK_VALUE(pools.dim() == 2, "brmrs: pools must be 2-D (B x K), got ", pools.dim(), " dimensions");
  Tensor negatives;
  if (negatives_in.has_value() && negatives_in->defined()) negatives = ids(*negatives_in, "negatives");
  const std::size_t B = static_cast<std::size_t>(users.numel()), K = static_cast<std::size_t>(pools.size(1));

  brmrs::dot_tables<T> tables;
  for (std::size_t m = 0; m < M; ++m) {
    tables.user.push_back(view2d<const T>(user[m], "user_emb[" + std::to_string(m) + "]"));
    tables.item.push_back(view2d<const T>(item[m], "item_emb[" + std::to_string(m) + "]"));
  }
  tables.fused_user = view2d<const T>(fused_user, "fused_user");
  tables.fused_item = view2d<const T>(fused_item, "fused_item");
  brmrs::batch<id_t_> bt;
  bt.users = brmrs::vector_view<const id_t_>(users.data_ptr<id_t_>(), B);
  bt.positives =
      brmrs::vector_view<const id_t_>(positives.data_ptr<id_t_>(), static_cast<std::size_t>(positives.numel()));
  bt.pools = brmrs::matrix_view<const id_t_>(pools.data_ptr<id_t_>(), static_cast<std::size_t>(pools.size(0)), K);
  if (negatives.defined())
    bt.negatives =
        brmrs::vector_view<const id_t_>(negatives.data_ptr<id_t_>(), static_cast<std::size_t>(negatives.numel()));

  const auto fopt = torch::TensorOptions().dtype(fused_user.scalar_type());
  const auto lopt = torch::TensorOptions().dtype(torch::kLong);
  forward_result r;
  r.hard = torch::empty({static_cast<std::int64_t>(B), static_cast<std::int64_t>(M)}, lopt);
  r.negatives = torch::empty({static_cast<std::int64_t>(B)}, lopt);
  brmrs::objective_outputs<T, id_t_> out;
  out.hard_negatives = brmrs::matrix_view<id_t_>(r.hard.data_ptr<id_t_>(), B, M);
  out.negatives = brmrs::vector_view<id_t_>(r.negatives.data_ptr<id_t_>(), B);
  r.grads.resize(2 * M + 2);
  c10::optional<sparse_rows<T>> sparse;
  if (sparse_grad)
    sparse.emplace(user, item, fused_user, fused_item, B, fopt, out);
  else
    dense_gradients(user, item, fused_user, fused_item, fopt, out, r.grads);

  const brmrs::objective_result<T> res = brmrs::compute_objective(tables, bt, cfg, out);
  if (sparse) sparse->finish(users, positives, r.negatives, r.hard, user, item, fused_user, fused_item, r.grads);
  r.loss = torch::full({}, static_cast<double>(res.loss), fopt);
  r.parts = torch::tensor({double(res.bpr), double(res.chns), double(res.synergy), double(res.l2),
                           double(res.fusion_degradation_rate)},
                          torch::TensorOptions().dtype(torch::kDouble))
                .to(fused_user.scalar_type());
  return r;
}

forward_result forward_any(at::TensorList user, at::TensorList item, const Tensor& fused_user, const Tensor& fused_item,
                           const Tensor& users, const Tensor& positives, const Tensor& pools,
                           const c10::optional<Tensor>& negatives, const loss_settings& s) {
  return translating([&] {
    const auto dt = fused_user.scalar_type();
    auto same = [&](const Tensor& t, const std::string& name) {
      check_cpu(t, name.c_str());
      TORCH_CHECK_VALUE(t.scalar_type() == dt, "brmrs: ", name, " has dtype ", t.scalar_type(),
                        " but fused_user has ", dt);
    };
    for (std::size_t m = 0; m < user.size(); ++m) same(user[m], "user_emb[" + std::to_string(m) + "]");
    for (std::size_t m = 0; m < item.size(); ++m) same(item[m], "item_emb[" + std::to_string(m) + "]");
    same(fused_item, "fused_item");
    if (dt == torch::kFloat)
      return forward_impl<float>(user, item, fused_user, fused_item, users, positives, pools, negatives,
                                 make_config<float>(s), s.sparse_grad);
    TORCH_CHECK_VALUE(dt == torch::kDouble, "brmrs: tables must be float32 or float64, got ", dt);
    return forward_impl<double>(user, item, fused_user, fused_item, users, positives, pools, negatives,
                                make_config<double>(s), s.sparse_grad);
  });
}

// Tensors kept in AutogradContext::saved_data (an IValue: a list of optional tensors, undefined
// ones as None), and back.
c10::IValue tensor_list(const std::vector<Tensor>& ts) {
  return c10::List<c10::optional<Tensor>>(std::vector<c10::optional<Tensor>>(ts.begin(), ts.end()));
}
std::vector<Tensor> tensors_of(const c10::IValue& v) {
  const auto list = v.toOptionalTensorList();
  std::vector<Tensor> ts;
  for (std::size_t k = 0; k < list.size(); ++k) {
    const c10::optional<Tensor> t = list.get(k);
    ts.push_back(t.has_value() ? *t : Tensor());
  }
  return ts;
}

// Autograd: forward computes the loss and every table gradient in one pass. The gradients wait in
// saved_data; the first backward hands them out (erased from ctx, so a leaf's AccumulateGrad adopts
// each buffer without a copy) and scales them in place only when the incoming gradient is not 1.
// A second backward of the same graph (retain_graph, gradcheck) recomputes them from the saved
// inputs. First-order only: no double backward.
struct brmrs_loss_function : public torch::autograd::Function<brmrs_loss_function> {
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx, at::TensorList user,
                                                at::TensorList item, const Tensor& fused_user,
                                                const Tensor& fused_item, const Tensor& users,
                                                const Tensor& positives, const Tensor& pools,
                                                const c10::optional<Tensor>& negatives, loss_settings s) {
    forward_result r = forward_any(user, item, fused_user, fused_item, users, positives, pools, negatives, s);
    ctx->saved_data["grads"] = tensor_list(r.grads);
    // What a recomputation needs: the inputs with their version counters, and the settings. Kept
    // in saved_data rather than save_for_backward, which refuses inference tensors (pools drawn
    // under torch.inference_mode) and would pack every table under saved_tensors_hooks for a
    // second backward that rarely comes.
    std::vector<Tensor> inputs(user.begin(), user.end());
    inputs.insert(inputs.end(), item.begin(), item.end());
    inputs.insert(inputs.end(), {fused_user, fused_item, users, positives, pools,
                                 negatives.has_value() ? *negatives : Tensor()});
    std::vector<std::int64_t> versions;
    for (const Tensor& t : inputs)
      versions.push_back(t.defined() && !t.is_inference() ? static_cast<std::int64_t>(t._version()) : -1);
    ctx->saved_data["inputs"] = tensor_list(inputs);
    ctx->saved_data["versions"] = versions;
    ctx->saved_data["M"] = static_cast<std::int64_t>(item.size());
    ctx->saved_data["reals"] = std::vector<double>{s.lambda_bpr, s.lambda_h, s.lambda_s, s.theta, s.tau, s.lambda_reg};
    ctx->saved_data["modes"] = std::vector<std::string>{s.reduction, s.synergy_grad};
    ctx->saved_data["counters"] = std::vector<std::int64_t>{s.seed, s.step, s.example_offset};
    ctx->saved_data["sparse_grad"] = s.sparse_grad;
    ctx->mark_non_differentiable({r.parts, r.hard, r.negatives});
    return {r.loss, r.parts, r.hard, r.negatives};
  }

  // The table gradients of the forward pass: the saved ones the first time, recomputed after.
  static std::vector<Tensor> take_gradients(torch::autograd::AutogradContext* ctx) {
    const auto saved = ctx->saved_data.find("grads");
    if (saved != ctx->saved_data.end()) {
      std::vector<Tensor> grads = tensors_of(saved->second);
      ctx->saved_data.erase(saved);  // the only references left are in grads
      return grads;
    }
    const std::vector<Tensor> in = tensors_of(ctx->saved_data["inputs"]);
    const auto versions = ctx->saved_data["versions"].toIntVector();
    for (std::size_t k = 0; k < in.size(); ++k)
      // The wording of autograd's own check, which save_for_backward would have made.
      TORCH_CHECK(versions[k] < 0 || static_cast<std::int64_t>(in[k]._version()) == versions[k],
                  "brmrs.loss: one of the variables needed for gradient computation has been modified by an "
                  "inplace operation: input ", k, " is at version ", in[k]._version(), "; expected version ",
                  versions[k], " (a second backward recomputes the gradients from the inputs)");
    const auto M = static_cast<std::size_t>(ctx->saved_data["M"].toInt());
    const auto reals = ctx->saved_data["reals"].toDoubleVector();
    const auto modes = ctx->saved_data["modes"].to<std::vector<std::string>>();
    const auto counters = ctx->saved_data["counters"].toIntVector();
    const loss_settings s{reals[0], reals[1], reals[2], reals[3], reals[4], reals[5], modes[0], modes[1],
                          counters[0], counters[1], counters[2], ctx->saved_data["sparse_grad"].toBool()};
    const std::vector<Tensor> user(in.begin(), in.begin() + M), item(in.begin() + M, in.begin() + 2 * M);
    const Tensor& negatives = in[2 * M + 5];
    const c10::optional<Tensor> neg = negatives.defined() ? c10::optional<Tensor>(negatives) : c10::nullopt;
    torch::NoGradGuard no_grad;
    return forward_any(user, item, in[2 * M], in[2 * M + 1], in[2 * M + 2], in[2 * M + 3], in[2 * M + 4], neg, s)
        .grads;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_out) {
    const Tensor& go = grad_out[0];
    std::vector<Tensor> grads = take_gradients(ctx);
    // loss.backward() passes exactly 1: the buffers go out as they are. Not when the upstream
    // gradient is itself differentiable (create_graph): the product keeps its link to it.
    const bool unit = go.defined() && !go.requires_grad() && go.numel() == 1 && go.item<double>() == 1.0;
    torch::autograd::variable_list result;
    for (Tensor& g : grads) {
      if (!g.defined() || !go.defined())
        result.emplace_back();
      else if (unit)
        result.push_back(std::move(g));
      else if (g.is_sparse())  // scale the rows; the ids stay
        result.push_back(go.requires_grad() ? g.mul(go) : (g._values().mul_(go), g));
      else
        result.push_back(g.mul_(go));
    }
    // users, positives, pools, negatives (one slot when given), then the settings: no gradient.
    result.emplace_back();
    result.emplace_back();
    result.emplace_back();
    result.emplace_back();
    result.emplace_back();
    return result;
  }
};

std::tuple<Tensor, Tensor, Tensor, Tensor> loss_op(std::vector<Tensor> user, std::vector<Tensor> item,
                                                   Tensor fused_user, Tensor fused_item, Tensor users,
                                                   Tensor positives, Tensor pools, c10::optional<Tensor> negatives,
                                                   double lambda_bpr, double lambda_h, double lambda_s, double theta,
                                                   double tau, double lambda_reg, std::string reduction,
                                                   std::string synergy_grad, std::int64_t seed, std::int64_t step,
                                                   std::int64_t example_offset, bool sparse_grad) {
  loss_settings s{lambda_bpr, lambda_h, lambda_s, theta, tau, lambda_reg, std::move(reduction),
                  std::move(synergy_grad), seed, step, example_offset, sparse_grad};
  auto out = brmrs_loss_function::apply(at::TensorList(user), at::TensorList(item), fused_user, fused_item, users,
                                        positives, pools, negatives, s);
  return {out[0], out[1], out[2], out[3]};
}

// brmrs::interactions<int64_t> as a TorchScript class.
struct Interactions : torch::CustomClassHolder {
  brmrs::interactions<id_t_> store;

  Interactions(std::int64_t n_users, std::int64_t n_items, const Tensor& users, const Tensor& items) {
    translating([&] {
      const Tensor u = ids(users, "users").reshape({-1}), i = ids(items, "items").reshape({-1});
      store = brmrs::interactions<id_t_>::from_pairs(
          nonneg(n_users, "n_users"), nonneg(n_items, "n_items"),
          brmrs::vector_view<const id_t_>(u.data_ptr<id_t_>(), std::size_t(u.numel())),
          brmrs::vector_view<const id_t_>(i.data_ptr<id_t_>(), std::size_t(i.numel())));
      return 0;
    });
  }
  std::int64_t n_users() const { return static_cast<std::int64_t>(store.n_users()); }
  std::int64_t n_items() const { return static_cast<std::int64_t>(store.n_items()); }
  std::int64_t nnz() const { return static_cast<std::int64_t>(store.nnz()); }
  bool contains(std::int64_t u, std::int64_t i) const {
    return u >= 0 && i >= 0 && store.contains(std::size_t(u), std::size_t(i));
  }
};

std::tuple<Tensor, Tensor> sample_pools_op(const c10::intrusive_ptr<Interactions>& inter, Tensor users_in,
                                           std::int64_t K, std::int64_t seed, std::int64_t step,
                                           std::int64_t example_offset) {
  return translating([&] {
    const Tensor users = ids(users_in, "users");
    TORCH_CHECK_VALUE(users.dim() == 1, "brmrs: users must be 1-D, got ", users.dim(), " dimensions");
    TORCH_CHECK_VALUE(K >= 1, "brmrs: K = ", K, " must be >= 1");
    const std::int64_t B = users.numel();
    const auto lopt = torch::TensorOptions().dtype(torch::kLong);
    Tensor pools = torch::empty({B, K}, lopt), negatives = torch::empty({B}, lopt);
    brmrs::sample_pools(inter->store, brmrs::vector_view<const id_t_>(users.data_ptr<id_t_>(), std::size_t(B)),
                        nonneg(seed, "seed"), nonneg(step, "step"), nonneg(example_offset, "example_offset"),
                        brmrs::matrix_view<id_t_>(pools.data_ptr<id_t_>(), std::size_t(B), std::size_t(K)),
                        brmrs::vector_view<id_t_>(negatives.data_ptr<id_t_>(), std::size_t(B)),
                        brmrs::negative_source::pool_member);
    return std::make_tuple(pools, negatives);
  });
}

Tensor pool_negatives_op(Tensor pools_in, std::int64_t seed, std::int64_t step, std::int64_t example_offset) {
  const Tensor pools = ids(pools_in, "pools");
  TORCH_CHECK_VALUE(pools.dim() == 2 && pools.size(1) >= 1, "brmrs: pools must be 2-D (B x K) with K >= 1");
  const std::uint64_t s = nonneg(seed, "seed"), t = nonneg(step, "step"), e0 = nonneg(example_offset, "example_offset");
  const std::int64_t B = pools.size(0), K = pools.size(1);
  Tensor out = torch::empty({B}, torch::TensorOptions().dtype(torch::kLong));
  const id_t_* p = pools.data_ptr<id_t_>();
  id_t_* o = out.data_ptr<id_t_>();
  for (std::int64_t b = 0; b < B; ++b)
    o[b] = p[b * K + static_cast<std::int64_t>(brmrs::pool_negative_slot(s, t, e0 + std::uint64_t(b), std::uint64_t(K)))];
  return out;
}

std::string build_info() {
  std::string s = "brmrs " + std::to_string(BRMRS_VERSION_MAJOR) + "." + std::to_string(BRMRS_VERSION_MINOR) + "." +
                  std::to_string(BRMRS_VERSION_PATCH) + "; objective backend: ";
#if BRMRS_HAS_XSIMD
  s += std::string("simd (xsimd ") + xsimd::default_arch::name() + ")";
#else
  s += "scalar";
#endif
  s += BRMRS_HAS_OPENMP ? "; OpenMP" : "; no OpenMP";
  s += "; CUDA backend: not built";
  return s;
}

}  // namespace

TORCH_LIBRARY(brmrs, m) {
  m.class_<Interactions>("Interactions")
      .def(torch::init<std::int64_t, std::int64_t, Tensor, Tensor>())
      .def("n_users", &Interactions::n_users)
      .def("n_items", &Interactions::n_items)
      .def("nnz", &Interactions::nnz)
      .def("contains", &Interactions::contains);
  m.def(
      "loss(Tensor[] user_emb, Tensor[] item_emb, Tensor fused_user, Tensor fused_item, Tensor users, "
      "Tensor positives, Tensor pools, Tensor? negatives, float lambda_bpr, float lambda_h, float lambda_s, "
      "float theta, float tau, float lambda_reg, str reduction, str synergy_grad, int seed, int step, "
      "int example_offset, bool sparse_grad=False) -> (Tensor, Tensor, Tensor, Tensor)",
      &loss_op);
  m.def("sample_pools(__torch__.torch.classes.brmrs.Interactions interactions, Tensor users, int K, int seed, "
        "int step, int example_offset) -> (Tensor, Tensor)",
        &sample_pools_op);
  m.def("pool_negatives(Tensor pools, int seed, int step, int example_offset) -> Tensor", &pool_negatives_op);
  m.def("build_info() -> str", &build_info);
}

// Importing the module (brmrs._C_v3 / brmrs._C_v4) registers the operators above.
PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) { m.doc() = "brmrs TorchScript operators (torch.ops.brmrs)"; }
