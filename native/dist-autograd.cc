// Collectives that autograd can go through, as the reference's distributed code uses them:
// allGatherWithGrad (SimCLR's negatives from every rank; backward = allreduce of the gradient, this
// rank's slice, as its GatherLayer) and allReduceWithGrad (SyncBatchNorm's statistics; backward =
// allreduce of the gradient). The forward's collective is waited for off the JS thread; the backward's
// runs inside LibTorch's backward, which is synchronous anyway, and has the group's timeout.
#include "distributed.h"

#ifdef UNMIX_WITH_GROUPS
#include <torch/csrc/autograd/custom_function.h>

#include <mutex>
#include <unordered_map>

namespace unmix {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Groups by id, for the autograd context (which stores IValues, not our handles).
std::mutex groups_mu;
std::unordered_map<int64_t, GroupBox> groups;
int64_t next_group_id = 0;

int64_t Remember(const GroupBox& g) {
  std::lock_guard<std::mutex> lock(groups_mu);
  for (auto& [id, known] : groups)
    if (known.group.get() == g.group.get()) return id;
  groups[next_group_id] = g;
  return next_group_id++;
}
GroupBox Recall(int64_t id) {
  std::lock_guard<std::mutex> lock(groups_mu);
  return groups.at(id);
}

at::Tensor SumOverRanks(const GroupBox& g, at::Tensor t) {
  std::vector<at::Tensor> tensors{t.contiguous()};
  c10d::AllreduceOptions opts;
  opts.timeout = g.timeout;
  g.group->allreduce(tensors, opts)->wait(g.timeout);
  return tensors[0];
}

// forward(x) = gathered (every rank's x along dim 0, made before); backward: the summed gradient's rows of this rank.
struct GatherFn : torch::autograd::Function<GatherFn> {
  static at::Tensor forward(AutogradContext* ctx, at::Tensor x, at::Tensor gathered, int64_t group) {
    ctx->saved_data["group"] = group;
    ctx->saved_data["rows"] = x.size(0);
    return gathered;
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    GroupBox g = Recall(ctx->saved_data["group"].toInt());
    int64_t rows = ctx->saved_data["rows"].toInt();
    at::Tensor summed = SumOverRanks(g, grads[0].clone());
    return {summed.narrow(0, g.group->getRank() * rows, rows).clone(), at::Tensor(), at::Tensor()};
  }
};

// forward(x) = reduced (the sum over ranks, made before); backward: the gradient summed over ranks.
struct SumFn : torch::autograd::Function<SumFn> {
  static at::Tensor forward(AutogradContext* ctx, at::Tensor x, at::Tensor reduced, int64_t group) {
    ctx->saved_data["group"] = group;
    return reduced;
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    return {SumOverRanks(Recall(ctx->saved_data["group"].toInt()), grads[0].clone()), at::Tensor(), at::Tensor()};
  }
};

// allGatherWithGrad(group, x, now) -> Promise<Tensor>, or the Tensor itself when `now` (waited for
// on the JS thread, within the timeout: for a forward that cannot await, as SyncBatchNorm's):
// cat of every rank's x (equal shapes) along dim 0.
Napi::Value AllGatherWithGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, "allGatherWithGrad", [&]() -> Napi::Value {
    GroupBox g = *GroupArg(info, "allGatherWithGrad");
    at::Tensor x = RequireTensor(env, info[1], "allGatherWithGrad").contiguous();
    auto parts = std::make_shared<std::vector<std::vector<at::Tensor>>>(1);
    for (int r = 0; r < g.group->getSize(); r++) (*parts)[0].push_back(at::empty_like(x).detach());
    std::vector<at::Tensor> inputs{x.detach()};
    c10d::AllgatherOptions opts;
    opts.timeout = g.timeout;
    auto work = g.group->allgather(*parts, inputs, opts);
    int64_t id = Remember(g);
    if (info[2].ToBoolean()) {
      work->wait(g.timeout);
      return WrapTensor(env, GatherFn::apply(x, at::cat((*parts)[0]), id));
    }
    return BlockingCall::Start(
        env, "allGatherWithGrad", [work, g, parts, inputs]() { work->wait(g.timeout); },
        [x, parts, id](Napi::Env env) {
          return Guard(env, "allGatherWithGrad",
                       [&]() -> Napi::Value { return WrapTensor(env, GatherFn::apply(x, at::cat((*parts)[0]), id)); });
        });
  });
}

// allReduceWithGrad(group, x, now) -> Promise<Tensor> (or the Tensor, `now`): the sum of every
// rank's x, a new tensor.
Napi::Value AllReduceWithGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, "allReduceWithGrad", [&]() -> Napi::Value {
    GroupBox g = *GroupArg(info, "allReduceWithGrad");
    at::Tensor x = RequireTensor(env, info[1], "allReduceWithGrad");
    std::vector<at::Tensor> tensors{x.detach().contiguous().clone()};
    c10d::AllreduceOptions opts;
    opts.timeout = g.timeout;
    auto work = g.group->allreduce(tensors, opts);
    int64_t id = Remember(g);
    if (info[2].ToBoolean()) {
      work->wait(g.timeout);
      return WrapTensor(env, SumFn::apply(x, tensors[0], id));
    }
    return BlockingCall::Start(
        env, "allReduceWithGrad", [work, g, tensors]() { work->wait(g.timeout); },
        [x, tensors, id](Napi::Env env) {
          return Guard(env, "allReduceWithGrad",
                       [&]() -> Napi::Value { return WrapTensor(env, SumFn::apply(x, tensors[0], id)); });
        });
  });
}

}  // namespace

void InitDistAutograd(Napi::Env env, Napi::Object distributed) {
  distributed.Set("allGatherWithGrad", Napi::Function::New(env, AllGatherWithGrad));
  distributed.Set("allReduceWithGrad", Napi::Function::New(env, AllReduceWithGrad));
}

}  // namespace unmix
#endif
