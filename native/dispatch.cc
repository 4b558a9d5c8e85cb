// Schema-driven op dispatch: every ATen op callable by name. JS arguments are converted to
// IValues by the op's FunctionSchema and the boxed kernel is called through the dispatcher,
// so autograd, autocast and device dispatch work exactly as in PyTorch.
#include <ATen/core/dispatch/Dispatcher.h>
#include <c10/util/SmallVector.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <deque>
#include <mutex>
#include <sstream>
#include <unordered_map>

#include "common.h"

namespace unmix {
namespace {

struct Overload {
  c10::OperatorHandle handle;
  const c10::FunctionSchema* schema;
  int unsafe_arg;  // index of a `bool unsafe` argument (segment_reduce), or -1
  bool recounts;   // may re-point or resize a tensor argument's storage (set_, resize_, out=)
};

// Whether the op can leave a tensor argument on another storage or with a resized one: the
// live-memory accounting then has to look again (TensorTable::Recount).
bool MayRebindStorage(const c10::FunctionSchema& schema) {
  static const char* const kRebinding[] = {"aten::set_", "aten::set_data", "aten::resize_", "aten::resize_as_"};
  for (const char* name : kRebinding) {
    if (schema.name() == name) return true;
  }
  for (const c10::Argument& arg : schema.arguments()) {
    if (arg.kwarg_only() && arg.alias_info() && arg.alias_info()->isWrite()) return true;  // out=
  }
  return false;
}

struct OpEntry {
  std::string name;  // e.g. "aten::add" or "aten::add.Tensor"
  std::vector<Overload> overloads;
  bool unchecked;  // resolved with {unchecked: true}: the caller takes the risk
};

// Shared by every thread that loaded the addon. Entries never move (deque) and are never
// removed. Resolution runs under the lock; calls read an entry through g_op_table without it,
// and an id is handed out only after its entry is published there.
constexpr int kMaxOps = 16384;
std::mutex g_ops_mutex;
std::deque<OpEntry> g_ops;  // indexed by op id
std::atomic<const OpEntry*> g_op_table[kMaxOps];
std::unordered_map<std::string, int> g_op_ids;                              // requested name -> id
std::unordered_map<std::string, std::vector<c10::OperatorName>> g_by_base;  // "aten::add" -> names

void IndexOperators() {
  if (!g_by_base.empty()) return;
  for (const c10::OperatorName& name : c10::Dispatcher::singleton().getAllOpNames()) {
    g_by_base[name.name].push_back(name);
  }
}

// Overloads we never pick by argument matching: named-tensor variants and out= variants.
bool Callable(const c10::FunctionSchema& schema) {
  // Dimname arguments look like plain `str` in the schema; their overloads are named for them.
  std::string overload = schema.overload_name();
  std::transform(overload.begin(), overload.end(), overload.begin(), ::tolower);
  if (overload.find("dimname") != std::string::npos || overload.rfind("names", 0) == 0) return false;
  for (const c10::Argument& arg : schema.arguments()) {
    if (arg.kwarg_only() && arg.alias_info() && arg.alias_info()->isWrite()) return false;
  }
  return true;
}

// Kernels that do not check their arguments and crash or hang the process on bad ones
// (found by test/fuzz-ops.ts against LibTorch 1.13). Each is refused, naming the checked op to
// use instead: a user error must never take the process down.
const std::unordered_map<std::string, std::string> kUncheckedOps = {
    {"aten::native_channel_shuffle", "channel_shuffle"},
    {"aten::choose_qparams_optimized", "(none: it can loop forever on bad arguments)"},
    {"aten::rrelu_with_noise", "rrelu"},
    {"aten::rrelu_with_noise_", "rrelu_"},
    {"aten::slow_conv_transpose2d", "conv_transpose2d"},
    {"aten::slow_conv_transpose3d", "conv_transpose3d"},
    {"aten::native_batch_norm", "batch_norm"},
    {"aten::histogramdd", "histc or histogram"},
};

// The policy (docs/ARCHITECTURE.md): call() reaches public ATen ops, whose kernels check their
// arguments. Internal ones (a leading underscore, other namespaces), backward kernels and sparse
// constructors trust their callers and crash the process on inconsistent arguments (found by
// test/fuzz-ops.ts), so they are refused unless resolved with {unchecked: true}. Why `name`
// (without overload) is refused, or "" when it is not.
std::string RefusalReason(const std::string& name) {
  auto listed = kUncheckedOps.find(name);
  if (listed != kUncheckedOps.end()) {
    return "its LibTorch kernel does not check its arguments and can crash the process; use " + listed->second;
  }
  if (name.rfind("aten::", 0) != 0) return "only aten:: operators are public; other namespaces are LibTorch internals";
  std::string base = name.substr(6);
  // The multi-tensor kernels the optimizers use check their list lengths and shapes.
  if (base.rfind("_foreach_", 0) == 0) return "";
  if (base[0] == '_')
    return "a leading underscore marks a LibTorch internal, whose kernel may trust its arguments and crash the process";
  if (base.find("_backward") != std::string::npos) {
    return "backward kernels trust the arguments autograd gives them and can crash the process on others";
  }
  for (const char* family :
       {"sparse", "_coo", "csr", "csc", "bsr", "bsc", "mkldnn", "cudnn", "miopen", "fbgemm", "quantize", "nested"}) {
    if (base.find(family) != std::string::npos) {
      return std::string("the ") + family +
             " family is outside what unmix checks (its kernels can crash the process on inconsistent arguments)";
    }
  }
  return "";
}

// The non-.vec upsample overloads take both an output size and scales, and read out of bounds
// when the two disagree: there the scales must be left out (null).
bool ScalesMustBeNull(const c10::FunctionSchema& schema, const c10::Argument& param) {
  return param.name().rfind("scales", 0) == 0 && schema.overload_name() != "vec" &&
         schema.name().find("upsample_") != std::string::npos;
}

int ResolveOp(const Napi::Env& env, std::string name, bool unchecked) {
  if (name.find("::") == std::string::npos) name = "aten::" + name;
  if (!unchecked) {
    std::string why = RefusalReason(name.substr(0, name.find('.')));
    if (!why.empty()) {
      throw Napi::Error::New(
          env, name + " is refused: " + why +
                   " (call(name, args, kwargs, {unchecked: true}) calls it anyway, at the risk of a crash)");
    }
  }
  std::lock_guard<std::mutex> lock(g_ops_mutex);
  std::string key = unchecked ? name + "#unchecked" : name;
  auto found = g_op_ids.find(key);
  if (found != g_op_ids.end()) return found->second;
  IndexOperators();
  std::string base = name;
  std::string overload_name;
  bool exact = false;
  size_t dot = name.find('.');
  if (dot != std::string::npos) {
    base = name.substr(0, dot);
    overload_name = name.substr(dot + 1);
    exact = true;
  }
  OpEntry entry{name, {}, unchecked};
  auto names = g_by_base.find(base);
  if (names != g_by_base.end()) {
    for (const c10::OperatorName& op_name : names->second) {
      if (exact && op_name.overload_name != overload_name) continue;
      auto handle = c10::Dispatcher::singleton().findOp(op_name);
      if (!handle || !handle->hasSchema()) continue;
      const c10::FunctionSchema& schema = handle->schema();
      if (!exact && !Callable(schema)) continue;
      int unsafe_arg = -1;
      for (size_t i = 0; i < schema.arguments().size(); ++i) {
        const c10::Argument& arg = schema.arguments()[i];
        if (arg.name() == "unsafe" && arg.type()->kind() == c10::TypeKind::BoolType) unsafe_arg = static_cast<int>(i);
      }
      entry.overloads.push_back({*handle, &schema, unsafe_arg, MayRebindStorage(schema)});
    }
  }
  if (entry.overloads.empty()) {
    throw Napi::Error::New(env, "unknown operator '" + name + "'");
  }
  // Default overload first, then the shortest: a deterministic order independent of how the
  // registry happens to iterate.
  std::stable_sort(entry.overloads.begin(), entry.overloads.end(), [](const Overload& a, const Overload& b) {
    bool a_default = a.schema->overload_name().empty();
    bool b_default = b.schema->overload_name().empty();
    if (a_default != b_default) return a_default;
    if (a.schema->arguments().size() != b.schema->arguments().size())
      return a.schema->arguments().size() < b.schema->arguments().size();
    return a.schema->overload_name() < b.schema->overload_name();
  });
  int id = static_cast<int>(g_ops.size());
  if (id >= kMaxOps) throw Napi::Error::New(env, "too many distinct operators resolved");
  g_ops.push_back(std::move(entry));
  g_op_table[id].store(&g_ops.back(), std::memory_order_release);
  g_op_ids[key] = id;
  return id;
}

// The entry of a resolved id, or nullptr.
const OpEntry* OpById(int id) {
  if (id < 0 || id >= kMaxOps) return nullptr;
  return g_op_table[id].load(std::memory_order_acquire);
}

// ---- JS -> IValue --------------------------------------------------------------------------

// Why a value does not fit an argument; `loose` counts conversions that are allowed but less
// exact (a single int for an int list), used to rank overloads that all match.
struct Fit {
  bool ok = true;
  int loose = 0;
  std::string why;
};

// A SymInt holds a plain integer only above -2^62 (below it the bits mean "symbolic"), and a size
// that low would trip an internal assertion deep in the kernel instead of a message.
constexpr int64_t kMinSymInt = -(int64_t(1) << 62);

std::string JsTypeName(const Napi::Value& v) {
  if (IsTensorObject(v)) return "Tensor";
  if (v.IsUndefined()) return "undefined";
  if (v.IsNull()) return "null";
  if (v.IsBoolean()) return "boolean";
  if (v.IsNumber()) {
    double d = v.As<Napi::Number>().DoubleValue();
    return d == std::trunc(d) && d >= -9223372036854775808.0 && d < 9223372036854775808.0 ? "integer" : "number";
  }
  if (v.IsBigInt()) return "bigint";
  if (v.IsString()) return "string";
  if (v.IsArray()) return "array";
  return "object";
}

bool AsInt(const Napi::Value& v, int64_t* out) {
  if (v.IsNumber()) {
    double d = v.As<Napi::Number>().DoubleValue();
    // In range before the cast (casting 2^63 or NaN is undefined behaviour).
    if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0) || d != std::trunc(d)) return false;
    *out = static_cast<int64_t>(d);
    return true;
  }
  if (v.IsBigInt()) {
    bool lossless = true;
    *out = v.As<Napi::BigInt>().Int64Value(&lossless);
    return lossless;
  }
  return false;
}

