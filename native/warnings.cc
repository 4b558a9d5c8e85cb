// Routes LibTorch warnings to Node: TORCH_WARN would otherwise print through glog to stderr
// ("WARNING: Logging before InitGoogleLogging()..."), out of the user's control. Each distinct
// message becomes one process warning, like Python's default warnings filter.
#include <torch/version.h>

#include <atomic>
#include <mutex>
#include <unordered_set>

#include "common.h"

namespace unmix {
namespace {

std::mutex g_mutex;
std::vector<std::string> g_pending;
std::unordered_set<std::string> g_seen;
std::atomic<bool> g_has_pending{false};

void Queue(const std::string& msg) {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (!g_seen.insert(msg).second) return;
  g_pending.push_back(msg);
  g_has_pending = true;
}

// The handler's interface changed in LibTorch 2.0 (a Warning object instead of loose fields).
class QueueingHandler : public c10::WarningHandler {
 public:
#if TORCH_VERSION_MAJOR >= 2
  void process(const c10::Warning& warning) override { Queue(warning.msg()); }
#else
  void process(const c10::SourceLocation&, const std::string& msg, const bool) override { Queue(msg); }
#endif
};

}  // namespace

bool HasPendingWarnings() { return g_has_pending.load(std::memory_order_relaxed); }

void EmitPendingWarnings(const Napi::Env& env) {
  std::vector<std::string> pending;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    pending.swap(g_pending);
    g_has_pending = false;
  }
  Napi::Object process = env.Global().Get("process").As<Napi::Object>();
  Napi::Function emit = process.Get("emitWarning").As<Napi::Function>();
  for (const std::string& msg : pending) {
    emit.Call(process, {Napi::String::New(env, msg), Napi::String::New(env, "LibTorchWarning")});
  }
}

void InstallWarningHandler() {
  static QueueingHandler handler;
#if TORCH_VERSION_MAJOR >= 2
  c10::WarningUtils::set_warning_handler(&handler);
#else
  c10::Warning::set_warning_handler(&handler);
#endif
}

}  // namespace unmix
