// Process-wide state: LibTorch version, threads, random generators, CUDA, memory accounting.
#include <ATen/Parallel.h>
#include <ATen/Version.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <dlfcn.h>
#include <link.h>
#include <torch/version.h>

#include <cstring>
#include <mutex>
#include <thread>

#include "common.h"

namespace unmix {
namespace {

bool CudaAvailable() { return at::detail::getCUDAHooks().hasCUDA(); }

int CudaDeviceCount() { return CudaAvailable() ? at::detail::getCUDAHooks().getNumGPUs() : 0; }

c10::Device DeviceArg(const Napi::Env& env, const Napi::Value& v) {
  if (v.IsUndefined() || v.IsNull()) return c10::Device(c10::kCPU);
  return ParseDevice(env, v);
}

// One integer seed (a number, a bigint or a one-element array of either).
uint64_t SeedArg(const Napi::Env& env, const Napi::Value& v, const std::string& op) {
  std::vector<int64_t> seed = ToIntVector(env, v, "seed");
  if (seed.size() != 1)
    ThrowType(env, op + ": argument 'seed' must be one integer, got " +
                       (seed.empty() ? std::string("an empty array") : std::to_string(seed.size()) + " integers"));
  return static_cast<uint64_t>(seed[0]);
}

// ---- generators ----------------------------------------------------------------------------

class GeneratorHandle : public Napi::ObjectWrap<GeneratorHandle> {
 public:
  static Napi::Function Init(Napi::Env env) {
    Napi::Function ctor = DefineClass(env, "Generator",
                                      {
                                          InstanceMethod("manualSeed", &GeneratorHandle::ManualSeed),
                                          InstanceMethod("initialSeed", &GeneratorHandle::InitialSeed),
                                          InstanceMethod("getState", &GeneratorHandle::GetState),
                                          InstanceMethod("setState", &GeneratorHandle::SetState),
                                          InstanceMethod("device", &GeneratorHandle::DeviceName),
                                      });
    GetEnvData(env)->generator_ctor = Napi::Persistent(ctor);
    return ctor;
  }

  // new Generator(device?) -> an independent generator for that device, seeded with 67280421310721
  // (PyTorch's default seed) until manualSeed is called.
  explicit GeneratorHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<GeneratorHandle>(info) {
    Napi::Env env = info.Env();
    Guard(env, "Generator", [&]() -> Napi::Value {
      c10::Device device = DeviceArg(env, info[0]);
      at::Generator base = at::globalContext().defaultGenerator(device);
      std::lock_guard<std::mutex> lock(base.mutex());
      generator_ = base.clone();
      generator_.set_current_seed(67280421310721ULL);
      return env.Undefined();
    });
  }

  at::Generator generator_;

 private:
  Napi::Value ManualSeed(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint64_t seed = SeedArg(env, info[0], "Generator.manualSeed");
    std::lock_guard<std::mutex> lock(generator_.mutex());
    generator_.set_current_seed(seed);
    return info.This();
  }
  Napi::Value InitialSeed(const Napi::CallbackInfo& info) {
    return Napi::BigInt::New(info.Env(), static_cast<uint64_t>(generator_.current_seed()));
  }
  Napi::Value GetState(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return Guard(env, "Generator.getState", [&]() -> Napi::Value {
      std::lock_guard<std::mutex> lock(generator_.mutex());
      return WrapTensor(env, generator_.get_state());
    });
  }
  Napi::Value SetState(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return Guard(env, "Generator.setState", [&]() -> Napi::Value {
      const at::Tensor& state = RequireTensor(env, info[0], "Generator.setState", "state");
      std::lock_guard<std::mutex> lock(generator_.mutex());
      generator_.set_state(state);
      return env.Undefined();
    });
  }
  Napi::Value DeviceName(const Napi::CallbackInfo& info) {
    return Napi::String::New(info.Env(), generator_.device().str());
  }
};

// ---- CUDA ----------------------------------------------------------------------------------

// cudaMemGetInfo from the CUDA runtime that LibTorch itself loaded (no CUDA headers needed, so
// the same source builds against CPU-only LibTorch).
using MemGetInfoFn = int (*)(size_t*, size_t*);
using SetDeviceFn = int (*)(int);
using GetDeviceFn = int (*)(int*);

void* FindLoadedLibrary(const char* fragment) {
  struct Search {
    const char* fragment;
    std::string path;
  } search{fragment, ""};
  dl_iterate_phdr(
      [](struct dl_phdr_info* info, size_t, void* data) {
        auto* s = static_cast<Search*>(data);
        if (info->dlpi_name && std::strstr(info->dlpi_name, s->fragment)) {
          s->path = info->dlpi_name;
          return 1;
        }
        return 0;
      },
      &search);
  if (search.path.empty()) return nullptr;
  return dlopen(search.path.c_str(), RTLD_LAZY | RTLD_NOLOAD);
}

// NCCL's version from the libnccl LibTorch loaded ("2.30.7"), or null when it loaded none.
Napi::Value NcclVersion(const Napi::Env& env) {
  void* nccl = FindLoadedLibrary("libnccl");
  if (!nccl) return env.Null();
  using GetVersionFn = int (*)(int*);
  auto get = reinterpret_cast<GetVersionFn>(dlsym(nccl, "ncclGetVersion"));
  int code = 0;
  if (!get || get(&code) != 0 || code <= 0) return env.Null();
  // NCCL_VERSION_CODE: major*10000 + minor*100 + patch since 2.9, major*1000 + minor*100 + patch before.
  int major = code >= 10000 ? code / 10000 : code / 1000;
  int minor = code >= 10000 ? (code % 10000) / 100 : (code % 1000) / 100;
  int patch = code % 100;
  return Napi::String::New(env, std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch));
}

// ---- exported functions --------------------------------------------------------------------

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, "info", [&]() -> Napi::Value {
    Napi::Object out = Napi::Object::New(env);
    out.Set("libtorch", Napi::String::New(env, TORCH_VERSION));
    bool cuda = CudaAvailable();
    out.Set("cuda", Napi::Boolean::New(env, cuda));
    long cudart = cuda ? at::detail::getCUDAHooks().versionCUDART() : 0;
    if (cudart > 0) {
      out.Set("cudaVersion",
              Napi::String::New(env, std::to_string(cudart / 1000) + "." + std::to_string((cudart % 1000) / 10)));
    } else {
      out.Set("cudaVersion", env.Null());
    }
    out.Set("devices", Napi::Number::New(env, CudaDeviceCount()));
    out.Set("threads", Napi::Number::New(env, at::get_num_threads()));
    out.Set("parallel", Napi::String::New(env, at::get_parallel_info()));
    return out;
  });
}

