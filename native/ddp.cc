// DistributedDataParallel's gradient reducer, as torch's DDP does it: the parameters are split into
// buckets in reverse order (backward reaches the last layers first), a post-hook on each gradient
// accumulator marks its parameter ready, and a bucket whose parameters are all ready is flattened,
// divided by the world size and allreduced at once, in bucket order on every rank, while backward
// goes on. `ddpSynchronize` launches what backward did not reach (unused parameters count as zero),
// waits off the JS thread and writes the averaged gradients back. The hooks run inside LibTorch's
// backward and never call into JS.
#include "distributed.h"

#ifdef UNMIX_WITH_GROUPS
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/function_hook.h>
#include <torch/csrc/autograd/variable.h>

#include <mutex>

namespace unmix {
namespace {

// shared_ptr<Node> in LibTorch 1.x, intrusive_ptr<Node> in 2.x
using Accumulator = decltype(torch::autograd::impl::grad_accumulator(std::declval<const at::Tensor&>()));
using WorkPtr = decltype(std::declval<GroupBase&>().barrier());

struct Bucket {
  std::vector<size_t> params;
  size_t pending = 0;
  at::Tensor flat;
  WorkPtr work;
};

struct Reducer {
  std::mutex mu;
  c10::intrusive_ptr<GroupBase> group;
  Ms timeout;
  std::vector<at::Tensor> params;
  std::vector<Accumulator> accumulators;  // held, or LibTorch makes new ones without our hooks
  std::vector<size_t> bucket_of;
  std::vector<bool> ready;
  std::vector<Bucket> buckets;
  size_t next_launch = 0;
  bool sync = true;
  bool alive = true;
  std::string error;

  // Launches buckets in order, as far as they are complete (or all of them, `force`). Locked.
  void LaunchReady(bool force) {
    while (next_launch < buckets.size() && (force || buckets[next_launch].pending == 0)) {
      Bucket& b = buckets[next_launch++];
      std::vector<at::Tensor> pieces;
      for (size_t i : b.params) {
        const at::Tensor& g = params[i].grad();
        pieces.push_back(g.defined() ? g.reshape(-1) : at::zeros({params[i].numel()}, params[i].options()));
      }
      b.flat = at::cat(pieces).div_(group->getSize());
      std::vector<at::Tensor> tensors{b.flat};
      c10d::AllreduceOptions opts;
      opts.timeout = timeout;
      b.work = group->allreduce(tensors, opts);
    }
  }

  void MarkReady(size_t i) {
    std::lock_guard<std::mutex> lock(mu);
    if (!alive || !sync) return;
    if (ready[i]) {
      error = "backward reached a parameter twice before synchronize() (call it after every backward, or use noSync)";
      return;
    }
    ready[i] = true;
    buckets[bucket_of[i]].pending--;
    LaunchReady(false);
  }

