// Moving data between JS and tensors: typed arrays in, typed arrays and scalars out (sync and
// async), plus the dtype and device parsing every other file uses.
#include <ATen/ThreadLocalState.h>
#include <ATen/detail/CUDAHooksInterface.h>

#include <cmath>
#include <cstring>

#include "common.h"

namespace unmix {

namespace {

struct DtypeEntry {
  const char* name;
  c10::ScalarType type;
};

const DtypeEntry kDtypes[] = {
    {"float32", c10::kFloat},
    {"float64", c10::kDouble},
    {"float16", c10::kHalf},
    {"bfloat16", c10::kBFloat16},
    {"int8", c10::kChar},
    {"int16", c10::kShort},
    {"int32", c10::kInt},
    {"int64", c10::kLong},
    {"uint8", c10::kByte},
    {"bool", c10::kBool},
    {"float", c10::kFloat},
    {"double", c10::kDouble},
    {"half", c10::kHalf},
    {"long", c10::kLong},
    {"int", c10::kInt},
    {"complex64", c10::kComplexFloat},
    {"complex128", c10::kComplexDouble},
};

}  // namespace

c10::ScalarType ParseDtype(const Napi::Env& env, const Napi::Value& value) {
  if (!value.IsString())
    ThrowType(env, "dtype must be a string such as 'float32', got " +
                       std::string(value.IsUndefined() ? "undefined" : "a non-string"));
  std::string name = value.As<Napi::String>().Utf8Value();
  for (const auto& entry : kDtypes) {
    if (name == entry.name) return entry.type;
  }
  ThrowType(env, "unknown dtype '" + name +
                     "' (expected float32, float64, float16, bfloat16, int8, int16, int32, int64, uint8 or bool)");
}

std::string DtypeName(c10::ScalarType type) {
  for (const auto& entry : kDtypes) {
    if (entry.type == type) return entry.name;
  }
  return c10::toString(type);
}

c10::Device ParseDevice(const Napi::Env& env, const Napi::Value& value) {
  if (!value.IsString()) ThrowType(env, "device must be a string such as 'cpu', 'cuda' or 'cuda:1'");
  std::string name = value.As<Napi::String>().Utf8Value();
  c10::optional<c10::Device> device;
  try {
    device = c10::Device(name);
  } catch (const c10::Error&) {
    throw Napi::Error::New(env, "unknown device '" + name + "' (expected 'cpu', 'cuda' or 'cuda:N')");
  }
  if (device->is_cuda()) {
    const auto& hooks = at::detail::getCUDAHooks();
    if (!hooks.hasCUDA()) {
      throw Napi::Error::New(env, "device '" + name + "': CUDA is not available (the loaded LibTorch " +
                                      "has no CUDA support or no GPU is visible; run `npx unmix info`)");
    }
    if (device->has_index() && device->index() >= hooks.getNumGPUs()) {
      throw Napi::Error::New(
          env, "device '" + name + "': only " + std::to_string(hooks.getNumGPUs()) + " CUDA device(s) are visible");
    }
  } else if (!device->is_cpu()) {
    throw Napi::Error::New(env, "device '" + name + "' is not supported (expected 'cpu', 'cuda' or 'cuda:N')");
  }
  return *device;
}

std::vector<int64_t> ToIntVector(const Napi::Env& env, const Napi::Value& value, const std::string& what) {
  std::vector<int64_t> out;
  auto one = [&](const Napi::Value& v) {
    if (v.IsBigInt()) {
      bool lossless = true;
      out.push_back(v.As<Napi::BigInt>().Int64Value(&lossless));
      return;
    }
    if (!v.IsNumber()) ThrowType(env, "argument '" + what + "' must be an integer or an array of integers");
    double d = v.As<Napi::Number>().DoubleValue();
    if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0) || d != std::trunc(d)) {
      ThrowType(env, "argument '" + what + "' must hold integers in the int64 range");
    }
    out.push_back(static_cast<int64_t>(d));
  };
  if (value.IsArray()) {
    Napi::Array arr = value.As<Napi::Array>();
    for (uint32_t i = 0; i < arr.Length(); ++i) one(arr.Get(i));
  } else {
    one(value);
  }
  return out;
}

namespace {

// fromBuffer(typedArray, sourceDtype, shape, dtype, device) -> handle
Napi::Value FromBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray()) ThrowType(env, "fromBuffer: argument 'data' must be a typed array");
  Napi::TypedArray array = info[0].As<Napi::TypedArray>();
  c10::ScalarType source = ParseDtype(env, info[1]);
  std::vector<int64_t> shape = ToIntVector(env, info[2], "shape");
  c10::ScalarType dtype = ParseDtype(env, info[3]);
  c10::Device device = ParseDevice(env, info[4]);
  return Guard(env, "fromBuffer", [&]() -> Napi::Value {
    at::Tensor host = at::empty(shape, at::TensorOptions().dtype(source));
    size_t bytes = host.nbytes();
    if (bytes != array.ByteLength()) {
      throw Napi::Error::New(env, "fromBuffer: shape [" + c10::Join(", ", shape) + "] needs " +
                                      std::to_string(host.numel()) + " elements but the data has " +
                                      std::to_string(array.ByteLength() / host.element_size()));
    }
    // The view's own data pointer: it also covers a SharedArrayBuffer, whose ArrayBuffer() wrapper fails.
    void* data = nullptr;
    napi_typedarray_type type;
    size_t length = 0, offset = 0;
    napi_value buffer;
    if (napi_get_typedarray_info(env, array, &type, &length, &data, &buffer, &offset) != napi_ok) {
      throw Napi::Error::New(env, "fromBuffer: cannot read the typed array's memory");
    }
    const uint8_t* src = static_cast<const uint8_t*>(data);
    if (bytes) std::memcpy(host.data_ptr(), src, bytes);
    return WrapTensor(env, host.to(device, dtype));
  });
}

