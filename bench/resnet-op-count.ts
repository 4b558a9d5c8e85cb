// How many op calls cross from JS into LibTorch in one ResNet-18 (CIFAR stem) training step, and
// what the step costs: the numbers behind docs/ARCHITECTURE.md's "Why the ResNet is TypeScript".
//   npx tsx bench/resnet-op-count.ts [batch]
import * as u from '../lib';
import { native } from '../lib/native';

const batch = Number(process.argv[2] ?? 8);
const net = u.resnet18({ stem: 'cifar', numClasses: 128 });
const x = u.randn([batch, 3, 32, 32]);
const step = () => u.scope(() => net.forward(x).square().mean().backward());
step(); // warm-up
let calls = 0;
const original = native.callOp;
native.callOp = (...args) => (calls++, original(...args));
const start = process.hrtime.bigint();
const repeats = 5;
for (let i = 0; i < repeats; i++) step();
const ms = Number(process.hrtime.bigint() - start) / 1e6 / repeats;
console.log(
  JSON.stringify({ batch, opCallsPerStep: calls / repeats, msPerStep: +ms.toFixed(1), threads: u.getNumThreads() }),
);
