// Random numbers: global seeding (CPU and every CUDA device) and explicit generators.
import { native, GeneratorHandle } from './native';
import { Tensor } from './tensor';

/** Seeds the default generators of the CPU and of every CUDA device, like torch.manual_seed. */
export function manualSeed(seed: number | bigint): void {
  native.manualSeed(seed);
}

/** The default generator's state for a device (for checkpoints). */
export function getRngState(device = 'cpu'): Tensor {
  return Tensor.fromHandle(native.getRngState(device));
}

export function setRngState(state: Tensor, device = 'cpu'): void {
  native.setRngState(state.checked('setRngState'), device);
}

/** An independent random stream on one device; pass it as `generator` to random ops. */
export class Generator {
  readonly handle: GeneratorHandle;
  constructor(device = 'cpu') {
    this.handle = new native.Generator(device);
  }
  manualSeed(seed: number | bigint): this {
    this.handle.manualSeed(seed);
    return this;
  }
  initialSeed(): bigint {
    return this.handle.initialSeed();
  }
  getState(): Tensor {
    return Tensor.fromHandle(this.handle.getState());
  }
  setState(state: Tensor): void {
    this.handle.setState(state.checked('Generator.setState'));
  }
  get device(): string {
    return this.handle.device();
  }
}
