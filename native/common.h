// Shared helpers for the N-API layer: error translation and the tensor handle class.
#pragma once

#include <ATen/ATen.h>
#include <c10/util/flat_hash_map.h>
// c10::optional / c10::nullopt: a class of its own in LibTorch 1.x (reached through ATen.h), only a
// `using std::optional` alias since 2.2, and ATen's headers no longer include the file that declares
// it (they include <optional> since 2.5). Include it explicitly so the name resolves in both.
#include <c10/util/Optional.h>
#include <napi.h>

#include <string>
#include <vector>

namespace unmix {

// LibTorch warnings (TORCH_WARN) are queued by our warning handler and surface as Node
// process warnings ('LibTorchWarning') on the JS thread after the call that raised them.
bool HasPendingWarnings();
void EmitPendingWarnings(const Napi::Env& env);
void InstallWarningHandler();

// Runs `body`, turning every LibTorch / C++ exception into a JS Error whose message starts
// with the operation's name (c10::TypeError -> TypeError, c10::IndexError -> RangeError).
// Nothing thrown by LibTorch may reach N-API unhandled (it would abort the process).
template <typename F>
Napi::Value Guard(const Napi::Env& env, const std::string& op, F&& body) {
  try {
    Napi::Value result = body();
    if (HasPendingWarnings()) EmitPendingWarnings(env);
    return result;
  } catch (const Napi::Error&) {
    throw;
  } catch (const c10::TypeError& e) {
    throw Napi::TypeError::New(env, op + ": " + e.what_without_backtrace());
  } catch (const c10::IndexError& e) {
    throw Napi::RangeError::New(env, op + ": " + e.what_without_backtrace());
  } catch (const c10::Error& e) {
    throw Napi::Error::New(env, op + ": " + e.what_without_backtrace());
  } catch (const std::bad_alloc&) {
    throw Napi::Error::New(env, op + ": out of memory");
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, op + ": " + e.what());
  }
}

[[noreturn]] inline void ThrowType(const Napi::Env& env, const std::string& msg) {
  throw Napi::TypeError::New(env, msg);
}

// Tensors cross into JS as handles: plain numbers naming a slot of this environment's table. A
// wrapped JS object per tensor would cost a weak reference and a finalizer, most of a small op's
// time; a number costs nothing, and a stale or forged one fails the slot's generation check
// instead of reaching freed memory. JS passes tensors back as its Tensor objects, whose property
// under a symbol key (given at load) holds the number, null once disposed: so a tensor is never
// mistaken for an integer argument, and a symbol key is cheaper to look up than a string. Tensors
// no scope owns (lib/tensor/index.ts) get a weak reference to their JS object: V8 clears it when it
// collects the object, and Sweep() frees the tensors whose references are cleared, synchronously,
// from the next tensors handed to the GC. FinalizationRegistry callbacks (JS side) run only from
// the event loop, which a loop over promises that settle as microtasks never reaches.
class TensorTable {
 public:
  explicit TensorTable(napi_env env) : env_(env) {}
  ~TensorTable();  // at environment teardown: frees what is still live
  double Add(at::Tensor tensor);
  at::Tensor* Find(double handle);
  void Release(double handle);  // no-op for a handle that is not live
  // Hands the tensor to the GC: a weak reference to its JS object (`object`), checked by Sweep(),
  // and its host bytes counted in V8's external memory.
  void CollectWhenUnreachable(double handle, napi_value object);
  // Frees the GC-owned tensors whose JS objects were collected; returns how many.
  size_t Sweep();
  // After an op that may re-point or resize the tensor's storage (set_, set_data, resize_).
  void Recount(double handle);
  int64_t ReportedBytes() const { return reported_bytes_; }
  size_t GcOwned() const { return gc_slots_.size(); }

 private:
  struct Slot {
    at::Tensor tensor;
    const void* storage = nullptr;  // what the accounting counted (Recount follows a re-pointed tensor)
    napi_ref weak = nullptr;        // set while the GC owns it: a reference that V8 clears on collection
    bool gc_storage = false;        // counted in gc_storages_
    uint32_t generation = 0;
    bool live = false;
  };
  struct GcStorage {
    int64_t handles = 0;
    int64_t bytes = 0;
  };
  Slot* FindSlot(double handle);  // the live slot a handle names, or nullptr
  void ReportExternal(int64_t bytes);
  void CountGc(Slot& slot);  // counts its host storage among the GC-owned ones
  void UncountGc(Slot& slot);
  napi_env env_;
  std::vector<Slot> slots_;
  std::vector<uint32_t> free_;
  std::vector<std::pair<uint32_t, uint32_t>> gc_slots_;  // (index, generation) of GC-owned slots
  size_t gc_added_ = 0;                                  // handed to the GC since the last sweep
  // Host storages of GC-owned tensors, reported to V8 once however many views share them.
  ska::flat_hash_map<const void*, GcStorage> gc_storages_;
  int64_t reported_bytes_ = 0;    // host bytes of the GC-owned storages reported to V8
  int64_t unreported_bytes_ = 0;  // of which not passed on yet
};

// Per JS environment (the main thread and each worker thread load the addon).
struct EnvData {
  explicit EnvData(napi_env env) : tensors(env) {}
  TensorTable tensors;
  napi_ref handle_key = nullptr;  // the Symbol under which a JS Tensor keeps its handle
  Napi::FunctionReference generator_ctor;
};
inline EnvData* GetEnvData(const Napi::Env& env) { return env.GetInstanceData<EnvData>(); }

// A new handle owning `tensor`.
Napi::Value WrapTensor(const Napi::Env& env, at::Tensor tensor);
// The tensor of a JS Tensor object, or nullptr when `value` is not one. Throws "<op>: the tensor
// was disposed ..." for a disposed Tensor. `handle` receives its handle number.
at::Tensor* FindTensor(const Napi::Env& env, const Napi::Value& value, const char* op, double* handle = nullptr);
// Whether `value` is a JS Tensor object (disposed or not).
bool IsTensorObject(const Napi::Value& value);
// The same, or a TypeError "<op>: argument '<arg>' must be a Tensor".
at::Tensor& RequireTensor(const Napi::Env& env, const Napi::Value& value, const std::string& op,
                          const std::string& arg = "tensor");

struct DeviceBytes {
  int64_t bytes = 0;
  int64_t peak = 0;
};
struct LiveStats {
  int64_t count = 0;
  int64_t bytes = 0;
  std::vector<std::pair<std::string, DeviceBytes>> devices;
};
LiveStats LiveTensorStats();
void ResetPeakBytes();

// Conversions shared by several files.
c10::Device ParseDevice(const Napi::Env& env, const Napi::Value& value);
c10::ScalarType ParseDtype(const Napi::Env& env, const Napi::Value& value);
std::string DtypeName(c10::ScalarType type);
std::vector<int64_t> ToIntVector(const Napi::Env& env, const Napi::Value& value, const std::string& what);

bool UnwrapGenerator(const Napi::Value& value, at::Generator* out);

void InitTensors(Napi::Env env, Napi::Object exports);
void InitAutocast(Napi::Env env, Napi::Object exports);
void InitDistributed(Napi::Env env, Napi::Object exports);
void InitDispatch(Napi::Env env, Napi::Object exports);
void InitData(Napi::Env env, Napi::Object exports);
void InitAutograd(Napi::Env env, Napi::Object exports);
void InitRuntime(Napi::Env env, Napi::Object exports);
void InitIndexing(Napi::Env env, Napi::Object exports);

}  // namespace unmix
