// BYOL + Un-Mix on CIFAR-10 (spec §4.3, §7: solo-learn's CIFAR recipe; the mixture of x1 on the online side).
//   npx tsx examples/unmix_byol_c10.ts --preset smoke                    a few minutes on 2 CPU cores, embedded data
//   npx tsx examples/unmix_byol_c10.ts --data cifar-10-binary.tar.gz     the recipe (1000 epochs)
//   npx tsx examples/unmix_byol_c10.ts --data my-folder --crop 64 --mean data --std data
import { soloMain } from './solo';

soloMain('byol', 'unmix_byol_c10.ts', './exp/unmix_byol_c10');
