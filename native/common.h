// Shared helpers for the N-API layer: error translation and the tensor handle class.
#pragma once

#include <ATen/ATen.h>
// c10::optional / c10::nullopt: a class of its own in LibTorch 1.x (reached through ATen.h), only a
// `using std::optional` alias since 2.2, and ATen's headers no longer include the file that declares
// it (they include <optional> since 2.5). Include it explicitly so the name resolves in both.
#include <c10/util/Optional.h>
#include <napi.h>

#include <string>

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

// Constructors live per JS environment (main thread and each worker thread load the addon).
struct EnvData {
  Napi::FunctionReference tensor_ctor;
  Napi::FunctionReference generator_ctor;
};
inline EnvData* GetEnvData(const Napi::Env& env) { return env.GetInstanceData<EnvData>(); }

// A JS object owning one at::Tensor. Freed by dispose() or by the GC finalizer, whichever
// comes first; live counts and bytes are tracked so leaks are visible from JS.
class TensorHandle : public Napi::ObjectWrap<TensorHandle> {
 public:
  static Napi::Function Init(Napi::Env env);
  static Napi::Object Wrap(Napi::Env env, at::Tensor tensor);
  // The tensor behind a JS value, or nullptr when the value is not a handle.
  static TensorHandle* Unwrap(const Napi::Value& value);
  static bool IsHandle(const Napi::Value& value);

  explicit TensorHandle(const Napi::CallbackInfo& info);
  ~TensorHandle() override;

  // The tensor; throws a JS Error naming `op` when it was disposed.
  const at::Tensor& Get(const Napi::Env& env, const char* op) const;
  bool disposed() const { return released_; }

  struct DeviceBytes {
    int64_t bytes = 0;
    int64_t peak = 0;
  };
  static int64_t LiveCount();
  static int64_t LiveBytes();
  static std::vector<std::pair<std::string, DeviceBytes>> BytesByDevice();
  static void ResetPeaks();

 private:
  void Set(Napi::Env env, at::Tensor tensor);
  void Release();

  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value IsDisposed(const Napi::CallbackInfo& info);
  Napi::Value Meta(const Napi::CallbackInfo& info);

  at::Tensor tensor_;
  bool was_set_ = false;
  bool released_ = false;
  const void* storage_key_ = nullptr;
  int64_t external_bytes_ = 0;
  napi_env env_ = nullptr;
};

// Conversions shared by several files.
c10::Device ParseDevice(const Napi::Env& env, const Napi::Value& value);
c10::ScalarType ParseDtype(const Napi::Env& env, const Napi::Value& value);
std::string DtypeName(c10::ScalarType type);
std::vector<int64_t> ToIntVector(const Napi::Env& env, const Napi::Value& value, const std::string& what);

// The tensor handle in `value`, or a TypeError "<op>: argument '<arg>' must be a Tensor".
inline TensorHandle* RequireTensor(const Napi::Env& env, const Napi::Value& value, const std::string& op,
                                   const std::string& arg = "tensor") {
  TensorHandle* h = TensorHandle::Unwrap(value);
  if (!h) ThrowType(env, op + ": argument '" + arg + "' must be a Tensor");
  return h;
}

bool UnwrapGenerator(const Napi::Value& value, at::Generator* out);

void InitDispatch(Napi::Env env, Napi::Object exports);
void InitData(Napi::Env env, Napi::Object exports);
void InitAutograd(Napi::Env env, Napi::Object exports);
void InitRuntime(Napi::Env env, Napi::Object exports);
void InitIndexing(Napi::Env env, Napi::Object exports);

}  // namespace unmix