// How LibTorch was built, true with or without a GPU (unlike info().cuda): at::show_config()
// (USE_CUDA, CUDA_VERSION, CUDNN_VERSION, USE_NCCL, ...; lib/runtime.ts reads the fields it
// needs), whether libtorch_cuda is loaded, NCCL's version and the C++ ABI this addon uses.
Napi::Value BuildInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, "buildInfo", [&]() -> Napi::Value {
    Napi::Object out = Napi::Object::New(env);
    out.Set("config", Napi::String::New(env, at::show_config()));
    out.Set("cudaBuild", Napi::Boolean::New(env, FindLoadedLibrary("libtorch_cuda") != nullptr));
    out.Set("nccl", NcclVersion(env));
    out.Set("cxx11Abi", Napi::Boolean::New(env, _GLIBCXX_USE_CXX11_ABI != 0));
    return out;
  });
}

// Far more threads than cores only slows LibTorch down, and thousands of them do not come back
// in any useful time (OpenMP starts them all): the count is bounded.
int64_t MaxThreads() { return std::max<int64_t>(256, 4 * static_cast<int64_t>(std::thread::hardware_concurrency())); }

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber())
    ThrowType(env, "setNumThreads: argument 'threads' must be an integer, got " +
                       std::string(info[0].IsArray() ? "an array" : "another kind of value"));
  std::vector<int64_t> n = ToIntVector(env, info[0], "threads");
  if (n[0] < 1 || n[0] > MaxThreads()) {
    throw Napi::RangeError::New(env, "setNumThreads: threads must be between 1 and " + std::to_string(MaxThreads()) +
                                         ", got " + std::to_string(n[0]));
  }
  return Guard(env, "setNumThreads", [&]() -> Napi::Value {
    at::set_num_threads(static_cast<int>(n[0]));
    return env.Undefined();
  });
}

Napi::Value GetNumThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), at::get_num_threads());
}

// manualSeed(seed): seeds the CPU generator and every CUDA device's, like torch.manual_seed.
Napi::Value ManualSeed(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint64_t s = SeedArg(env, info[0], "manualSeed");
  return Guard(env, "manualSeed", [&]() -> Napi::Value {
    {
      at::Generator gen = at::globalContext().defaultGenerator(c10::Device(c10::kCPU));
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_current_seed(s);
    }
    for (int i = 0; i < CudaDeviceCount(); ++i) {
      at::Generator gen =
          at::globalContext().defaultGenerator(c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(i)));
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_current_seed(s);
    }
    return env.Undefined();
  });
}

// getRngState(device?) / setRngState(state, device?): the default generator's state, for checkpoints.
Napi::Value GetRngState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, "getRngState", [&]() -> Napi::Value {
    at::Generator gen = at::globalContext().defaultGenerator(DeviceArg(env, info[0]));
    std::lock_guard<std::mutex> lock(gen.mutex());
    return WrapTensor(env, gen.get_state());
  });
}

