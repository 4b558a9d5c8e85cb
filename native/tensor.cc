// Tensor handles: the per-environment slot table, live-memory accounting, dispose and metadata.
#include <c10/util/flat_hash_map.h>

#include <algorithm>
#include <cmath>
#include <mutex>

#include "common.h"

namespace unmix {
namespace {

// A handle is generation * 2^24 + slot index: exact in a double, and a slot reused for a new
// tensor gets a new generation, so an old handle to it no longer matches.
constexpr double kSlots = 16777216.0;  // 2^24
constexpr uint32_t kMaxGeneration = 1u << 28;

// Process-wide accounting, shared by every thread that loaded the addon: guarded by g_mutex.
// Storages are shared by views, so bytes are counted once per storage.
struct StorageUse {
  int64_t handles = 0;
  int64_t bytes = 0;
  c10::Device device{c10::kCPU};
};
ska::flat_hash_map<const void*, StorageUse> g_storages;
std::vector<std::pair<c10::Device, DeviceBytes>> g_devices;  // a handful of entries
int64_t g_live_count = 0;
int64_t g_live_bytes = 0;
std::mutex g_mutex;

DeviceBytes& DeviceEntry(c10::Device device) {
  for (auto& d : g_devices) {
    if (d.first == device) return d.second;
  }
  g_devices.emplace_back(device, DeviceBytes{});
  return g_devices.back().second;
}

// Counts a new handle; returns the storage it counted.
const void* Count(const at::Tensor& tensor) {
  std::lock_guard<std::mutex> lock(g_mutex);
  ++g_live_count;
  if (!tensor.defined() || !tensor.has_storage()) return nullptr;
  const auto& storage = tensor.storage();
  const void* key = storage.unsafeGetStorageImpl();
  StorageUse& use = g_storages[key];
  if (use.handles++ == 0) {
    use.bytes = static_cast<int64_t>(storage.nbytes());
    use.device = tensor.device();
    g_live_bytes += use.bytes;
    DeviceBytes& d = DeviceEntry(use.device);
    d.bytes += use.bytes;
    d.peak = std::max(d.peak, d.bytes);
  }
  return key;
}

// A counted storage now holds `nbytes` (resized in place under its handles).
void Resize(const void* key, int64_t nbytes) {
  std::lock_guard<std::mutex> lock(g_mutex);
  auto it = g_storages.find(key);
  if (it == g_storages.end() || it->second.bytes == nbytes) return;
  int64_t delta = nbytes - it->second.bytes;
  it->second.bytes = nbytes;
  g_live_bytes += delta;
  DeviceBytes& d = DeviceEntry(it->second.device);
  d.bytes += delta;
  d.peak = std::max(d.peak, d.bytes);
}

void Uncount(const void* key) {
  std::lock_guard<std::mutex> lock(g_mutex);
  --g_live_count;
  if (!key) return;
  auto it = g_storages.find(key);
  if (it == g_storages.end() || --it->second.handles > 0) return;
  g_live_bytes -= it->second.bytes;
  DeviceEntry(it->second.device).bytes -= it->second.bytes;
  g_storages.erase(it);
}

}  // namespace

// ---- the table -----------------------------------------------------------------------------

double TensorTable::Add(at::Tensor tensor) {
  uint32_t index;
  if (!free_.empty()) {
    index = free_.back();
    free_.pop_back();
  } else {
    if (slots_.size() >= static_cast<size_t>(kSlots)) throw std::runtime_error("more than 2^24 live tensors");
    index = static_cast<uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  Slot& slot = slots_[index];
  slot.generation = slot.generation % kMaxGeneration + 1;
  slot.live = true;
  slot.storage = Count(tensor);
  slot.tensor = std::move(tensor);
  return slot.generation * kSlots + index;
}

TensorTable::Slot* TensorTable::FindSlot(double handle) {
  if (!(handle >= kSlots) || handle != std::floor(handle)) return nullptr;
  double generation = std::floor(handle / kSlots);
  double index = handle - generation * kSlots;
  if (index >= static_cast<double>(slots_.size())) return nullptr;
  Slot& slot = slots_[static_cast<size_t>(index)];
  if (!slot.live || slot.generation != generation) return nullptr;
  return &slot;
}

at::Tensor* TensorTable::Find(double handle) {
  Slot* slot = FindSlot(handle);
  return slot ? &slot->tensor : nullptr;
}

void TensorTable::Release(double handle) {
  Slot* found = FindSlot(handle);
  if (!found) return;
  Slot& slot = *found;
  slot.live = false;
  if (slot.weak) napi_delete_reference(env_, slot.weak);
  slot.weak = nullptr;
  UncountGc(slot);
  Uncount(slot.storage);
  slot.storage = nullptr;
  slot.tensor = at::Tensor();  // frees the memory now, as Python's refcount would
  free_.push_back(static_cast<uint32_t>(found - slots_.data()));
}

// Only tensors the GC frees are reported to V8: a scope's tensors are freed deterministically,
// and reporting their churn (tens of MB per training step) set off a major GC every few steps
// whose concurrent marking took the cores from LibTorch (it nearly doubled an SGD step of a
// ResNet-18 on 2 cores). A storage is reported once, however many GC-owned views share it.
void TensorTable::CollectWhenUnreachable(double handle, napi_value object) {
  Slot* found = FindSlot(handle);
  if (!found) return;
  Slot& slot = *found;
  if (slot.weak) return;
  if (napi_create_reference(env_, object, 0, &slot.weak) != napi_ok) {
    slot.weak = nullptr;
    return;
  }
  gc_slots_.emplace_back(static_cast<uint32_t>(found - slots_.data()), slot.generation);
  CountGc(slot);
  // A sweep looks at every GC-owned slot: after as many new ones as half of them (amortised
  // constant time), and at least every 256.
  if (++gc_added_ >= std::max<size_t>(256, gc_slots_.size() / 2)) Sweep();
}

void TensorTable::CountGc(Slot& slot) {
  if (!slot.storage || !slot.tensor.device().is_cpu()) return;
  GcStorage& use = gc_storages_[slot.storage];
  if (use.handles++ == 0) {
    use.bytes = static_cast<int64_t>(slot.tensor.storage().nbytes());
    ReportExternal(use.bytes);
  }
  slot.gc_storage = true;
}

void TensorTable::UncountGc(Slot& slot) {
  if (!slot.gc_storage) return;
  auto it = gc_storages_.find(slot.storage);
  if (it != gc_storages_.end() && --it->second.handles == 0) {
    ReportExternal(-it->second.bytes);
    gc_storages_.erase(it);
  }
  slot.gc_storage = false;
}

// set_, set_data and resize_ change a live tensor's storage or its size: the counts follow, so
// liveTensors() stays true after module.to() (set_data) and nothing is left counted twice.
void TensorTable::Recount(double handle) {
  Slot* found = FindSlot(handle);
  if (!found) return;
  Slot& slot = *found;
  at::Tensor* t = &slot.tensor;
  const void* now = t->has_storage() ? t->storage().unsafeGetStorageImpl() : nullptr;
  if (now != slot.storage) {
    UncountGc(slot);
    Uncount(slot.storage);
    slot.storage = Count(*t);
    if (slot.weak) CountGc(slot);
    return;
  }
  if (!now) return;
  int64_t nbytes = static_cast<int64_t>(t->storage().nbytes());
  Resize(now, nbytes);
  if (!slot.gc_storage) return;
  GcStorage& use = gc_storages_[now];
  if (use.bytes == nbytes) return;
  ReportExternal(nbytes - use.bytes);
  use.bytes = nbytes;
}

size_t TensorTable::Sweep() {
  gc_added_ = 0;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env_, &scope) != napi_ok) return 0;
  size_t freed = 0, kept = 0;
  for (size_t i = 0; i < gc_slots_.size(); ++i) {
    auto [index, generation] = gc_slots_[i];
    Slot& slot = slots_[index];
    if (!slot.live || slot.generation != generation || !slot.weak) continue;  // disposed meanwhile
    napi_value value = nullptr;
    if (napi_get_reference_value(env_, slot.weak, &value) == napi_ok && value == nullptr) {
      Release(generation * kSlots + index);
      ++freed;
    } else {
      gc_slots_[kept++] = gc_slots_[i];
    }
  }
  gc_slots_.resize(kept);
  napi_close_handle_scope(env_, scope);
  return freed;
}

