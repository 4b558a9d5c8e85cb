// MoCo + Un-Mix on CIFAR-10: the reference's unmix_c10.py (spec §2), with every flag it has.
//   npx tsx examples/unmix_c10.ts --preset smoke                     a few minutes on 2 CPU cores, embedded data
//   npx tsx examples/unmix_c10.ts --data cifar-10-binary.tar.gz      the reference's settings (1000 epochs)
//   npx tsx examples/unmix_c10.ts --help
import { mocoCifarMain } from './moco_cifar';

mocoCifarMain('unmix_c10.ts', './UnMix_symmetric_C10');