c10::optional<c10::MemoryFormat> ParseMemoryFormat(const std::string& s) {
  if (s == "contiguous_format" || s == "contiguous") return c10::MemoryFormat::Contiguous;
  if (s == "channels_last") return c10::MemoryFormat::ChannelsLast;
  if (s == "channels_last_3d") return c10::MemoryFormat::ChannelsLast3d;
  if (s == "preserve_format" || s == "preserve") return c10::MemoryFormat::Preserve;
  return c10::nullopt;
}

struct TensorInput {
  const c10::TensorImpl* impl;
  double handle;
};
using TensorInputs = c10::SmallVector<TensorInput, 4>;

class Converter {
 public:
  // With `explain` false, mismatches are reported without building messages: overload
  // resolution tries candidates that fail routinely, and strings would dominate the call.
  Converter(const Napi::Env& env, const std::string& op, TensorInputs* inputs, bool explain)
      : env_(env), op_(op), inputs_(inputs), explain_(explain) {}

  Fit Convert(const c10::TypePtr& type, c10::optional<int32_t> n, const Napi::Value& v, c10::IValue* out) {
    Fit fit;
    auto fail = [&](const char* expected) {
      fit.ok = false;
      if (explain_) fit.why = std::string("expected ") + expected + ", got " + JsTypeName(v);
      return fit;
    };
    switch (type->kind()) {
      case c10::TypeKind::OptionalType:
        if (v.IsUndefined() || v.IsNull()) {
          *out = c10::IValue();
          return fit;
        }
        return Convert(type->castRaw<c10::OptionalType>()->getElementType(), n, v, out);
      case c10::TypeKind::TensorType: {
        double handle;
        at::Tensor* t = FindTensor(env_, v, op_.c_str(), &handle);
        if (!t) return fail("Tensor");
        inputs_->push_back({t->unsafeGetTensorImpl(), handle});
        *out = *t;
        return fit;
      }
      case c10::TypeKind::IntType:
      case c10::TypeKind::SymIntType: {
        int64_t i;
        if (v.IsBoolean() || !AsInt(v, &i)) return fail("integer");
        if (type->kind() == c10::TypeKind::SymIntType && i < kMinSymInt) return fail("integer of at least -2^62");
        *out = i;
        return fit;
      }
      case c10::TypeKind::FloatType:
        if (!v.IsNumber()) return fail("number");
        *out = v.As<Napi::Number>().DoubleValue();
        return fit;
      case c10::TypeKind::BoolType:
        if (!v.IsBoolean()) return fail("boolean");
        *out = v.As<Napi::Boolean>().Value();
        return fit;
      case c10::TypeKind::NumberType: {  // Scalar
        int64_t i;
        if (v.IsBoolean()) {
          *out = c10::Scalar(v.As<Napi::Boolean>().Value());
        } else if (AsInt(v, &i)) {
          *out = c10::Scalar(i);
        } else if (v.IsNumber()) {
          *out = c10::Scalar(v.As<Napi::Number>().DoubleValue());
        } else {
          return fail("number");
        }
        return fit;
      }
      case c10::TypeKind::StringType:
        if (!v.IsString()) return fail("string");
        *out = v.As<Napi::String>().Utf8Value();
        return fit;
      case c10::TypeKind::ScalarTypeType:
        if (!v.IsString()) return fail("dtype string");
        *out = ParseDtype(env_, v);
        return fit;
      case c10::TypeKind::LayoutType:
        if (!v.IsString() || v.As<Napi::String>().Utf8Value() != "strided") return fail("'strided'");
        *out = c10::kStrided;
        return fit;
      case c10::TypeKind::MemoryFormatType: {
        if (!v.IsString()) return fail("memory format string");
        auto format = ParseMemoryFormat(v.As<Napi::String>().Utf8Value());
        if (!format) return fail("'contiguous_format', 'channels_last' or 'preserve_format'");
        *out = *format;
        return fit;
      }
      case c10::TypeKind::DeviceObjType:
        if (!v.IsString()) return fail("device string");
        *out = ParseDevice(env_, v);
        return fit;
      case c10::TypeKind::GeneratorType: {
        at::Generator generator;
        if (!UnwrapGenerator(v, &generator)) return fail("Generator");
        *out = generator;
        return fit;
      }
      case c10::TypeKind::ListType:
        return ConvertList(type->castRaw<c10::ListType>()->getElementType(), n, v, out);
      default:
        fit.ok = false;
        fit.why = "argument type " + type->str() + " is not supported from JavaScript";
        return fit;
    }
  }

