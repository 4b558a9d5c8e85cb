// SwAV + Un-Mix on CIFAR-100 (the reference's script_unmix_c100.sh; spec §3): as CIFAR-10, with the
// same normalisation constants.
//   npx tsx examples/unmix_swav_c100.ts --data cifar-100-binary.tar.gz
import { swavCifarMain } from './swav_cifar';

swavCifarMain('unmix_swav_c100.ts', './exp/unmix_swav_c100');
