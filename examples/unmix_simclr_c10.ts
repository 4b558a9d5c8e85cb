// SimCLR + Un-Mix on CIFAR-10 (spec §4.3, §7: solo-learn's CIFAR recipe; issue #5's Un-Mix settings).
//   npx tsx examples/unmix_simclr_c10.ts --preset smoke                  a few minutes on 2 CPU cores, embedded data
//   npx tsx examples/unmix_simclr_c10.ts --data cifar-10-binary.tar.gz   the recipe (1000 epochs)
//   npx tsx examples/unmix_simclr_c10.ts --data my-folder --crop 64 --mean data --std data
import { soloMain } from './solo';

soloMain('simclr', 'unmix_simclr_c10.ts', './exp/unmix_simclr_c10');