 private:
  Fit ConvertList(const c10::TypePtr& elem, c10::optional<int32_t> n, const Napi::Value& v, c10::IValue* out) {
    Fit fit;
    auto kind = elem->kind();
    bool int_like = kind == c10::TypeKind::IntType || kind == c10::TypeKind::SymIntType;
    if (!v.IsArray()) {
      // PyTorch accepts one int (or bool) for a fixed-size list: kernel_size=3 means [3, 3].
      int64_t i;
      if (int_like && !v.IsBoolean() && AsInt(v, &i)) {
        *out = c10::List<int64_t>(std::vector<int64_t>(n.value_or(1), i));
        fit.loose = 1;
        return fit;
      }
      fit.ok = false;
      if (explain_) fit.why = "expected array, got " + JsTypeName(v);
      return fit;
    }
    Napi::Array arr = v.As<Napi::Array>();
    uint32_t len = arr.Length();
    // int[2], int[3]: kernels may index such lists without checking their length, so they get
    // exactly N elements; one element stands for all N, as a single int does. (int[1] only
    // means "one int may stand for the list": `int[1] dim` takes any number of dims.)
    bool fixed = int_like && n && *n >= 2;
    if (fixed && len != static_cast<uint32_t>(*n) && len != 1) {
      fit.ok = false;
      if (explain_) fit.why = "expected " + std::to_string(*n) + " integers (or 1), got " + std::to_string(len);
      return fit;
    }
    auto item_fail = [&](uint32_t k, const Fit& f) {
      Fit r;
      r.ok = false;
      if (explain_) r.why = "element " + std::to_string(k) + ": " + f.why;
      return r;
    };
    auto expected = [&](const char* what, const Napi::Value& e) {
      return Fit{false, 0, explain_ ? std::string("expected ") + what + ", got " + JsTypeName(e) : std::string()};
    };
    if (int_like) {
      c10::List<int64_t> list;
      list.reserve(len);
      for (uint32_t k = 0; k < len; ++k) {
        int64_t i;
        Napi::Value e = arr.Get(k);
        if (e.IsBoolean() || !AsInt(e, &i)) return item_fail(k, expected("integer", e));
        if (kind == c10::TypeKind::SymIntType && i < kMinSymInt)
          return item_fail(k, expected("integer of at least -2^62", e));
        list.push_back(i);
      }
      if (fixed && len == 1) list = c10::List<int64_t>(std::vector<int64_t>(*n, list.get(0)));
      *out = std::move(list);
      return fit;
    }
    if (kind == c10::TypeKind::TensorType) {
      c10::List<at::Tensor> list;
      list.reserve(len);
      for (uint32_t k = 0; k < len; ++k) {
        c10::IValue item;
        Fit f = Convert(elem, c10::nullopt, arr.Get(k), &item);
        if (!f.ok) return item_fail(k, f);
        list.push_back(item.toTensor());
      }
      *out = std::move(list);
      return fit;
    }
    if (kind == c10::TypeKind::OptionalType &&
        elem->castRaw<c10::OptionalType>()->getElementType()->kind() == c10::TypeKind::TensorType) {
      c10::List<c10::optional<at::Tensor>> list;
      list.reserve(len);
      for (uint32_t k = 0; k < len; ++k) {
        c10::IValue item;
        Fit f = Convert(elem, c10::nullopt, arr.Get(k), &item);
        if (!f.ok) return item_fail(k, f);
        list.push_back(item.isNone() ? c10::optional<at::Tensor>() : c10::optional<at::Tensor>(item.toTensor()));
      }
      *out = std::move(list);
      return fit;
    }
    if (kind == c10::TypeKind::FloatType) {
      c10::List<double> list;
      for (uint32_t k = 0; k < len; ++k) {
        Napi::Value e = arr.Get(k);
        if (!e.IsNumber()) return item_fail(k, expected("number", e));
        list.push_back(e.As<Napi::Number>().DoubleValue());
      }
      *out = std::move(list);
      return fit;
    }
    if (kind == c10::TypeKind::BoolType) {
      c10::List<bool> list;
      for (uint32_t k = 0; k < len; ++k) {
        Napi::Value e = arr.Get(k);
        if (!e.IsBoolean()) return item_fail(k, expected("boolean", e));
        list.push_back(e.As<Napi::Boolean>().Value());
      }
      *out = std::move(list);
      return fit;
    }
    fit.ok = false;
    fit.why = "list of " + elem->str() + " is not supported from JavaScript";
    return fit;
  }