// Host copy in a layout JS can view: contiguous, half types widened to float32.
at::Tensor HostCopy(const at::Tensor& t) {
  at::Tensor host = t.detach().to(c10::kCPU).contiguous();
  if (host.scalar_type() == c10::kHalf || host.scalar_type() == c10::kBFloat16) host = host.to(c10::kFloat);
  return host;
}

Napi::ArrayBuffer ToArrayBuffer(const Napi::Env& env, const at::Tensor& host) {
  Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(env, host.nbytes());
  if (host.nbytes()) std::memcpy(buffer.Data(), host.data_ptr(), host.nbytes());
  return buffer;
}

// toBuffer(tensor, raw?): with raw, the exact bytes of the dtype (float16 stays 2 bytes), for files.
Napi::Value ToBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bool raw = info[1].IsBoolean() && info[1].As<Napi::Boolean>().Value();
  return Guard(env, "data", [&]() -> Napi::Value {
    const at::Tensor& t = RequireTensor(env, info[0], "data");
    return ToArrayBuffer(env, raw ? t.detach().to(c10::kCPU).contiguous() : HostCopy(t));
  });
}

// The device-to-host copy (and the GPU sync it implies) runs on a worker thread, so the event
// loop stays free; thread-local state (grad mode, device) travels with the work.
class ReadbackWorker : public Napi::AsyncWorker {
 public:
  ReadbackWorker(Napi::Env env, at::Tensor tensor)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), tensor_(std::move(tensor)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    try {
      at::ThreadLocalStateGuard guard(state_);
      host_ = HostCopy(tensor_);
    } catch (const c10::Error& e) {
      SetError(std::string("dataAsync: ") + e.what_without_backtrace());
    } catch (const std::exception& e) {
      SetError(std::string("dataAsync: ") + e.what());
    }
  }
  void OnOK() override {
    deferred_.Resolve(ToArrayBuffer(Env(), host_));
    tensor_ = at::Tensor();
    host_ = at::Tensor();
  }
  void OnError(const Napi::Error& e) override {
    deferred_.Reject(e.Value());
    tensor_ = at::Tensor();
  }

 private:
  Napi::Promise::Deferred deferred_;
  at::Tensor tensor_;
  at::Tensor host_;
  at::ThreadLocalState state_;
};

Napi::Value ToBufferAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* worker = new ReadbackWorker(env, RequireTensor(env, info[0], "dataAsync"));
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

Napi::Value Item(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, "item", [&]() -> Napi::Value {
    c10::Scalar s = RequireTensor(env, info[0], "item").item();
    if (s.isBoolean()) return Napi::Boolean::New(env, s.toBool());
    if (s.isIntegral(false)) {
      // An int64 past 2^53 that no double holds exactly comes back as a BigInt (item() refuses
      // it, itemBigInt() returns it), so the value is never rounded silently.
      int64_t v = s.toLong();
      double d = static_cast<double>(v);
      if (d >= 9223372036854775808.0 || static_cast<int64_t>(d) != v) return Napi::BigInt::New(env, v);
      return Napi::Number::New(env, d);
    }
    return Napi::Number::New(env, s.toDouble());
  });
}

// isContiguous(tensor, memoryFormat?)
Napi::Value IsContiguous(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string format = info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "contiguous_format";
  return Guard(env, "isContiguous", [&]() -> Napi::Value {
    const at::Tensor& t = RequireTensor(env, info[0], "isContiguous");
    c10::MemoryFormat mf = c10::MemoryFormat::Contiguous;
    if (format == "channels_last")
      mf = c10::MemoryFormat::ChannelsLast;
    else if (format == "channels_last_3d")
      mf = c10::MemoryFormat::ChannelsLast3d;
    else if (format != "contiguous_format")
      ThrowType(env, "isContiguous: unknown memory format '" + format + "'");
    return Napi::Boolean::New(env, t.is_contiguous(mf));
  });
}

}  // namespace

void InitData(Napi::Env env, Napi::Object exports) {
  exports.Set("fromBuffer", Napi::Function::New(env, FromBuffer));
  exports.Set("toBuffer", Napi::Function::New(env, ToBuffer));
  exports.Set("toBufferAsync", Napi::Function::New(env, ToBufferAsync));
  exports.Set("item", Napi::Function::New(env, Item));
  exports.Set("isContiguous", Napi::Function::New(env, IsContiguous));
}

}  // namespace unmix
