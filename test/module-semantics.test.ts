// Module semantics as torch.nn's: .to() keeps the parameter objects (so fields and optimizers built
// before stay valid, their state following the parameters), and children and parameters assigned as
// plain fields are registered as torch.nn's __setattr__ registers them.
import * as u from '../lib';
import { values } from './helpers';

class Scaled extends u.Module {
  readonly s: u.Tensor;
  constructor() {
    super();
    this.s = this.registerParameter('s', u.tensor([2, 3], { dtype: 'float32' }))!;
  }
  forward(x: u.Tensor): u.Tensor {
    return x.mul(this.s);
  }
}

class Plain extends u.Module {
  fc1 = new u.Linear(4, 8);
  act = new u.ReLU();
  fc2: u.Linear | null = new u.Linear(8, 2);
  scale = u.ones([2]).requiresGrad_(true);
  notState = u.zeros([3]); // a plain tensor attribute, as in PyTorch: not state
  forward(x: u.Tensor): u.Tensor {
    const h = this.act.forward(this.fc1.forward(x));
    return (this.fc2 ? this.fc2.forward(h) : h).mul(this.scale);
  }
}

describe('Module.to() keeps parameter objects', () => {
  test('a parameter held in a field still works after .to(float64), and its gradient moves with it', () => {
    const m = new Scaled();
    const s = m.s;
    m.forward(u.ones([2]))
      .sum()
      .backward();
    m.to('float64');
    expect(m.s).toBe(s);
    expect(m.parameters()[0]).toBe(s);
    expect(s.dtype).toBe('float64');
    expect(s.requiresGrad).toBe(true);
    expect(s.grad!.dtype).toBe('float64');
    expect(values(s.grad!)).toEqual([1, 1]);
    const out = m.forward(u.ones([2], { dtype: 'float64' }));
    expect(out.dtype).toBe('float64');
    expect(values(out)).toEqual([2, 3]);
  });

  test('an SGD built before .to() keeps stepping; its momentum buffers follow the parameters', () => {
    const m = new Scaled();
    const opt = new u.SGD(m.parameters(), { lr: 0.1, momentum: 0.5 });
    const step = (x: u.Tensor) => {
      opt.zeroGrad();
      m.forward(x).sum().backward();
      opt.step();
    };
    step(u.tensor([1, 2], { dtype: 'float32' })); // buf = g = [1, 2]; s = [2, 3] - 0.1 [1, 2]
    m.to('float64');
    step(u.tensor([4, 8], { dtype: 'float64' })); // buf = 0.5 buf + [4, 8] = [4.5, 9]
    const buf = opt.momentumBuffers.get(m.s)!;
    expect(buf.dtype).toBe('float64');
    expect(values(buf)).toEqual([4.5, 9]);
    const s1 = [2 - Math.fround(0.1), 3 - Math.fround(0.2)].map(Math.fround);
    values(m.s).forEach((v, i) => expect(v).toBeCloseTo(s1[i] - 0.1 * [4.5, 9][i], 12));
  });

  test('an Adam built before .to() keeps stepping; its moments follow the parameters', () => {
    const m = new Scaled();
    const opt = new u.Adam(m.parameters(), { lr: 0.1 });
    m.forward(u.ones([2]))
      .sum()
      .backward();
    opt.step();
    m.to('float64');
    opt.zeroGrad();
    m.forward(u.ones([2], { dtype: 'float64' }))
      .sum()
      .backward();
    opt.step();
    const state = opt.state.get(m.s)!;
    expect((state.exp_avg as u.Tensor).dtype).toBe('float64');
    expect(state.step).toBe(2);
    // a constant gradient of 1 moves Adam by exactly lr per step
    values(m.s).forEach((v, i) => expect(v).toBeCloseTo([2, 3][i] - 0.2, 6));
  });

  test('buffers keep their objects too (running statistics of a BatchNorm)', () => {
    const bn = new u.BatchNorm1d(3);
    const mean = bn.runningMean;
    bn.to('float64');
    expect(bn.runningMean).toBe(mean);
    expect(mean!.dtype).toBe('float64');
    expect(bn.stateDict().num_batches_tracked.dtype).toBe('int64');
  });
});

describe('fields are registered as torch.nn.Module.__setattr__ does', () => {
  test('Module-valued fields are children, in declaration order; parameters and state dict include them', () => {
    expect(Object.keys(new Plain().toJSON().parameters)).toEqual(['scale']);
    const m = new Plain();
    expect(m.namedChildren().map(([n]) => n)).toEqual(['fc1', 'act', 'fc2']);
    expect(Object.keys(m.stateDict())).toEqual(['scale', 'fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']);
    expect(m.parameters()).toHaveLength(5);
    expect(m.numParameters()).toBe(2 + 4 * 8 + 8 + 8 * 2 + 2);
    expect(m.toString()).toBe(
      'Plain(\n  (fc1): Linear(in_features=4, out_features=8, bias=True)\n  (act): ReLU()\n  (fc2): Linear(in_features=8, out_features=2, bias=True)\n)',
    );
    m.eval();
    expect(m.fc1.training).toBe(false);
  });

  test('assigning a new module replaces the child of that name, null removes it; .to() reaches field children', () => {
    const m = new Plain();
    const old = m.fc2!;
    m.fc2 = new u.Linear(8, 5);
    expect(m.stateDict()['fc2.weight'].shape).toEqual([5, 8]);
    expect(m.parameters()).not.toContain(old.weight);
    m.fc2 = null;
    expect(Object.keys(m.stateDict())).toEqual(['scale', 'fc1.weight', 'fc1.bias']);
    m.to('float64');
    expect(m.fc1.weight.dtype).toBe('float64');
    expect(m.scale.dtype).toBe('float64');
    expect(m.fc1.forward(u.ones([1, 4], { dtype: 'float64' })).dtype).toBe('float64');
  });

  test('a field module whose tensors are all registered already is an alias, not a second name (ResNet keys unchanged)', () => {
    class Flattened extends u.Module {
      readonly inner = new u.Sequential(new u.Linear(2, 2));
      constructor() {
        super();
        for (const [name, child] of this.inner.namedChildren()) this.registerModule(name, child);
      }
      forward(x: u.Tensor): u.Tensor {
        return this.inner.forward(x);
      }
    }
    expect(Object.keys(new Flattened().stateDict())).toEqual(['0.weight', '0.bias']);
    const net = u.resnet18({ width: 8, numClasses: 3 });
    const keys = Object.keys(net.stateDict());
    expect(keys.slice(0, 7)).toEqual([
      'conv1.weight',
      'bn1.weight',
      'bn1.bias',
      'layer1.0.conv1.weight',
      'layer1.0.bn1.weight',
      'layer1.0.bn1.bias',
      'layer1.0.conv2.weight',
    ]);
    expect(keys.filter((k) => !k.includes('running') && !k.includes('num_batches')).slice(-2)).toEqual([
      'fc.weight',
      'fc.bias',
    ]);
    expect(new Set(keys).size).toBe(keys.length);
    expect(net.parameters().length).toBe(new Set(net.parameters()).size);
  });
});
