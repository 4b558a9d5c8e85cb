// Every benchmark case, in the order `npm run bench -- all` runs them and BENCHMARKS.md lists them.
import { augment } from './augment';
import { BenchCase } from './harness';
import { knn } from './knn';
import { opOverhead } from './op-overhead';
import { resnet18Step } from './resnet18-step';
import { unmixMocoStep } from './unmix-moco-step';

export const CASES: BenchCase<any>[] = [opOverhead, resnet18Step, unmixMocoStep, augment, knn];
