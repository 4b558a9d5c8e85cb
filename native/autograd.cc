// Autograd: the graph lives in LibTorch; JS only starts backward passes and reads gradients.
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "common.h"

namespace unmix {
namespace {

std::vector<at::Tensor> TensorList(const Napi::Env& env, const Napi::Value& value, const std::string& what,
                                   bool allow_null) {
  if (!value.IsArray()) ThrowType(env, "argument '" + what + "' must be an array of Tensors");
  Napi::Array arr = value.As<Napi::Array>();
  std::vector<at::Tensor> out;
  out.reserve(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    Napi::Value v = arr.Get(i);
    if (allow_null && (v.IsNull() || v.IsUndefined())) {
      out.emplace_back();
      continue;
    }
    at::Tensor* t = FindTensor(env, v, what.c_str());
    if (!t) ThrowType(env, "argument '" + what + "' element " + std::to_string(i) + " must be a Tensor");
    out.push_back(*t);
  }
  return out;
}

// backward(tensors, gradTensors | null, retainGraph, createGraph)
Napi::Value Backward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto tensors = TensorList(env, info[0], "tensors", false);
  std::vector<at::Tensor> grads;
  if (info[1].IsArray()) grads = TensorList(env, info[1], "gradient", true);
  bool create_graph = info[3].IsBoolean() && info[3].As<Napi::Boolean>().Value();
  c10::optional<bool> retain_graph;
  if (info[2].IsBoolean()) retain_graph = info[2].As<Napi::Boolean>().Value();
  return Guard(env, "backward", [&]() -> Napi::Value {
    torch::autograd::backward(tensors, grads, retain_graph, create_graph);
    return env.Undefined();
  });
}

// grad(outputs, inputs, gradOutputs | null, retainGraph, createGraph, allowUnused) -> (Tensor|null)[]
Napi::Value Grad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto outputs = TensorList(env, info[0], "outputs", false);
  auto inputs = TensorList(env, info[1], "inputs", false);
  std::vector<at::Tensor> grad_outputs;
  if (info[2].IsArray()) grad_outputs = TensorList(env, info[2], "gradOutputs", true);
  c10::optional<bool> retain_graph;
  if (info[3].IsBoolean()) retain_graph = info[3].As<Napi::Boolean>().Value();
  bool create_graph = info[4].IsBoolean() && info[4].As<Napi::Boolean>().Value();
  bool allow_unused = info[5].IsBoolean() && info[5].As<Napi::Boolean>().Value();
  return Guard(env, "grad", [&]() -> Napi::Value {
    auto result = torch::autograd::grad(outputs, inputs, grad_outputs, retain_graph, create_graph, allow_unused);
    Napi::Array out = Napi::Array::New(env, result.size());
    for (size_t i = 0; i < result.size(); ++i) {
      out.Set(uint32_t(i), result[i].defined() ? WrapTensor(env, result[i]) : env.Null());
    }
    return out;
  });
}

Napi::Value GetGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, "grad", [&]() -> Napi::Value {
    const at::Tensor& g = RequireTensor(env, info[0], "grad").grad();
    return g.defined() ? WrapTensor(env, g) : env.Null();
  });
}

// setGrad(tensor, grad | null)
Napi::Value SetGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, "setGrad", [&]() -> Napi::Value {
    at::Tensor t = RequireTensor(env, info[0], "setGrad");
    if (info[1].IsNull() || info[1].IsUndefined()) {
      t.mutable_grad() = at::Tensor();
    } else {
      const at::Tensor& grad = RequireTensor(env, info[1], "setGrad", "grad");
      // PyTorch's checks (python_variable.cpp): SGD would otherwise broadcast a wrong-shaped grad.
      if (grad.is_same(t)) throw Napi::Error::New(env, "grad: a tensor cannot be assigned as its own grad");
      if (!grad.sizes().equals(t.sizes())) {
        throw Napi::Error::New(env, "grad: the assigned grad has shape [" + c10::Join(", ", grad.sizes()) +
                                        "], the tensor [" + c10::Join(", ", t.sizes()) + "]");
      }
      if (grad.scalar_type() != t.scalar_type()) {
        throw Napi::Error::New(env, "grad: the assigned grad is " + DtypeName(grad.scalar_type()) + ", the tensor " +
                                        DtypeName(t.scalar_type()));
      }
      if (grad.device() != t.device()) {
        throw Napi::Error::New(
            env, "grad: the assigned grad is on " + grad.device().str() + ", the tensor on " + t.device().str());
      }
      t.mutable_grad() = grad;
    }
    return env.Undefined();
  });
}

Napi::Value SetRequiresGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[1].IsBoolean()) ThrowType(env, "requiresGrad_: argument 'requiresGrad' must be a boolean");
  return Guard(env, "requiresGrad_", [&]() -> Napi::Value {
    at::Tensor t = RequireTensor(env, info[0], "requiresGrad_");
    t.requires_grad_(info[1].As<Napi::Boolean>().Value());
    return env.Undefined();
  });
}

// gradFnName(tensor) -> the grad_fn's class name as Python shows it ("MulBackward0"), or null.
Napi::Value GradFnName(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, "gradFn", [&]() -> Napi::Value {
    const at::Tensor& t = RequireTensor(env, info[0], "gradFn");
    const auto& fn = t.grad_fn();
    if (!fn) return env.Null();
    std::string name = fn->name();  // "torch::autograd::generated::MulBackward0"
    size_t colon = name.rfind("::");
    return Napi::String::New(env, colon == std::string::npos ? name : name.substr(colon + 2));
  });
}

Napi::Value IsGradEnabled(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), c10::GradMode::is_enabled());
}

Napi::Value SetGradEnabled(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsBoolean()) ThrowType(env, "setGradEnabled: argument 'enabled' must be a boolean");
  c10::GradMode::set_enabled(info[0].As<Napi::Boolean>().Value());
  return env.Undefined();
}

}  // namespace

void InitAutograd(Napi::Env env, Napi::Object exports) {
  exports.Set("backward", Napi::Function::New(env, Backward));
  exports.Set("autogradGrad", Napi::Function::New(env, Grad));
  exports.Set("getGrad", Napi::Function::New(env, GetGrad));
  exports.Set("setGrad", Napi::Function::New(env, SetGrad));
  exports.Set("setRequiresGrad", Napi::Function::New(env, SetRequiresGrad));
  exports.Set("gradFnName", Napi::Function::New(env, GradFnName));
  exports.Set("isGradEnabled", Napi::Function::New(env, IsGradEnabled));
  exports.Set("setGradEnabled", Napi::Function::New(env, SetGradEnabled));
}

}  // namespace unmix
