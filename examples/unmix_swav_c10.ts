// SwAV + Un-Mix on CIFAR-10 (the reference's script_unmix_c10.sh; spec §3).
//   npx tsx examples/unmix_swav_c10.ts --preset smoke                   a few minutes on 2 CPU cores, embedded data
//   npx tsx examples/unmix_swav_c10.ts --data cifar-10-binary.tar.gz    the reference's settings (400 epochs)
//   npx tsx examples/unmix_swav_c10.ts --run_swav ...                   the SwAV baseline
import { swavCifarMain } from './swav_cifar';

swavCifarMain('unmix_swav_c10.ts', './exp/unmix_swav_c10');
