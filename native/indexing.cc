// Python-style indexing in one native call: t[0, 1:3, None, ..., idx] becomes ATen's TensorIndex
// list, so basic and advanced indexing (and index assignment) follow PyTorch's rules exactly.
#include <ATen/TensorIndexing.h>

#include "common.h"

namespace unmix {
namespace {

// Element k of a [start, end, step] slice.
c10::optional<int64_t> OptionalInt(const Napi::Env& env, const Napi::Array& slice, uint32_t k) {
  static const char* const kNames[] = {"start", "end", "step"};
  const char* key = kNames[k];
  Napi::Value v = slice.Get(k);
  if (v.IsUndefined() || v.IsNull()) return c10::nullopt;
  if (!v.IsNumber()) ThrowType(env, std::string("index: slice '") + key + "' must be an integer");
  double d = v.As<Napi::Number>().DoubleValue();
  if (d != static_cast<double>(static_cast<int64_t>(d)))
    ThrowType(env, std::string("index: slice '") + key + "' must be an integer");
  return static_cast<int64_t>(d);
}

// number: select; null: new axis; '...': ellipsis; boolean; [start, end, step]: slice; Tensor.
std::vector<at::indexing::TensorIndex> ToIndices(const Napi::Env& env, const Napi::Value& value) {
  if (!value.IsArray()) ThrowType(env, "index: indices must be an array");
  Napi::Array arr = value.As<Napi::Array>();
  std::vector<at::indexing::TensorIndex> out;
  out.reserve(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    Napi::Value v = arr.Get(i);
    if (v.IsNumber()) {
      double d = v.As<Napi::Number>().DoubleValue();
      if (d != static_cast<double>(static_cast<int64_t>(d)))
        ThrowType(env, "index: index " + std::to_string(i) + " must be an integer");
      out.emplace_back(static_cast<int64_t>(d));
    } else if (v.IsNull()) {
      out.emplace_back(at::indexing::None);
    } else if (v.IsBoolean()) {
      out.emplace_back(v.As<Napi::Boolean>().Value());
    } else if (v.IsString() && v.As<Napi::String>().Utf8Value() == "...") {
      out.emplace_back(at::indexing::Ellipsis);
    } else if (v.IsArray() && v.As<Napi::Array>().Length() == 3) {
      Napi::Array slice = v.As<Napi::Array>();
      c10::optional<int64_t> step = OptionalInt(env, slice, 2);
      if (step && *step <= 0) throw Napi::RangeError::New(env, "index: slice step must be positive");
      out.emplace_back(at::indexing::Slice(OptionalInt(env, slice, 0), OptionalInt(env, slice, 1), step));
    } else if (at::Tensor* t = FindTensor(env, v, "index")) {
      out.emplace_back(*t);
    } else {
      ThrowType(env, "index: index " + std::to_string(i) +
                         " must be an integer, null, '...', a boolean, a slice {start, end, step} or a Tensor");
    }
  }
  return out;
}

// index(tensor, indices) -> tensor[indices]
Napi::Value Index(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, "index", [&]() -> Napi::Value {
    const at::Tensor& t = RequireTensor(env, info[0], "index");
    auto indices = ToIndices(env, info[1]);
    if (indices.empty()) return WrapTensor(env, t.alias());
    return WrapTensor(env, t.index(indices));
  });
}

// indexPut(tensor, indices, value): tensor[indices] = value (a Tensor or a number), in place.
Napi::Value IndexPut(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, "indexPut_", [&]() -> Napi::Value {
    at::Tensor t = RequireTensor(env, info[0], "indexPut_");
    auto indices = ToIndices(env, info[1]);
    if (at::Tensor* v = FindTensor(env, info[2], "indexPut_")) {
      t.index_put_(indices, *v);
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
