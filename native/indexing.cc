// Python-style indexing in one native call: t[0, 1:3, None, ..., idx] becomes ATen's TensorIndex
// list, so basic and advanced indexing (and index assignment) follow PyTorch's rules exactly.
#include <ATen/TensorIndexing.h>

#include "common.h"

namespace unmix {
namespace {

c10::optional<int64_t> OptionalInt(const Napi::Env& env, const Napi::Object& slice, const char* key) {
  Napi::Value v = slice.Get(key);
  if (v.IsUndefined() || v.IsNull()) return c10::nullopt;
  if (!v.IsNumber()) ThrowType(env, std::string("index: slice '") + key + "' must be an integer");
  double d = v.As<Napi::Number>().DoubleValue();
  if (d != static_cast<double>(static_cast<int64_t>(d))) ThrowType(env, std::string("index: slice '") + key + "' must be an integer");
  return static_cast<int64_t>(d);
}

// number: select; null: new axis; '...': ellipsis; boolean; {start, end, step}: slice; Tensor.
std::vector<at::indexing::TensorIndex> ToIndices(const Napi::Env& env, const Napi::Value& value) {
  if (!value.IsArray()) ThrowType(env, "index: indices must be an array");
  Napi::Array arr = value.As<Napi::Array>();
  std::vector<at::indexing::TensorIndex> out;
  out.reserve(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    Napi::Value v = arr.Get(i);
    if (v.IsNumber()) {
      double d = v.As<Napi::Number>().DoubleValue();
      if (d != static_cast<double>(static_cast<int64_t>(d))) ThrowType(env, "index: index " + std::to_string(i) + " must be an integer");
      out.emplace_back(static_cast<int64_t>(d));
    } else if (v.IsNull()) {
      out.emplace_back(at::indexing::None);
    } else if (v.IsBoolean()) {
      out.emplace_back(v.As<Napi::Boolean>().Value());
    } else if (v.IsString() && v.As<Napi::String>().Utf8Value() == "...") {
      out.emplace_back(at::indexing::Ellipsis);
    } else if (TensorHandle* h = TensorHandle::Unwrap(v)) {
      out.emplace_back(h->Get(env, "index"));
    } else if (v.IsObject() && !v.IsArray()) {
      Napi::Object slice = v.As<Napi::Object>();
      c10::optional<int64_t> step = OptionalInt(env, slice, "step");
      if (step && *step <= 0) throw Napi::RangeError::New(env, "index: slice step must be positive");
      out.emplace_back(at::indexing::Slice(OptionalInt(env, slice, "start"), OptionalInt(env, slice, "end"), step));
    } else {
      ThrowType(env, "index: index " + std::to_string(i) + " must be an integer, null, '...', a boolean, a slice {start, end, step} or a Tensor");
    }
  }
  return out;
}

// index(tensor, indices) -> tensor[indices]
Napi::Value Index(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  TensorHandle* self = RequireTensor(env, info[0], "index");
  return Guard(env, "index", [&]() -> Napi::Value {
    auto indices = ToIndices(env, info[1]);
    const at::Tensor& t = self->Get(env, "index");
    if (indices.empty()) return TensorHandle::Wrap(env, t.alias());
    return TensorHandle::Wrap(env, t.index(indices));
  });
}

// indexPut(tensor, indices, value): tensor[indices] = value (a Tensor or a number), in place.
Napi::Value IndexPut(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  TensorHandle* self = RequireTensor(env, info[0], "indexPut_");
  return Guard(env, "indexPut_", [&]() -> Napi::Value {
    auto indices = ToIndices(env, info[1]);
    at::Tensor t = self->Get(env, "indexPut_");
    if (TensorHandle* v = TensorHandle::Unwrap(info[2])) {
      t.index_put_(indices, v->Get(env, "indexPut_"));
    } else if (info[2].IsNumber()) {
      t.index_put_(indices, c10::Scalar(info[2].As<Napi::Number>().DoubleValue()));
    } else if (info[2].IsBoolean()) {
      t.index_put_(indices, c10::Scalar(info[2].As<Napi::Boolean>().Value()));
    } else {
      ThrowType(env, "indexPut_: argument 'value' must be a Tensor, a number or a boolean");
    }
    return env.Undefined();
  });
}

}  // namespace

void InitIndexing(Napi::Env env, Napi::Object exports) {
  exports.Set("index", Napi::Function::New(env, Index));
  exports.Set("indexPut", Napi::Function::New(env, IndexPut));
}

}  // namespace unmix
