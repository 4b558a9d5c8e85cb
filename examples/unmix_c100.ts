// MoCo + Un-Mix on CIFAR-100: the reference's unmix_c100.py, which differs from unmix_c10.py only in its
// dataset and results folder (it keeps the CIFAR-10 normalisation constants, as here).
//   npx tsx examples/unmix_c100.ts --data cifar-100-binary.tar.gz
//   npx tsx examples/unmix_c100.ts --help
import { mocoCifarMain } from './moco_cifar';

mocoCifarMain('unmix_c100.ts', './UnMix_symmetric_C100');
