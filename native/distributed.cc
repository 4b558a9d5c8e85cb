// c10d for JS: stores (TCP, file), the Gloo and NCCL process groups and their collectives. Each collective is
// launched on the JS thread, so ranks enqueue in the same order (DDP's buckets rely on it), and
// waited for on a libuv worker thread, so the event loop runs while peers work; every blocking
// call (connect, rendezvous, get, wait) has a timeout and ends as a rejected promise, never an
// abort or a hang. Stores and groups cross into JS as type-tagged externals (lib/distributed/).
#include "distributed.h"

#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#ifdef UNMIX_WITH_NCCL
// only where the LibTorch has it: a CUDA build whose torch_cuda exports it, with CUDA's and NCCL's
// headers found (scripts/find-libtorch.js, field nccl)
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <cstdlib>

namespace unmix {
namespace {

// storeTcp(host, port, isServer, worldSize, timeoutMs) -> Promise<store>. The server does not wait
// for the workers (rendezvous does); a client retries connecting until the timeout.
Napi::Value StoreTcp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  c10d::TCPStoreOptions opts;
  std::string host = StringArg(info, 0, "storeTcp", "host");
  opts.port = uint16_t(IntArg(info, 1, "storeTcp", "port", 0, 65535));
  opts.isServer = info[2].ToBoolean();
  opts.numWorkers = size_t(IntArg(info, 3, "storeTcp", "worldSize", 1, 1 << 20));
  opts.waitWorkers = false;
  opts.timeout = Ms(IntArg(info, 4, "storeTcp", "timeoutMs", 1, int64_t(1) << 40));
  auto box = std::make_shared<StoreBox>();
  return BlockingCall::Start(
      env, "storeTcp",
      [box, host, opts]() {
        auto store = c10::make_intrusive<c10d::TCPStore>(host, opts);
        box->port = store->getPort();
        box->store = store;
      },
      [box](Napi::Env env) { return Box(env, new StoreBox(*box), kStoreTag); });
}

// storeFile(path, worldSize) -> store: a shared file (tests; nodes sharing a filesystem).
Napi::Value StoreFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, "storeFile", [&]() -> Napi::Value {
    std::string path = StringArg(info, 0, "storeFile", "path");
    int world = int(IntArg(info, 1, "storeFile", "worldSize", 1, 1 << 20));
    auto* box = new StoreBox{c10::make_intrusive<c10d::FileStore>(path, world)};
    return Box(env, box, kStoreTag);
  });
}

// storePrefix(store, prefix) -> store: the same store, every key under `prefix/`.
Napi::Value StorePrefix(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  StoreBox* inner = Unbox<StoreBox>(info[0], kStoreTag, "storePrefix", "a store");
  std::string prefix = StringArg(info, 1, "storePrefix", "prefix");
  return Box(env, new StoreBox{c10::make_intrusive<c10d::PrefixStore>(prefix, inner->store), inner->port}, kStoreTag);
}

Napi::Value StorePort(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), Unbox<StoreBox>(info[0], kStoreTag, "storePort", "a store")->port);
}

// storeSet(store, key, bytes) -> Promise<void>
Napi::Value StoreSet(const Napi::CallbackInfo& info) {
  auto store = Unbox<StoreBox>(info[0], kStoreTag, "storeSet", "a store")->store;
  std::string key = StringArg(info, 1, "storeSet", "key");
  if (!info[2].IsTypedArray()) ThrowType(info.Env(), "storeSet: value must be a Uint8Array");
  auto bytes = info[2].As<Napi::Uint8Array>();
  std::vector<uint8_t> value(bytes.Data(), bytes.Data() + bytes.ByteLength());
  return BlockingCall::Start(info.Env(), "storeSet", [store, key, value]() { store->set(key, value); });
}

// storeGet(store, key, timeoutMs) -> Promise<Buffer>: waits for the key.
Napi::Value StoreGet(const Napi::CallbackInfo& info) {
  auto store = Unbox<StoreBox>(info[0], kStoreTag, "storeGet", "a store")->store;
  std::string key = StringArg(info, 1, "storeGet", "key");
  Ms timeout(IntArg(info, 2, "storeGet", "timeoutMs", 1, int64_t(1) << 40));
  auto value = std::make_shared<std::vector<uint8_t>>();
  return BlockingCall::Start(
      info.Env(), "storeGet",
      [store, key, timeout, value]() {
        store->wait({key}, timeout);
        *value = store->get(key);
      },
      [value](Napi::Env env) { return Napi::Buffer<uint8_t>::Copy(env, value->data(), value->size()); });
}