// Reported in steps of 1 MiB: V8 only needs the trend, and one report per small tensor would
// cost more than the tensor.
void TensorTable::ReportExternal(int64_t bytes) {
  reported_bytes_ += bytes;
  unreported_bytes_ += bytes;
  if (std::abs(unreported_bytes_) < (1 << 20)) return;
  int64_t total = 0;
  napi_adjust_external_memory(env_, unreported_bytes_, &total);
  unreported_bytes_ = 0;
}

TensorTable::~TensorTable() {
  for (Slot& slot : slots_) {
    if (slot.live) Uncount(slot.storage);
  }
}

// ---- lookups -------------------------------------------------------------------------------

Napi::Value WrapTensor(const Napi::Env& env, at::Tensor tensor) {
  return Napi::Number::New(env, GetEnvData(env)->tensors.Add(std::move(tensor)));
}

at::Tensor* FindTensor(const Napi::Env& env, const Napi::Value& value, const char* op, double* handle) {
  if (!value.IsObject()) return nullptr;
  napi_value key, field;
  napi_get_reference_value(env, GetEnvData(env)->handle_key, &key);
  if (napi_get_property(env, value, key, &field) != napi_ok) {
    throw Napi::Error::New(env, std::string(op) + ": could not read a Tensor's handle");
  }
  napi_valuetype type;
  napi_typeof(env, field, &type);
  if (type == napi_null)
    throw Napi::Error::New(env, std::string(op) + ": the tensor was disposed and can no longer be used");
  if (type != napi_number) return nullptr;
  double h;
  napi_get_value_double(env, field, &h);
  at::Tensor* tensor = GetEnvData(env)->tensors.Find(h);
  // A number that names no live slot: the tensor was disposed (or freed by the GC) meanwhile.
  if (!tensor) throw Napi::Error::New(env, std::string(op) + ": the tensor was disposed and can no longer be used");
  if (handle) *handle = h;
  return tensor;
}

