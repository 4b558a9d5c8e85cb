// Tensor methods that convert: device and dtype moves (to, cpu, cuda, float, ...), layout (contiguous),
// copies (clone, copy_). Mixed into Tensor by tensor/index.ts.
import { call } from '../dispatch';
import { checkDtype, DType } from '../dtype';
import { T } from './call';
import type { Tensor } from '.';
import type { Device, MemoryFormat } from './types';

export abstract class ConversionMethods {
  // the Tensor's own getters (tensor/index.ts)
  abstract readonly dtype: DType;
  abstract readonly device: Device;

  /** to('cuda'), to('float16'), or to({ device, dtype, nonBlocking, copy }). */
  to(target: Device | DType | { device?: Device; dtype?: DType; nonBlocking?: boolean; copy?: boolean }): Tensor {
    if (typeof target === 'string') {
      if ((['cpu', 'cuda'] as string[]).includes(target) || target.startsWith('cuda:')) {
        return T('to.device', [this, target, this.dtype]);
      }
      return T('to.dtype', [this, checkDtype(target, 'target')]);
    }
    return T('to.device', [
      this,
      target.device ?? this.device,
      target.dtype ?? this.dtype,
      target.nonBlocking ?? false,
      target.copy ?? false,
    ]);
  }
  cpu(): Tensor {
    return this.to('cpu');
  }
  cuda(device: number = 0): Tensor {
    return this.to(`cuda:${device}`);
  }
  float(): Tensor {
    return this.to('float32');
  }
  double(): Tensor {
    return this.to('float64');
  }
  half(): Tensor {
    return this.to('float16');
  }
  bfloat16(): Tensor {
    return this.to('bfloat16');
  }
  long(): Tensor {
    return this.to('int64');
  }
  int(): Tensor {
    return this.to('int32');
  }
  bool(): Tensor {
    return this.to('bool');
  }
  contiguous(memoryFormat: MemoryFormat = 'contiguous_format'): Tensor {
    return T('contiguous', [this], { memory_format: memoryFormat });
  }
  clone(memoryFormat?: MemoryFormat): Tensor {
    return T('clone', [this], memoryFormat ? { memory_format: memoryFormat } : undefined);
  }
  copy_(source: Tensor): this {
    call('copy_', [this, source]);
    return this;
  }
}