// storeAdd(store, key, delta) -> Promise<number>: the counter after adding.
Napi::Value StoreAdd(const Napi::CallbackInfo& info) {
  auto store = Unbox<StoreBox>(info[0], kStoreTag, "storeAdd", "a store")->store;
  std::string key = StringArg(info, 1, "storeAdd", "key");
  int64_t delta = IntArg(info, 2, "storeAdd", "delta", -(int64_t(1) << 52), int64_t(1) << 52);
  auto out = std::make_shared<int64_t>(0);
  return BlockingCall::Start(
      info.Env(), "storeAdd", [store, key, delta, out]() { *out = store->add(key, delta); },
      [out](Napi::Env env) { return Napi::Number::New(env, double(*out)); });
}

#ifdef UNMIX_WITH_GLOO
// groupGloo(store, rank, size, timeoutMs, interface, hostname, threads) -> Promise<group>. The
// rendezvous (every rank connects to every other through the store) runs off the JS thread.
Napi::Value GroupGloo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto store = Unbox<StoreBox>(info[0], kStoreTag, "groupGloo", "a store")->store;
  int size = int(IntArg(info, 2, "groupGloo", "size", 1, 1 << 20));
  int rank = int(IntArg(info, 1, "groupGloo", "rank", 0, size - 1));
  Ms timeout(IntArg(info, 3, "groupGloo", "timeoutMs", 1, int64_t(1) << 40));
  std::string iface = info[4].IsString() ? info[4].As<Napi::String>().Utf8Value() : "";
  std::string hostname = info[5].IsString() ? info[5].As<Napi::String>().Utf8Value() : "";
  int threads = int(IntArg(info, 6, "groupGloo", "threads", 1, 64));
  auto box = std::make_shared<GroupBox>();
  box->timeout = timeout;
  return BlockingCall::Start(
      env, "groupGloo",
      [box, store, rank, size, timeout, iface, hostname, threads]() {
        auto opts = c10d::ProcessGroupGloo::Options::create(timeout);
        opts->threads = threads;
        opts->devices.push_back(!iface.empty()      ? c10d::ProcessGroupGloo::createDeviceForInterface(iface)
                                : !hostname.empty() ? c10d::ProcessGroupGloo::createDeviceForHostname(hostname)
                                                    : c10d::ProcessGroupGloo::createDefaultDevice());
        box->group = c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, size, opts);
      },
      [box](Napi::Env env) { return Box(env, new GroupBox(*box), kGroupTag); });
}
#endif

#ifdef UNMIX_WITH_NCCL
// groupNccl(store, rank, size, timeoutMs) -> Promise<group>. NCCL makes its communicators at the
// first collective, on the device of its tensors (cuda:localRank, as torch). Without a GPU NCCL
// would abort the process: refused here first. Blocking wait (TORCH_NCCL_BLOCKING_WAIT, unless the
// environment sets it) makes a collective's wait throw at the timeout, so a dead peer rejects the
// promise rather than NCCL's watchdog ending the process.
Napi::Value GroupNccl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, "groupNccl", [&]() -> Napi::Value {
    auto store = Unbox<StoreBox>(info[0], kStoreTag, "groupNccl", "a store")->store;
    int size = int(IntArg(info, 2, "groupNccl", "size", 1, 1 << 20));
    int rank = int(IntArg(info, 1, "groupNccl", "rank", 0, size - 1));
    Ms timeout(IntArg(info, 3, "groupNccl", "timeoutMs", 1, int64_t(1) << 40));
    int devices = at::detail::getCUDAHooks().hasCUDA() ? int(at::detail::getCUDAHooks().getNumGPUs()) : 0;
    if (devices == 0)
      throw Napi::Error::New(env,
                             "ProcessGroup.nccl: NCCL needs a CUDA device; this machine has none "
                             "(torch.cuda.device_count() is 0): use the Gloo backend");
    setenv("TORCH_NCCL_BLOCKING_WAIT", "1", 0);
    auto box = std::make_shared<GroupBox>();
    box->timeout = timeout;
    return BlockingCall::Start(
        env, "groupNccl",
        [box, store, rank, size, timeout]() {
          auto opts = c10d::ProcessGroupNCCL::Options::create();
          opts->timeout = timeout;
          box->group = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, size, opts);
        },
        [box](Napi::Env env) { return Box(env, new GroupBox(*box), kGroupTag); });
  });
}
#endif

#ifdef UNMIX_WITH_GROUPS
// Waits for `work` off the JS thread; its tensors stay alive in the closure until it completes.
template <typename W>
Napi::Value WaitFor(Napi::Env env, const char* op, W work, Ms timeout, std::vector<at::Tensor> keep) {
  return BlockingCall::Start(env, op, [work, timeout, keep]() mutable {
    work->wait(timeout);
    keep.clear();
  });
}