  const Napi::Env& env_;
  const std::string& op_;
  TensorInputs* inputs_;
  bool explain_;
};

// ---- IValue -> JS --------------------------------------------------------------------------

// A tensor result's handle. In-place and out= ops return an input: its own handle, not a second
// owner.
Napi::Value TensorToJs(const Napi::Env& env, const at::Tensor& t, const TensorInputs& inputs) {
  if (!t.defined()) return env.Null();
  for (const TensorInput& in : inputs) {
    if (in.impl == t.unsafeGetTensorImpl()) return Napi::Number::New(env, in.handle);
  }
  return WrapTensor(env, t);
}

// Any other result: tensors become {handle} objects, so JS tells them from integers.
Napi::Value ToJs(const Napi::Env& env, const c10::IValue& v, const TensorInputs& inputs) {
  if (v.isTensor()) {
    Napi::Value handle = TensorToJs(env, v.toTensor(), inputs);
    if (handle.IsNull()) return handle;
    Napi::Object boxed = Napi::Object::New(env);
    boxed.Set("handle", handle);
    return boxed;
  }
  if (v.isNone()) return env.Null();
  if (v.isBool()) return Napi::Boolean::New(env, v.toBool());
  if (v.isInt()) return Napi::Number::New(env, static_cast<double>(v.toInt()));
  if (v.isDouble()) return Napi::Number::New(env, v.toDouble());
  if (v.isString()) return Napi::String::New(env, v.toStringRef());
  if (v.isTuple()) {
    const auto& elems = v.toTupleRef().elements();
    Napi::Array arr = Napi::Array::New(env, elems.size());
    for (size_t i = 0; i < elems.size(); ++i) arr.Set(uint32_t(i), ToJs(env, elems[i], inputs));
    return arr;
  }
  if (v.isList()) {
    auto list = v.toListRef();
    Napi::Array arr = Napi::Array::New(env, list.size());
    for (size_t i = 0; i < list.size(); ++i) arr.Set(uint32_t(i), ToJs(env, list[i], inputs));
    return arr;
  }
  if (v.isDevice()) return Napi::String::New(env, v.toDevice().str());
  throw Napi::Error::New(env, "cannot return a value of type " + v.tagKind() + " to JavaScript");
}

