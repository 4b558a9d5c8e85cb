// Autocast (automatic mixed precision): the switches torch.autocast flips. LibTorch keeps them per
// thread, and its dispatcher then runs eligible ops (convolutions, matmuls) in the lower precision
// and keeps the precision-sensitive ones in float32, exactly as in PyTorch.
#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include "common.h"

namespace unmix {
namespace {

// LibTorch 2.4 generalised the API to a device type argument and deprecated the per-device names.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
bool IsEnabled(c10::DeviceType d) { return at::autocast::is_autocast_enabled(d); }
void SetEnabled(c10::DeviceType d, bool on) { at::autocast::set_autocast_enabled(d, on); }
c10::ScalarType GetDtype(c10::DeviceType d) { return at::autocast::get_autocast_dtype(d); }
void SetDtype(c10::DeviceType d, c10::ScalarType t) { at::autocast::set_autocast_dtype(d, t); }
#else
bool IsEnabled(c10::DeviceType d) {
  return d == c10::kCUDA ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
}
void SetEnabled(c10::DeviceType d, bool on) {
  if (d == c10::kCUDA) {
    at::autocast::set_enabled(on);
  } else {
    at::autocast::set_cpu_enabled(on);
  }
}
c10::ScalarType GetDtype(c10::DeviceType d) {
  return d == c10::kCUDA ? at::autocast::get_autocast_gpu_dtype() : at::autocast::get_autocast_cpu_dtype();
}
void SetDtype(c10::DeviceType d, c10::ScalarType t) {
  if (d == c10::kCUDA) {
    at::autocast::set_autocast_gpu_dtype(t);
  } else {
    at::autocast::set_autocast_cpu_dtype(t);
  }
}
#endif

c10::DeviceType AutocastDevice(const Napi::Env& env, const Napi::Value& v) {
  std::string s = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
  if (s == "cpu") return c10::kCPU;
  if (s == "cuda") return c10::kCUDA;
  ThrowType(env, "autocast: device type must be 'cpu' or 'cuda', got " +
                     (v.IsString() ? "'" + s + "'" : std::string("a non-string")));
}

// setAutocast(deviceType, enabled, dtype) -> the state before: {enabled, dtype}
Napi::Value SetAutocast(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  c10::DeviceType device = AutocastDevice(env, info[0]);
  if (!info[1].IsBoolean()) ThrowType(env, "autocast: 'enabled' must be a boolean");
  c10::ScalarType dtype = ParseDtype(env, info[2]);
  if (dtype != c10::kBFloat16 && dtype != c10::kHalf)
    ThrowType(env, "autocast: dtype must be 'bfloat16' or 'float16', got '" + DtypeName(dtype) + "'");
  return Guard(env, "autocast", [&]() -> Napi::Value {
    Napi::Object before = Napi::Object::New(env);
    before.Set("enabled", Napi::Boolean::New(env, IsEnabled(device)));
    before.Set("dtype", Napi::String::New(env, DtypeName(GetDtype(device))));
    SetEnabled(device, info[1].As<Napi::Boolean>().Value());
    SetDtype(device, dtype);
    return before;
  });
}

// autocastNesting(+1 | -1) -> the depth after. Leaving the outermost region drops the cache of
// casted weights, as torch.autocast's __exit__ does.
Napi::Value AutocastNesting(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bool enter = info[0].IsNumber() && info[0].As<Napi::Number>().Int32Value() > 0;
  int depth = enter ? at::autocast::increment_nesting() : at::autocast::decrement_nesting();
  if (!enter && depth == 0) at::autocast::clear_cache();
  return Napi::Number::New(env, depth);
}

}  // namespace

void InitAutocast(Napi::Env env, Napi::Object exports) {
  exports.Set("setAutocast", Napi::Function::New(env, SetAutocast));
  exports.Set("autocastNesting", Napi::Function::New(env, AutocastNesting));
}

}  // namespace unmix