bool IsTensorObject(const Napi::Value& value) {
  if (!value.IsObject()) return false;
  napi_value key;
  bool has = false;
  napi_get_reference_value(value.Env(), GetEnvData(value.Env())->handle_key, &key);
  napi_has_property(value.Env(), value, key, &has);
  return has;
}

at::Tensor& RequireTensor(const Napi::Env& env, const Napi::Value& value, const std::string& op,
                          const std::string& arg) {
  at::Tensor* t = FindTensor(env, value, op.c_str());
  if (!t) ThrowType(env, op + ": argument '" + arg + "' must be a Tensor");
  return *t;
}

LiveStats LiveTensorStats() {
  LiveStats out;
  std::lock_guard<std::mutex> lock(g_mutex);
  out.count = g_live_count;
  out.bytes = g_live_bytes;
  for (const auto& d : g_devices) out.devices.emplace_back(d.first.str(), d.second);
  return out;
}

void ResetPeakBytes() {
  std::lock_guard<std::mutex> lock(g_mutex);
  for (auto& d : g_devices) d.second.peak = d.second.bytes;
}

// ---- exported functions --------------------------------------------------------------------

namespace {

// setTensorHandleKey(symbol): once, at load, before any tensor is made.
Napi::Value SetTensorHandleKey(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsSymbol()) ThrowType(env, "setTensorHandleKey: expected a Symbol");
  EnvData* data = GetEnvData(env);
  if (data->handle_key) napi_delete_reference(env, data->handle_key);
  napi_create_reference(env, info[0], 1, &data->handle_key);
  return env.Undefined();
}

// disposeTensor(handle): frees the tensor now; idempotent, and a stale handle is ignored.
Napi::Value DisposeTensor(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info[0].IsNumber()) GetEnvData(env)->tensors.Release(info[0].As<Napi::Number>().DoubleValue());
  return env.Undefined();
}

// collectWhenUnreachable(tensor) -> the host bytes the GC now owns: the GC owns the tensor (see
// TensorTable::Sweep); lib/memory.ts decides from the bytes when to collect.
Napi::Value CollectWhenUnreachable(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double handle = 0;
  TensorTable& table = GetEnvData(env)->tensors;
  if (FindTensor(env, info[0], "collectWhenUnreachable", &handle)) table.CollectWhenUnreachable(handle, info[0]);
  return Napi::Number::New(env, double(table.ReportedBytes()));
}

// sweepCollected() -> how many GC-owned tensors whose JS objects were collected it freed.
Napi::Value SweepCollected(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), double(GetEnvData(info.Env())->tensors.Sweep()));
}

// disposeTensors(handles): many in one call (what a scope frees when it ends).
Napi::Value DisposeTensors(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArray()) ThrowType(env, "disposeTensors: expected an array of handles");
  Napi::Array handles = info[0].As<Napi::Array>();
  TensorTable& table = GetEnvData(env)->tensors;
  for (uint32_t i = 0, n = handles.Length(); i < n; ++i) {
    Napi::Value h = handles.Get(i);
    if (h.IsNumber()) table.Release(h.As<Napi::Number>().DoubleValue());
  }
  return env.Undefined();
}

// tensorMeta(tensor) -> [shape, strides, dtype, device, requiresGrad, isLeaf] in one call:
// metadata is read often and one crossing is cheaper than six.
Napi::Value TensorMeta(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, "meta", [&]() -> Napi::Value {
    const at::Tensor& t = RequireTensor(env, info[0], "meta");
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

}  // namespace

void InitTensors(Napi::Env env, Napi::Object exports) {
  exports.Set("setTensorHandleKey", Napi::Function::New(env, SetTensorHandleKey));
  exports.Set("disposeTensor", Napi::Function::New(env, DisposeTensor));
  exports.Set("disposeTensors", Napi::Function::New(env, DisposeTensors));
  exports.Set("collectWhenUnreachable", Napi::Function::New(env, CollectWhenUnreachable));
  exports.Set("sweepCollected", Napi::Function::New(env, SweepCollected));
  exports.Set("tensorMeta", Napi::Function::New(env, TensorMeta));
}

}  // namespace unmix