// ---- calling -------------------------------------------------------------------------------

// The arguments of one call, read from JS once and shared by every overload tried.
struct CallArgs {
  c10::SmallVector<Napi::Value, 8> values;  // positional
  c10::SmallVector<napi_valuetype, 8> types;
  const Napi::Object* kwargs = nullptr;
};

// Whether a JS value of this type could convert to `type`. A check without conversions that turns
// most wrong overloads away before Prepare builds anything; it never rejects what Prepare accepts.
bool MayFit(const c10::TypePtr& type, napi_valuetype js) {
  switch (type->kind()) {
    case c10::TypeKind::OptionalType:
      return js == napi_null || js == napi_undefined ||
             MayFit(type->castRaw<c10::OptionalType>()->getElementType(), js);
    case c10::TypeKind::TensorType:
    case c10::TypeKind::GeneratorType:
      return js == napi_object;
    case c10::TypeKind::IntType:
    case c10::TypeKind::SymIntType:
      return js == napi_number || js == napi_bigint;
    case c10::TypeKind::FloatType:
      return js == napi_number;
    case c10::TypeKind::BoolType:
      return js == napi_boolean;
    case c10::TypeKind::NumberType:
      return js == napi_number || js == napi_boolean || js == napi_bigint;
    case c10::TypeKind::StringType:
    case c10::TypeKind::ScalarTypeType:
    case c10::TypeKind::LayoutType:
    case c10::TypeKind::MemoryFormatType:
    case c10::TypeKind::DeviceObjType:
      return js == napi_string;
    case c10::TypeKind::ListType:  // an array, or one int standing for an int list
      return js == napi_object || js == napi_number || js == napi_bigint;
    default:
      return true;  // Prepare explains
  }
}

