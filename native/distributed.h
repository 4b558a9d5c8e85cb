// Shared by the c10d parts of the addon (distributed.cc: stores, groups, collectives; ddp.cc: the
// gradient reducer): the type-tagged handles JS holds, and a promise settled by a worker thread.
#pragma once

#include <torch/version.h>

#include <torch/csrc/distributed/c10d/Store.hpp>

#include "common.h"
#ifdef UNMIX_WITH_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
// UNMIX_WITH_NCCL: ProcessGroupNCCL, where the LibTorch has it (distributed.cc includes it).
// Either backend: the collectives, DDP's reducer and the autograd collectives.
#if defined(UNMIX_WITH_GLOO) || defined(UNMIX_WITH_NCCL)
#define UNMIX_WITH_GROUPS 1
#if TORCH_VERSION_MAJOR >= 2
// GroupBase below, declared here for itself: a build with NCCL but without Gloo's headers (node-gyp
// finds no Gloo) has no other header in this file that declares it
#include <torch/csrc/distributed/c10d/Backend.hpp>
#endif
#endif

#include <chrono>
#include <functional>
#include <memory>

namespace unmix {

using Ms = std::chrono::milliseconds;

struct StoreBox {
  c10::intrusive_ptr<c10d::Store> store;
  int port = -1;  // a TCPStore's bound port (port 0 asks for a free one)
};
inline constexpr napi_type_tag kStoreTag = {0x7a1c3d5e9b214f60ULL, 0x8e4b2f17c6a9d035ULL};

#ifdef UNMIX_WITH_GROUPS
// What Gloo's and NCCL's groups share, through which every collective is called: c10d::Backend in
// 2.x; in 1.13 (Gloo only) the groups derive from c10d::ProcessGroup.
#if TORCH_VERSION_MAJOR >= 2
using GroupBase = c10d::Backend;
#else
using GroupBase = c10d::ProcessGroup;
#endif
struct GroupBox {
  c10::intrusive_ptr<GroupBase> group;
  Ms timeout;
};
inline constexpr napi_type_tag kGroupTag = {0x3f9e2a7c1b5d4e08ULL, 0xa61c5e93d7f2b480ULL};
#endif

template <typename T>
Napi::Value Box(Napi::Env env, T* box, const napi_type_tag& tag) {
  auto external = Napi::External<T>::New(env, box, [](Napi::Env, T* b) { delete b; });
  external.TypeTag(&tag);
  return external;
}

template <typename T>
T* Unbox(const Napi::Value& value, const napi_type_tag& tag, const char* op, const char* what) {
  if (!value.IsExternal() || !value.As<Napi::External<T>>().CheckTypeTag(&tag))
    ThrowType(value.Env(), std::string(op) + ": expected " + what);
  return value.As<Napi::External<T>>().Data();
}

#ifdef UNMIX_WITH_GROUPS
void InitDdp(Napi::Env env, Napi::Object distributed);           // ddp.cc
void InitDistAutograd(Napi::Env env, Napi::Object distributed);  // dist-autograd.cc

inline GroupBox* GroupArg(const Napi::CallbackInfo& info, const char* op) {
  return Unbox<GroupBox>(info[0], kGroupTag, op, "a process group");
}
#endif

// Runs `work` on a libuv worker thread; the promise resolves with `result()` made on the JS thread.
class BlockingCall : public Napi::AsyncWorker {
 public:
  BlockingCall(Napi::Env env, std::string op, std::function<void()> work,
               std::function<Napi::Value(Napi::Env)> result = nullptr)
      : Napi::AsyncWorker(env),
        deferred_(Napi::Promise::Deferred::New(env)),
        op_(std::move(op)),
        work_(std::move(work)),
        result_(std::move(result)) {}
  static Napi::Promise Start(Napi::Env env, std::string op, std::function<void()> work,
                             std::function<Napi::Value(Napi::Env)> result = nullptr) {
    auto* call = new BlockingCall(env, std::move(op), std::move(work), std::move(result));
    Napi::Promise promise = call->deferred_.Promise();
    call->Queue();
    return promise;
  }
  void Execute() override {
    try {
      work_();
    } catch (const c10::Error& e) {
      SetError(op_ + ": " + e.what_without_backtrace());
    } catch (const std::exception& e) {
      SetError(op_ + ": " + e.what());
    }
  }
  void OnOK() override {
    Napi::Env env = Env();
    work_ = nullptr;
    deferred_.Resolve(result_ ? result_(env) : env.Undefined());
  }
  void OnError(const Napi::Error& e) override {
    work_ = nullptr;
    deferred_.Reject(e.Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::string op_;
  std::function<void()> work_;
  std::function<Napi::Value(Napi::Env)> result_;
};

inline std::string StringArg(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name) {
  if (!info[i].IsString()) ThrowType(info.Env(), std::string(op) + ": " + name + " must be a string");
  return info[i].As<Napi::String>().Utf8Value();
}
inline int64_t IntArg(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name, int64_t lo,
                      int64_t hi) {
  if (!info[i].IsNumber()) ThrowType(info.Env(), std::string(op) + ": " + name + " must be a number");
  double v = info[i].As<Napi::Number>().DoubleValue();
  if (!(v >= double(lo) && v <= double(hi)) || v != double(int64_t(v)))
    throw Napi::RangeError::New(info.Env(), std::string(op) + ": " + name + " must be an integer in [" +
                                                std::to_string(lo) + ", " + std::to_string(hi) + "], got " +
                                                info[i].ToString().Utf8Value());
  return int64_t(v);
}

}  // namespace unmix