  // Worker thread: the rest of the buckets, the waits, the averaged gradients into .grad.
  void Synchronize() {
    std::unique_lock<std::mutex> lock(mu);
    std::string failed = error;
    LaunchReady(true);
    lock.unlock();
    for (Bucket& b : buckets) {
      if (b.work) b.work->wait(timeout);
    }
    lock.lock();
    for (Bucket& b : buckets) {
      int64_t offset = 0;
      for (size_t i : b.params) {
        at::Tensor& p = params[i];
        at::Tensor avg = b.flat.narrow(0, offset, p.numel()).view(p.sizes());
        offset += p.numel();
        if (p.grad().defined()) {
          p.mutable_grad().copy_(avg);
        } else {
          p.mutable_grad() = avg.clone();
        }
      }
      b.flat = at::Tensor();
      b.work.reset();
      b.pending = b.params.size();
    }
    std::fill(ready.begin(), ready.end(), false);
    next_launch = 0;
    error.clear();
    if (!failed.empty()) throw std::runtime_error(failed);
  }
};

struct ReadyHook : torch::autograd::FunctionPostHook {
  ReadyHook(std::weak_ptr<Reducer> reducer, size_t index) : reducer_(std::move(reducer)), index_(index) {}
  torch::autograd::variable_list operator()(const torch::autograd::variable_list& outputs,
                                            const torch::autograd::variable_list& inputs) override {
    if (auto r = reducer_.lock()) r->MarkReady(index_);
    return outputs;
  }
  std::weak_ptr<Reducer> reducer_;
  size_t index_;
};

struct ReducerBox {
  std::shared_ptr<Reducer> reducer;
  ~ReducerBox() {
    std::lock_guard<std::mutex> lock(reducer->mu);
    reducer->alive = false;
  }
};
constexpr napi_type_tag kReducerTag = {0x5c2e8a1f7d3b4960ULL, 0xb7d40e6a2c9f1358ULL};

// ddpReducer(group, params[], firstBucketBytes, bucketBytes) -> reducer
Napi::Value DdpReducer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, "ddpReducer", [&]() -> Napi::Value {
    GroupBox* g = GroupArg(info, "ddpReducer");
    if (!info[1].IsArray()) ThrowType(env, "ddpReducer: params must be an array of tensors");
    auto list = info[1].As<Napi::Array>();
    int64_t first_cap = IntArg(info, 2, "ddpReducer", "firstBucketBytes", 1, int64_t(1) << 40);
    int64_t cap = IntArg(info, 3, "ddpReducer", "bucketBytes", 1, int64_t(1) << 40);
    auto r = std::make_shared<Reducer>();
    r->group = g->group;
    r->timeout = g->timeout;
    for (uint32_t i = 0; i < list.Length(); i++) {
      at::Tensor p = RequireTensor(env, list.Get(i), "ddpReducer", "params");
      if (!p.requires_grad() || !p.is_leaf())
        ThrowType(env, "ddpReducer: params[" + std::to_string(i) + "] must be a leaf that requires grad");
      r->params.push_back(p);
    }
    // Reverse order; a new bucket when the dtype changes or the bucket reached its cap (the first
    // bucket's cap is small, so the first allreduce starts early).
    size_t n = r->params.size();
    r->bucket_of.assign(n, 0);
    r->ready.assign(n, false);
    int64_t bytes = 0;
    for (size_t k = 0; k < n; k++) {
      size_t i = n - 1 - k;
      const at::Tensor& p = r->params[i];
      int64_t limit = r->buckets.size() <= 1 ? first_cap : cap;
      bool full = !r->buckets.empty() &&
                  (bytes >= limit || p.scalar_type() != r->params[r->buckets.back().params[0]].scalar_type());
      if (r->buckets.empty() || full) {
        r->buckets.emplace_back();
        bytes = 0;
      }
      r->buckets.back().params.push_back(i);
      r->bucket_of[i] = r->buckets.size() - 1;
      bytes += p.numel() * int64_t(p.element_size());
    }
    for (Bucket& b : r->buckets) b.pending = b.params.size();
    for (size_t i = 0; i < n; i++) {
      Accumulator acc = torch::autograd::impl::grad_accumulator(r->params[i]);
      acc->add_post_hook(std::make_unique<ReadyHook>(r, i));
      r->accumulators.push_back(acc);
    }
    auto* box = new ReducerBox{r};
    Napi::Value handle = Box(env, box, kReducerTag);
    Napi::Array sizes = Napi::Array::New(env, r->buckets.size());
    for (size_t b = 0; b < r->buckets.size(); b++)
      sizes.Set(uint32_t(b), Napi::Number::New(env, double(r->buckets[b].params.size())));
    Napi::Object out = Napi::Object::New(env);
    out.Set("handle", handle);
    out.Set("bucketSizes", sizes);
    return out;
  });
}

// ddpSetSync(reducer, sync): with false, backward only accumulates locally (no_sync()).
Napi::Value DdpSetSync(const Napi::CallbackInfo& info) {
  auto* box = Unbox<ReducerBox>(info[0], kReducerTag, "ddpSetSync", "a DDP reducer");
  std::lock_guard<std::mutex> lock(box->reducer->mu);
  box->reducer->sync = info[1].ToBoolean();
  return info.Env().Undefined();
}

// ddpSynchronize(reducer) -> Promise<void>
Napi::Value DdpSynchronize(const Napi::CallbackInfo& info) {
  std::shared_ptr<Reducer> r = Unbox<ReducerBox>(info[0], kReducerTag, "ddpSynchronize", "a DDP reducer")->reducer;
  return BlockingCall::Start(info.Env(), "ddpSynchronize", [r]() { r->Synchronize(); });
}

}  // namespace

void InitDdp(Napi::Env env, Napi::Object distributed) {
  distributed.Set("ddpReducer", Napi::Function::New(env, DdpReducer));
  distributed.Set("ddpSetSync", Napi::Function::New(env, DdpSetSync));
  distributed.Set("ddpSynchronize", Napi::Function::New(env, DdpSynchronize));
}

}  // namespace unmix
#endif