c10d::ReduceOp ReduceOpArg(const Napi::CallbackInfo& info, size_t i, const char* op) {
  std::string name = StringArg(info, i, op, "op");
  if (name == "sum") return c10d::ReduceOp::SUM;
  if (name == "product") return c10d::ReduceOp::PRODUCT;
  if (name == "min") return c10d::ReduceOp::MIN;
  if (name == "max") return c10d::ReduceOp::MAX;
  ThrowType(info.Env(), std::string(op) + ": op must be 'sum', 'product', 'min' or 'max', got '" + name + "'");
}

// allreduce(group, tensor, op) -> Promise<void>, in place.
Napi::Value Allreduce(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, "allreduce", [&]() -> Napi::Value {
    GroupBox* g = GroupArg(info, "allreduce");
    std::vector<at::Tensor> tensors{RequireTensor(env, info[1], "allreduce")};
    c10d::AllreduceOptions opts;
    opts.reduceOp = ReduceOpArg(info, 2, "allreduce");
    opts.timeout = g->timeout;
    return WaitFor(env, "allreduce", g->group->allreduce(tensors, opts), g->timeout, tensors);
  });
}

// broadcast(group, tensor, root) -> Promise<void>, in place.
Napi::Value Broadcast(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, "broadcast", [&]() -> Napi::Value {
    GroupBox* g = GroupArg(info, "broadcast");
    std::vector<at::Tensor> tensors{RequireTensor(env, info[1], "broadcast")};
    c10d::BroadcastOptions opts;
    opts.rootRank = IntArg(info, 2, "broadcast", "root", 0, g->group->getSize() - 1);
    opts.timeout = g->timeout;
    return WaitFor(env, "broadcast", g->group->broadcast(tensors, opts), g->timeout, tensors);
  });
}

// allgather(group, outputs[], input) -> Promise<void>: outputs[r] receives rank r's input.
Napi::Value Allgather(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, "allgather", [&]() -> Napi::Value {
    GroupBox* g = GroupArg(info, "allgather");
    if (!info[1].IsArray()) ThrowType(env, "allgather: outputs must be an array of tensors");
    auto list = info[1].As<Napi::Array>();
    std::vector<std::vector<at::Tensor>> outputs(1);
    for (uint32_t i = 0; i < list.Length(); i++)
      outputs[0].push_back(RequireTensor(env, list.Get(i), "allgather", "outputs"));
    std::vector<at::Tensor> inputs{RequireTensor(env, info[2], "allgather", "input")};
    c10d::AllgatherOptions opts;
    opts.timeout = g->timeout;
    std::vector<at::Tensor> keep(outputs[0]);
    keep.push_back(inputs[0]);
    return WaitFor(env, "allgather", g->group->allgather(outputs, inputs, opts), g->timeout, keep);
  });
}

// barrier(group) -> Promise<void>
Napi::Value Barrier(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, "barrier", [&]() -> Napi::Value {
    GroupBox* g = GroupArg(info, "barrier");
    c10d::BarrierOptions opts;
    opts.timeout = g->timeout;
    return WaitFor(env, "barrier", g->group->barrier(opts), g->timeout, {});
  });
}
#endif

}  // namespace

void InitDistributed(Napi::Env env, Napi::Object exports) {
  Napi::Object d = Napi::Object::New(env);
  d.Set("storeTcp", Napi::Function::New(env, StoreTcp));
  d.Set("storeFile", Napi::Function::New(env, StoreFile));
  d.Set("storePrefix", Napi::Function::New(env, StorePrefix));
  d.Set("storePort", Napi::Function::New(env, StorePort));
  d.Set("storeSet", Napi::Function::New(env, StoreSet));
  d.Set("storeGet", Napi::Function::New(env, StoreGet));
  d.Set("storeAdd", Napi::Function::New(env, StoreAdd));
#ifdef UNMIX_WITH_GLOO
  d.Set("gloo", Napi::Boolean::New(env, true));
  d.Set("groupGloo", Napi::Function::New(env, GroupGloo));
#else
  d.Set("gloo", Napi::Boolean::New(env, false));
#endif
#ifdef UNMIX_WITH_NCCL
  d.Set("nccl", Napi::Boolean::New(env, true));
  d.Set("groupNccl", Napi::Function::New(env, GroupNccl));
#else
  d.Set("nccl", Napi::Boolean::New(env, false));
#endif
#ifdef UNMIX_WITH_GROUPS
  d.Set("allreduce", Napi::Function::New(env, Allreduce));
  d.Set("broadcast", Napi::Function::New(env, Broadcast));
  d.Set("allgather", Napi::Function::New(env, Allgather));
  d.Set("barrier", Napi::Function::New(env, Barrier));
  InitDdp(env, d);
  InitDistAutograd(env, d);
#endif
  exports.Set("distributed", d);
}

}  // namespace unmix