bool MayFit(const c10::FunctionSchema& schema, const CallArgs& a) {
  const auto& params = schema.arguments();
  if (a.values.size() > params.size()) return false;
  for (size_t i = 0; i < a.values.size(); ++i) {
    if (params[i].kwarg_only() || !MayFit(params[i].real_type(), a.types[i])) return false;
  }
  return true;
}

struct Prepared {
  Fit fit;
  std::vector<c10::IValue> stack;
  TensorInputs inputs;
};

Prepared Prepare(const Napi::Env& env, const c10::FunctionSchema& schema, const CallArgs& a, bool explain) {
  Prepared p;
  const Napi::Object* kwargs = a.kwargs;
  const auto& params = schema.arguments();
  uint32_t given = static_cast<uint32_t>(a.values.size());
  size_t positional = 0;
  for (const auto& a : params) positional += a.kwarg_only() ? 0 : 1;
  if (given > positional) {
    p.fit = Fit{false, 0,
                explain ? "takes " + std::to_string(positional) + " positional arguments but " + std::to_string(given) +
                              " were given"
                        : ""};
    return p;
  }
  size_t used_kwargs = 0;
  Converter conv(env, schema.name(), &p.inputs, explain);
  p.stack.reserve(params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    const c10::Argument& param = params[i];
    Napi::Value v = env.Undefined();
    bool present = false;
    if (i < given) {
      v = a.values[i];
      present = true;
    } else if (kwargs && kwargs->Has(param.name())) {
      v = kwargs->Get(param.name());
      present = !v.IsUndefined();
      ++used_kwargs;
    }
    if (!present) {
      if (param.default_value()) {
        p.stack.push_back(*param.default_value());
        continue;
      }
      // As in Python, a parameter without a default must be passed (null for None).
      p.fit = Fit{false, 0, explain ? "missing argument '" + param.name() + "'" : ""};
      return p;
    }
    if (ScalesMustBeNull(schema, param) && !v.IsNull() && !v.IsUndefined()) {
      p.fit = Fit{false, 0,
                  explain ? "argument '" + param.name() +
                                "' must be null here (give the output size only, or use the .vec overload)"
                          : ""};
      return p;
    }
    c10::IValue value;
    Fit f = conv.Convert(param.real_type(), param.N(), v, &value);
    if (!f.ok) {
      p.fit = Fit{false, 0,
                  explain ? "argument '" + param.name() + "' (position " + std::to_string(i + 1) + "): " + f.why : ""};
      return p;
    }
    p.fit.loose += f.loose;
    p.stack.push_back(std::move(value));
  }
  if (kwargs) {
    Napi::Array keys = kwargs->GetPropertyNames();
    size_t defined_keys = 0;
    for (uint32_t k = 0; k < keys.Length(); ++k) {
      if (!kwargs->Get(keys.Get(k)).IsUndefined()) ++defined_keys;
    }
    if (defined_keys > used_kwargs) {
      for (uint32_t k = 0; k < keys.Length(); ++k) {
        std::string key = keys.Get(k).As<Napi::String>().Utf8Value();
        bool known = std::any_of(params.begin(), params.end(), [&](const c10::Argument& a) { return a.name() == key; });
        if (!known) {
          p.fit = Fit{false, 0, explain ? "unexpected keyword argument '" + key + "'" : ""};
          return p;
        }
      }
    }
  }
  return p;
}

