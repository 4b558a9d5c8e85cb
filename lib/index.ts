// unmix: Un-Mix self-supervised learning on LibTorch. This is the package's public surface.
export { Tensor } from './tensor';
export type { Device, Index, MemoryFormat, NestedArray, ReduceOptions, Scalar, Slice, TensorOrScalar } from './tensor';
export type { DType, AnyTypedArray } from './dtype';
export { DTYPES } from './dtype';
export * from './creation';
export * from './functional';
export { call, opSchemas, listOps } from './dispatch';
export { noGrad, enableGrad, isGradEnabled, setGradEnabled, grad, backward } from './autograd';
export { manualSeed, getRngState, setRngState, Generator } from './random';
export { scope, keep, liveTensors, resetPeakMemory } from './memory';
export * as cuda from './cuda';
export { info, setNumThreads, getNumThreads } from './runtime';
export type { RuntimeInfo } from './runtime';
