// Entry point of the unmix native addon: registers each part of the thin LibTorch layer.
#include "common.h"

namespace unmix {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData(new EnvData());
  InstallWarningHandler();
  exports.Set("TensorHandle", TensorHandle::Init(env));
  InitDispatch(env, exports);
  InitData(env, exports);
  InitAutograd(env, exports);
  InitRuntime(env, exports);
  InitIndexing(env, exports);
  return exports;
}

NODE_API_MODULE(unmix, Init)

}  // namespace unmix