std::string SchemaString(const c10::FunctionSchema& schema) {
  std::ostringstream s;
  s << schema;
  return s.str();
}

// The TypeError text when no overload accepts the arguments, naming the offending argument.
std::string ExplainMismatch(const Napi::Env& env, const OpEntry& entry, const CallArgs& args) {
  std::vector<std::pair<std::string, std::string>> reasons;  // schema, why
  for (const Overload& o : entry.overloads) {
    Prepared p = Prepare(env, *o.schema, args, true);
    reasons.emplace_back(SchemaString(*o.schema), p.fit.why);
  }
  std::string msg = entry.name + ": ";
  if (reasons.size() == 1) return msg + reasons[0].second + "\n  signature: " + reasons[0].first;
  // Every overload turned the same argument away for the same reason (aten::mm and its 2.x
  // mm.dtype): say that once.
  bool same = std::all_of(reasons.begin(), reasons.end(), [&](const auto& r) { return r.second == reasons[0].second; });
  if (same) {
    msg += reasons[0].second + "\n  signatures:";
    for (const auto& r : reasons) msg += "\n    " + r.first;
    return msg;
  }
  msg += "no overload matches these arguments; tried:";
  for (const auto& r : reasons) msg += "\n  " + r.first + "\n      " + r.second;
  return msg;
}

