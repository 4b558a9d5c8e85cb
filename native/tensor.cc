// The tensor handle: ownership, disposal, live-memory accounting, metadata.
#include "common.h"

#include <algorithm>
#include <mutex>
#include <unordered_map>

namespace unmix {
namespace {

// Process-wide accounting, shared by every thread that loaded the addon: guarded by g_mutex.
// Storages are shared by views, so bytes are counted once per storage.
struct StorageUse {
  int64_t handles = 0;
  int64_t bytes = 0;
  c10::Device device{c10::kCPU};
};
std::unordered_map<c10::Device, TensorHandle::DeviceBytes> g_device_bytes;
std::unordered_map<const void*, StorageUse> g_storages;
int64_t g_live_count = 0;
int64_t g_live_bytes = 0;
std::mutex g_mutex;

}  // namespace

Napi::Function TensorHandle::Init(Napi::Env env) {
  Napi::Function ctor = DefineClass(env, "TensorHandle",
                                    {
                                        InstanceMethod("dispose", &TensorHandle::Dispose),
                                        InstanceMethod("isDisposed", &TensorHandle::IsDisposed),
                                        InstanceMethod("meta", &TensorHandle::Meta),
                                    });
  GetEnvData(env)->tensor_ctor = Napi::Persistent(ctor);
  return ctor;
}

// Tags mark our tensor objects; checking one is much cheaper than `instanceof`.
const napi_type_tag kTensorTag = {0x756e6d6978746e73ULL, 0x3c1d7e0a92b54f61ULL};

TensorHandle::TensorHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TensorHandle>(info) {
  env_ = info.Env();
  info.This().As<Napi::Object>().TypeTag(&kTensorTag);
}

TensorHandle::~TensorHandle() { Release(); }

Napi::Object TensorHandle::Wrap(Napi::Env env, at::Tensor tensor) {
  Napi::Object obj = GetEnvData(env)->tensor_ctor.New({});
  TensorHandle::Unwrap(obj)->Set(env, std::move(tensor));
  return obj;
}

bool TensorHandle::IsHandle(const Napi::Value& value) {
  return value.IsObject() && value.As<Napi::Object>().CheckTypeTag(&kTensorTag);
}

TensorHandle* TensorHandle::Unwrap(const Napi::Value& value) {
  if (!IsHandle(value)) return nullptr;
  return Napi::ObjectWrap<TensorHandle>::Unwrap(value.As<Napi::Object>());
}

void TensorHandle::Set(Napi::Env env, at::Tensor tensor) {
  tensor_ = std::move(tensor);
  was_set_ = true;
  std::lock_guard<std::mutex> lock(g_mutex);
  ++g_live_count;
  if (!tensor_.defined() || !tensor_.has_storage()) return;
  const auto& storage = tensor_.storage();
  storage_key_ = storage.unsafeGetStorageImpl();
  StorageUse& use = g_storages[storage_key_];
  if (use.handles++ == 0) {
    use.bytes = static_cast<int64_t>(storage.nbytes());
    use.device = tensor_.device();
    g_live_bytes += use.bytes;
    DeviceBytes& d = g_device_bytes[use.device];
    d.bytes += use.bytes;
    d.peak = std::max(d.peak, d.bytes);
    // Only host memory is visible to V8's heuristics; GPU memory is freed deterministically.
    if (tensor_.device().is_cpu()) {
      external_bytes_ = use.bytes;
      Napi::MemoryManagement::AdjustExternalMemory(env, external_bytes_);
    }
  }
}

void TensorHandle::Release() {
  if (!was_set_ || released_) return;
  released_ = true;
  std::unique_lock<std::mutex> lock(g_mutex);
  --g_live_count;
  if (storage_key_) {
    auto it = g_storages.find(storage_key_);
    if (it != g_storages.end() && --it->second.handles == 0) {
      g_live_bytes -= it->second.bytes;
      g_device_bytes[it->second.device].bytes -= it->second.bytes;
      g_storages.erase(it);
    }
    storage_key_ = nullptr;
  }
  lock.unlock();
  if (external_bytes_ && env_) {
    Napi::MemoryManagement::AdjustExternalMemory(env_, -external_bytes_);
  }
  external_bytes_ = 0;
  tensor_ = at::Tensor();
}

const at::Tensor& TensorHandle::Get(const Napi::Env& env, const char* op) const {
  if (released_) {
    throw Napi::Error::New(env, std::string(op) + ": the tensor was disposed and can no longer be used");
  }
  if (!was_set_) throw Napi::Error::New(env, std::string(op) + ": this TensorHandle holds no tensor");
  return tensor_;
}

int64_t TensorHandle::LiveCount() {
  std::lock_guard<std::mutex> lock(g_mutex);
  return g_live_count;
}
int64_t TensorHandle::LiveBytes() {
  std::lock_guard<std::mutex> lock(g_mutex);
  return g_live_bytes;
}

std::vector<std::pair<std::string, TensorHandle::DeviceBytes>> TensorHandle::BytesByDevice() {
  std::vector<std::pair<std::string, DeviceBytes>> out;
  std::lock_guard<std::mutex> lock(g_mutex);
  for (const auto& kv : g_device_bytes) out.emplace_back(kv.first.str(), kv.second);
  return out;
}

void TensorHandle::ResetPeaks() {
  std::lock_guard<std::mutex> lock(g_mutex);
  for (auto& kv : g_device_bytes) kv.second.peak = kv.second.bytes;
}

Napi::Value TensorHandle::Dispose(const Napi::CallbackInfo& info) {
  Release();
  return info.Env().Undefined();
}

Napi::Value TensorHandle::IsDisposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), released_);
}

// [shape, strides, dtype, device, requiresGrad, isLeaf] in one call: metadata is read often and
// one crossing is cheaper than six.
Napi::Value TensorHandle::Meta(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, "meta", [&]() -> Napi::Value {
  const at::Tensor& t = Get(env, "meta");
  Napi::Array out = Napi::Array::New(env, 6);
  Napi::Array shape = Napi::Array::New(env, t.dim());
  Napi::Array strides = Napi::Array::New(env, t.dim());
  for (int64_t i = 0; i < t.dim(); ++i) {
    shape.Set(uint32_t(i), Napi::Number::New(env, double(t.size(i))));
    strides.Set(uint32_t(i), Napi::Number::New(env, double(t.stride(i))));
  }
  out.Set(0u, shape);
  out.Set(1u, strides);
  out.Set(2u, Napi::String::New(env, DtypeName(t.scalar_type())));
  out.Set(3u, Napi::String::New(env, t.device().str()));
  out.Set(4u, Napi::Boolean::New(env, t.requires_grad()));
  out.Set(5u, Napi::Boolean::New(env, t.is_leaf()));
  return out;
  });
}

}  // namespace unmix
