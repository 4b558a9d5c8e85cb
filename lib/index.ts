// unmix: Un-Mix self-supervised learning on LibTorch. This is the package's public surface.
export { Tensor } from './tensor';
export type { Device, Index, MemoryFormat, NestedArray, ReduceOptions, Scalar, Slice, TensorOrScalar } from './tensor';
export type { DType, AnyTypedArray } from './dtype';
export { DTYPES } from './dtype';
export * from './creation';
export * from './functional';
export { call, opSchemas, listOps } from './dispatch';
export type { CallOptions } from './dispatch';
export { noGrad, enableGrad, isGradEnabled, setGradEnabled, grad, backward } from './autograd';
export { autocast } from './autocast';
export type { AutocastDtype, AutocastOptions } from './autocast';
export { manualSeed, getRngState, setRngState, Generator } from './random';
export { scope, keep, liveTensors, resetPeakMemory } from './memory';
export * as cuda from './cuda';
export { info, buildConfig, setNumThreads, getNumThreads } from './runtime';
export type { RuntimeInfo } from './runtime';
export { Module } from './nn/module';
export type { StateDict } from './nn/module';
export {
  Linear,
  Conv2d,
  BatchNorm,
  BatchNorm1d,
  BatchNorm2d,
  SplitBatchNorm2d,
  ReLU,
  Identity,
  Flatten,
  Sequential,
  mlp,
} from './nn/layers';
export type { LayerOptions, BatchNormOptions } from './nn/layers';
export { SGD } from './optim/sgd';
export type { SGDOptions, ParamGroup } from './optim/sgd';
export { LARC } from './optim/larc';
export type { LARCOptions } from './optim/larc';
export { stepLr, cosineLr, warmupCosineLr, cosineMomentum, setLr } from './optim/schedules';
export type { WarmupCosineOptions } from './optim/schedules';
export { saveSafetensors, loadSafetensors, inspectSafetensors, writeFileAtomic } from './io/safetensors';
export type { SafetensorsFile, TensorInfo } from './io/safetensors';
export { saveCheckpoint, loadCheckpoint } from './io/checkpoint';
export type { TrainingState, LoadedCheckpoint } from './io/checkpoint';
export { loadTorchFile, importTorchStateDict } from './io/torch-file';
export type { TorchFile } from './io/torch-file';
export { ResNet, resnet18, resnet34, resnet50 } from './nn/resnet';
export type { ResNetOptions, BlockKind, Stem } from './nn/resnet';
export { saveTorchStateDict } from './io/torch-save';
export { loadCifar } from './data/cifar';
export type { CifarSplit } from './data/cifar';
export { Rng, deriveSeed } from './rng';
export type { RngState } from './rng';
export type { ImageSet, TensorImageSet, EncodedImageSet, DatasetFormat } from './data/dataset';
export { imageCount } from './data/dataset';
export { Loader } from './data/loader';
export type { LoaderOptions, Batch } from './data/loader';
export { RecordingLoader, ReplayLoader, readRecordedBatches } from './data/replay';
export type { RecordedBatches } from './data/replay';
export type { Shard } from './data/shard';
export { applyPipeline, applyColour, validatePipeline, outputSize } from './data/pipeline';
export type { Pipeline, Step, ViewSpec } from './data/pipeline';
export * as augment from './data/augment';
export * as presets from './data/presets';
export { openDataset } from './data/open';
export type { OpenDatasetOptions } from './data/open';
export { SslMethod } from './ssl/method';
export type { StepContext, StepResult } from './ssl/method';
export {
  mixBatch,
  mixWithParams,
  drawMixParams,
  drawIfEnabled,
  randBbox,
  boxLam,
  reverseBatch,
  unmixLoss,
  unmixStep,
  checkUnmixOptions,
  UNMIX_DEFAULTS,
} from './ssl/unmix';
export type { UnmixOptions, Mixture, MixParams, Box } from './ssl/unmix';
export { mocoHead, simclrProjector, byolHead, swavProjection } from './ssl/heads';
export { initMomentum, momentumUpdate } from './ssl/momentum';
export type { MomentumPairs } from './ssl/momentum';
export { infoNce, swappedPrediction, ntXentGathered, crossViewInfoNceGathered } from './ssl/losses';
export { configure, deepMerge } from './ssl/config';
export type { DeepPartial } from './ssl/config';
export { checkTwoViews } from './ssl/views';
export {
  SwAV,
  SWAV_PRESETS,
  SWAV_CIFAR,
  SWAV_IMAGENET,
  SWAV_CIFAR_RECIPE,
  SWAV_IMAGENET_RECIPE,
  effectiveQueueLength,
  drawSwavMixChoices,
} from './ssl/swav';
export type { SwavOptions, SwavConfig, SwavVariant, SwavMixChoices, SwavRecipe } from './ssl/swav';
export { sinkhornOld, sinkhornNew, swavCodes, shootInfs, sinkhornOverRanks } from './ssl/sinkhorn';
export type { SinkhornOptions, CodesOptions } from './ssl/sinkhorn';
export { BYOL, BYOL_PRESETS, BYOL_CIFAR, BYOL_CIFAR_RECIPE, byolLoss } from './ssl/byol';
export type { ByolOptions, ByolConfig, ByolPreset, LarsRecipe } from './ssl/byol';
export { SimCLR, SIMCLR_PRESETS, SIMCLR_CIFAR, SIMCLR_CIFAR_RECIPE, ntXent, crossViewInfoNce } from './ssl/simclr';
export type { SimclrOptions, SimclrConfig, SimclrPreset } from './ssl/simclr';
export { linearProbe } from './eval/linear';
export type { LinearProbeOptions, LinearProbeResult } from './eval/linear';
export { Trainer, train } from './train/trainer';
export type { TrainerOptions, TrainResult, EpochRecord } from './train/trainer';
export { openImageFolder, loadImageFolder, scanImageFolder } from './data/image-folder';
export type { ImageFolder, ImageFolderSplit, ImageFolderTensorSet, LoadImageFolderOptions } from './data/image-folder';
export { readSourceTree } from './data/sources';
export type { SourceTree } from './data/sources';
export { decodeRgb, decodeImageSet, ImageSizeError } from './data/decode';
export type { DecodeOptions, DecodedImage, SkippedImage } from './data/decode';
export { DatasetBudgetError, memoryBudget, defaultMemoryBudget } from './data/budget';
export { defaultCacheDir, cacheFile, readTensorCache, writeTensorCache, cachedTensorSet } from './data/cache';
export type { CacheStatus, CacheKey } from './data/cache';
export { subsetImageSet, subsetIndices } from './data/subset';
export type { SubsetOptions } from './data/subset';
export { describeDataset } from './data/describe';
export { formatDescription } from './cli/dataset';
export type { DatasetDescription, SplitDescription, DescribeDetails, DescribeOptions } from './data/describe';
export { syntheticDataset, SYNTHETIC_CLASSES } from './data/synthetic';
export type { SyntheticOptions, SyntheticSet } from './data/synthetic';
export { downloadFile, downloadCifar, CIFAR_ARCHIVES } from './data/download';
export { progressReporter } from './cli/download';
export type { DownloadOptions, DownloadProgress, CifarDownloadOptions } from './data/download';
export { MoCo, MoCoEncoder, MOCO_PRESETS, fromReferenceStateDict } from './ssl/moco';
export type { MoCoOptions, MoCoConfig, MoCoPreset, MoCoArch, MoCoChoices } from './ssl/moco';
export { readMoCoDraws, readSwavDraws, DRAWS_FORMAT } from './ssl/draws';
export type { MoCoDrawsExpectation, SwavDrawsExpectation } from './ssl/draws';
export { buildFeatureBank, knnScores, knnPredict, knnAccuracy } from './eval/knn';
export type { FeatureBank, KnnOptions, KnnAccuracy, LabelledBatch, Batches, Embed } from './eval/knn';
export { imageGrid, gridPixels, normalizationOf, denormalize } from './viz/grid';
export type { Picture, Normalization, GridOptions, Rgb } from './viz/grid';
export { curvesChart, curvesSpec, lineChart, lineChartSpec, readRun } from './viz/charts';
export type { Run, Series } from './viz/charts';
export { vegaLitePng, vegaLiteSvg } from './viz/render';
export { unmixPicture } from './viz/unmix-picture';
export type { UnmixPicture, UnmixPictureOptions } from './viz/unmix-picture';
export { neighbourGrid } from './viz/neighbours';
export type { NeighbourGrid, NeighbourGridOptions } from './viz/neighbours';
export { show, liveView } from './viz/notebook';
export { SummaryWriter } from './tensorboard/writer';
export type { PngImage } from './tensorboard/writer';
// torch.nn / torch.optim pieces, module printing
export { Dropout, MaxPool2d, AvgPool2d, LayerNorm, GELU, Embedding } from './nn/layers-extra';
export { clipGradNorm } from './nn/clip';
export type { ModuleJSON } from './nn/module';
export { Adam, AdamW } from './optim/adam';
export type { AdamOptions, AdamParamGroup } from './optim/adam';
export type { OptimizerStateDict, ParamState } from './optim/state';
export { LRScheduler, StepLR, MultiStepLR, CosineAnnealingLR, LambdaLR } from './optim/lr-scheduler';
export type { HasParamGroups } from './optim/lr-scheduler';
export type { TorchSaveValue } from './io/torch-save';
export * as distributed from './distributed';
// Runs from their records, BYOL/SimCLR training runs, up-front flag checks, run data (issue 14)
export { rebuildTrained } from './train/rebuild';
export type { RebuiltRun } from './train/rebuild';
export { methodFromArgs, buildMoCoCifar, buildMoCoImagenet, buildSwav, buildSolo, REBUILDABLE } from './train/methods';
export type { RunRanks } from './train/methods';
export type { MoCoCifarArgs, MoCoImagenetArgs, SwavArgs, SoloArgs } from './train/methods';
export { trainSolo, checkSoloFlags } from './train/solo';
export type { SoloRunOptions } from './train/solo';
export { checkMoCoFlags, checkDataFlags } from './train/check-flags';
export { openRunData, resolveNormalization, evalPipelineFor, parseRgb } from './data/run-data';
export type { RunData, RunDataOptions } from './data/run-data';
export { channelStats } from './data/stats';
export { knnMonitor } from './eval/monitor';
export type { KnnMonitorOptions } from './eval/monitor';
// The examples' recipes (issue 15): MoCo's and SwAV's optimizers and schedules, cached probe features
export { mocoLr, swavOptimizer } from './train/recipes';
export type { MoCoLrOptions, SwavOptimizerOptions } from './train/recipes';
export { cacheFeatures, featureBatches } from './eval/linear';
export type { CachedFeatures } from './eval/linear';