// callOp(id, args, kwargs?) -> a handle (or null) when the op returns one Tensor, undefined when it
// returns nothing, else {result}. Tensors in args and kwargs are JS Tensor objects.
Napi::Value CallOp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber()) ThrowType(env, "callOp: op id must be a number");
  const OpEntry* found = OpById(info[0].As<Napi::Number>().Int32Value());
  if (!found) ThrowType(env, "callOp: unknown op id");
  const OpEntry& entry = *found;
  if (!info[1].IsArray()) ThrowType(env, entry.name + ": arguments must be an array");
  Napi::Array array = info[1].As<Napi::Array>();
  CallArgs args;
  uint32_t given = array.Length();
  for (uint32_t i = 0; i < given; ++i) {
    args.values.push_back(array.Get(i));
    args.types.push_back(args.values.back().Type());
  }
  Napi::Object kwargs_obj;
  if (info.Length() > 2 && info[2].IsObject()) {
    kwargs_obj = info[2].As<Napi::Object>();
    args.kwargs = &kwargs_obj;
  }
  return Guard(env, entry.name, [&]() -> Napi::Value {
    // Candidates in their fixed order; the first exact match wins, else the least loose one.
    size_t n = entry.overloads.size();
    Prepared best;
    size_t chosen = n;
    for (size_t i = 0; i < n; ++i) {
      if (!MayFit(*entry.overloads[i].schema, args)) continue;
      Prepared p = Prepare(env, *entry.overloads[i].schema, args, false);
      if (!p.fit.ok) continue;
      if (chosen == n || p.fit.loose < best.fit.loose) {
        best = std::move(p);
        chosen = i;
        if (best.fit.loose == 0) break;
      }
    }
    if (chosen == n) ThrowType(env, ExplainMismatch(env, entry, args));
    const Overload* overload = &entry.overloads[chosen];
    if (overload->unsafe_arg >= 0 && !entry.unchecked && best.stack[overload->unsafe_arg].toBool()) {
      throw Napi::Error::New(env, entry.name +
                                      ": unsafe=true skips the kernel's argument checks and can crash the process; "
                                      "it is refused unless the op is called with {unchecked: true}");
    }
    overload->handle.callBoxed(&best.stack);
    if (overload->recounts) {
      for (const TensorInput& in : best.inputs) GetEnvData(env)->tensors.Recount(in.handle);
    }
    const auto& returns = overload->schema->returns();
    if (returns.empty()) return env.Undefined();
    // One Tensor, by far the most common result: its handle (or null), nothing to unpack.
    if (returns.size() == 1 && best.stack[0].isTensor()) return TensorToJs(env, best.stack[0].toTensor(), best.inputs);
    Napi::Value value;
    if (returns.size() == 1) {
      value = ToJs(env, best.stack[0], best.inputs);
    } else {
      Napi::Array out = Napi::Array::New(env, best.stack.size());
      for (size_t i = 0; i < best.stack.size(); ++i) out.Set(uint32_t(i), ToJs(env, best.stack[i], best.inputs));
      value = out;
    }
    Napi::Object result = Napi::Object::New(env);
    result.Set("result", value);
    return result;
  });
}

// resolveOp(name, unchecked?) -> an op id.
Napi::Value ResolveOpJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) ThrowType(env, "resolveOp: name must be a string");
  std::string name = info[0].As<Napi::String>().Utf8Value();
  bool unchecked = info[1].IsBoolean() && info[1].As<Napi::Boolean>().Value();
  return Guard(env, "resolveOp",
               [&]() -> Napi::Value { return Napi::Number::New(env, ResolveOp(env, name, unchecked)); });
}

// Schemas of an op's overloads, for error messages, docs and generated typings.
Napi::Value OpSchemas(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) ThrowType(env, "opSchemas: name must be a string");
  std::string name = info[0].As<Napi::String>().Utf8Value();
  return Guard(env, "opSchemas", [&]() -> Napi::Value {
    const OpEntry& entry = *OpById(ResolveOp(env, name, true));
    Napi::Array out = Napi::Array::New(env, entry.overloads.size());
    for (size_t i = 0; i < entry.overloads.size(); ++i) {
      out.Set(uint32_t(i), Napi::String::New(env, SchemaString(*entry.overloads[i].schema)));
    }
    return out;
  });
}

Napi::Value ListOps(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::lock_guard<std::mutex> lock(g_ops_mutex);
  IndexOperators();
  Napi::Array out = Napi::Array::New(env, g_by_base.size());
  uint32_t i = 0;
  for (const auto& kv : g_by_base) out.Set(i++, Napi::String::New(env, kv.first));
  return out;
}

}  // namespace

void InitDispatch(Napi::Env env, Napi::Object exports) {
  exports.Set("resolveOp", Napi::Function::New(env, ResolveOpJs));
  exports.Set("callOp", Napi::Function::New(env, CallOp));
  exports.Set("opSchemas", Napi::Function::New(env, OpSchemas));
  exports.Set("listOps", Napi::Function::New(env, ListOps));
}

}  // namespace unmix
