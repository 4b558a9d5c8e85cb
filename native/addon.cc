// Entry point of the unmix native addon: registers each part of the thin LibTorch layer.
#include "common.h"

namespace unmix {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData(new EnvData(env));
  InstallWarningHandler();
  InitTensors(env, exports);
  InitDispatch(env, exports);
  InitData(env, exports);
  InitAutograd(env, exports);
  InitRuntime(env, exports);
  InitIndexing(env, exports);
  InitAutocast(env, exports);
  InitDistributed(env, exports);
  return exports;
}

NODE_API_MODULE(unmix, Init)

}  // namespace unmix