Napi::Value SetRngState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, "setRngState", [&]() -> Napi::Value {
    const at::Tensor& state = RequireTensor(env, info[0], "setRngState", "state");
    at::Generator gen = at::globalContext().defaultGenerator(DeviceArg(env, info[1]));
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(state);
    return env.Undefined();
  });
}

Napi::Value CudaSynchronize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, "cuda.synchronize", [&]() -> Napi::Value {
    if (!CudaAvailable())
      throw Napi::Error::New(env, "cuda.synchronize: CUDA is not available in this LibTorch build or machine");
    int64_t index = info[0].IsNumber() ? info[0].As<Napi::Number>().Int64Value() : -1;
    if (index < 0) {
      for (int i = 0; i < CudaDeviceCount(); ++i) at::detail::getCUDAHooks().deviceSynchronize(i);
    } else {
      at::detail::getCUDAHooks().deviceSynchronize(static_cast<c10::DeviceIndex>(index));
    }
    return env.Undefined();
  });
}

// Free and total bytes of one CUDA device, as the driver reports them.
Napi::Value CudaMemInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, "cuda.memInfo", [&]() -> Napi::Value {
    if (!CudaAvailable())
      throw Napi::Error::New(env, "cuda.memInfo: CUDA is not available in this LibTorch build or machine");
    void* lib = FindLoadedLibrary("libcudart");
    auto mem_get_info = lib ? reinterpret_cast<MemGetInfoFn>(dlsym(lib, "cudaMemGetInfo")) : nullptr;
    auto set_device = lib ? reinterpret_cast<SetDeviceFn>(dlsym(lib, "cudaSetDevice")) : nullptr;
    auto get_device = lib ? reinterpret_cast<GetDeviceFn>(dlsym(lib, "cudaGetDevice")) : nullptr;
    if (!mem_get_info || !set_device || !get_device)
      throw Napi::Error::New(env, "cuda.memInfo: the CUDA runtime library is not loaded");
    int index = info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 0;
    int previous = 0;
    get_device(&previous);
    set_device(index);
    size_t free_bytes = 0, total_bytes = 0;
    int rc = mem_get_info(&free_bytes, &total_bytes);
    set_device(previous);
    if (rc != 0) throw Napi::Error::New(env, "cuda.memInfo: cudaMemGetInfo failed with code " + std::to_string(rc));
    Napi::Object out = Napi::Object::New(env);
    out.Set("free", Napi::Number::New(env, double(free_bytes)));
    out.Set("total", Napi::Number::New(env, double(total_bytes)));
    return out;
  });
}

Napi::Value LiveTensors(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  LiveStats stats = LiveTensorStats();
  out.Set("count", Napi::Number::New(env, double(stats.count)));
  out.Set("bytes", Napi::Number::New(env, double(stats.bytes)));
  Napi::Object by_device = Napi::Object::New(env);
  for (const auto& kv : stats.devices) {
    Napi::Object d = Napi::Object::New(env);
    d.Set("bytes", Napi::Number::New(env, double(kv.second.bytes)));
    d.Set("peakBytes", Napi::Number::New(env, double(kv.second.peak)));
    by_device.Set(kv.first, d);
  }
  out.Set("devices", by_device);
  out.Set("gcBytes", Napi::Number::New(env, double(GetEnvData(env)->tensors.ReportedBytes())));
  out.Set("gcTensors", Napi::Number::New(env, double(GetEnvData(env)->tensors.GcOwned())));
  return out;
}

Napi::Value ResetPeak(const Napi::CallbackInfo& info) {
  ResetPeakBytes();
  return info.Env().Undefined();
}

}  // namespace

bool UnwrapGenerator(const Napi::Value& value, at::Generator* out) {
  if (!value.IsObject() || !value.As<Napi::Object>().InstanceOf(GetEnvData(value.Env())->generator_ctor.Value()))
    return false;
  *out = Napi::ObjectWrap<GeneratorHandle>::Unwrap(value.As<Napi::Object>())->generator_;
  return true;
}

void InitRuntime(Napi::Env env, Napi::Object exports) {
  exports.Set("Generator", GeneratorHandle::Init(env));
  exports.Set("info", Napi::Function::New(env, Info));
  exports.Set("buildInfo", Napi::Function::New(env, BuildInfo));
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreads));
  exports.Set("getNumThreads", Napi::Function::New(env, GetNumThreads));
  exports.Set("manualSeed", Napi::Function::New(env, ManualSeed));
  exports.Set("getRngState", Napi::Function::New(env, GetRngState));
  exports.Set("setRngState", Napi::Function::New(env, SetRngState));
  exports.Set("cudaSynchronize", Napi::Function::New(env, CudaSynchronize));
  exports.Set("cudaMemInfo", Napi::Function::New(env, CudaMemInfo));
  exports.Set("liveTensors", Napi::Function::New(env, LiveTensors));
  exports.Set("resetPeakMemory", Napi::Function::New(env, ResetPeak));
}

}  // namespace unmix
