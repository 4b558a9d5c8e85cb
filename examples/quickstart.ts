// Quick start: train a two-layer classifier on generated data (three Gaussian blobs in 8-d),
// with autograd, scopes and no-grad updates. No download; runs on CPU or CUDA:
//   npx tsx examples/quickstart.ts [cpu|cuda]
import * as u from '../lib';

const device = (process.argv[2] ?? (u.cuda.isAvailable() ? 'cuda' : 'cpu')) as u.Device;
console.log(`${JSON.stringify(u.info())} -> training on ${device}`);
u.manualSeed(0);

// Data: 3 classes, 600 points, class k centred at 2.5 * e_k. The scope frees the intermediates.
const classes = 3;
const n = 600;
const { labels, points } = u.scope(() => {
  const labels = u.arange(n, undefined, 1, { dtype: 'int64', device }).remainder(classes);
  const centres = u.eye(classes, 8, { device }).mul(2.5);
  return { labels, points: u.randn([n, 8], { device }).add(centres.indexSelect(0, labels)) };
});

// Model: 8 -> 32 -> 3, initialised like torch.nn.Linear (uniform ±1/sqrt(fan_in)).
const init = (shape: number[], fanIn: number) =>
  u.scope(() =>
    u
      .rand(shape, { device })
      .sub(0.5)
      .mul(2 / Math.sqrt(fanIn))
      .requiresGrad_(),
  );
const params = [init([32, 8], 8), init([32], 8), init([classes, 32], 32), init([classes], 32)];
const [w1, b1, w2, b2] = params;
const forward = (x: u.Tensor) => u.linear(u.linear(x, w1, b1).relu(), w2, b2);

for (let epoch = 1; epoch <= 30; epoch++) {
  const loss = u.scope(() => {
    const loss = u.crossEntropy(forward(points), labels);
    loss.backward();
    u.noGrad(() => {
      for (const p of params) {
        p.sub_(p.grad!, 0.5);
        p.grad = null;
      }
    });
    return loss.item();
  });
  if (epoch % 5 === 0) {
    const accuracy = u.scope(() => u.noGrad(() => forward(points).argmax(1).eq(labels).float().mean().item()));
    console.log(
      `epoch ${String(epoch).padStart(2)}  loss ${loss.toFixed(4)}  accuracy ${(accuracy * 100).toFixed(1)}%`,
    );
  }
}
console.log(`live tensors: ${u.liveTensors().count} (the 2 data tensors and the 4 parameters)`);
