// CUDA-specific behaviour. On a machine without CUDA these tests are skipped and say why; the
// rest of the suite runs on CUDA with UNMIX_TEST_DEVICE=cuda.
import * as u from '../lib';
import { cudaOnly } from './helpers';

test('availability is reported consistently', () => {
  const info = u.info();
  expect(u.cuda.isAvailable()).toBe(info.cuda);
  expect(u.cuda.deviceCount()).toBe(info.devices);
  if (!info.cuda) expect(info.devices).toBe(0);
});

cudaOnly('tensors move between CPU and CUDA exactly', () => {
  const cpu = u.randn([64, 64]);
  const gpu = cpu.to('cuda');
  expect(gpu.device).toBe('cuda:0');
  expect(gpu.isCuda).toBe(true);
  expect(gpu.cpu().equal(cpu)).toBe(true);
  expect(u.tensor([1, 2], { device: 'cuda:0' }).device).toBe('cuda:0');
});

cudaOnly('synchronize, async readback and memory statistics', async () => {
  const before = u.cuda.memoryStats(0);
  const t = u.ones([1024, 1024], { device: 'cuda' }); // 4 MiB
  u.cuda.synchronize();
  u.cuda.synchronize(0);
  const during = u.cuda.memoryStats(0);
  expect(during.tensorBytes - before.tensorBytes).toBe(4 << 20);
  expect(during.peakTensorBytes).toBeGreaterThanOrEqual(during.tensorBytes);
  expect(during.totalBytes).toBeGreaterThan(during.freeBytes);
  const sum = await t.sum().dataAsync();
  expect(sum[0]).toBe(1024 * 1024);
  t.dispose();
  expect(u.cuda.memoryStats(0).tensorBytes).toBe(before.tensorBytes);
});

cudaOnly('autograd on CUDA and per-device generators', () => {
  const x = u.randn([8, 8], { device: 'cuda', requiresGrad: true });
  x.matmul(x).sum().backward();
  expect(x.grad!.device).toBe('cuda:0');
  const g1 = new u.Generator('cuda').manualSeed(11);
  const g2 = new u.Generator('cuda').manualSeed(11);
  expect(u.rand([16], { device: 'cuda', generator: g1 }).equal(u.rand([16], { device: 'cuda', generator: g2 }))).toBe(
    true,
  );
});

cudaOnly('mixing devices is a clear error', () => {
  const a = u.ones([2], { device: 'cuda' });
  const b = u.ones([2, 2]);
  expect(() => b.mm(a.reshape(2, 1))).toThrow(/aten::mm: .*(device|cuda)/i);
});
