// The training loop every method shares: epochs of (schedule → method step → backward → optimizer),
// a progress bar, per-epoch logs as the reference writes them (log.csv) plus JSONL, args.json, an atomic
// checkpoint every epoch, exact resume, a clear stop on a NaN/infinite loss, and Ctrl-C that saves
// (at the batch it stopped at) and returns cleanly; an AbortSignal (`signal`) does the same where Ctrl-C
// cannot reach the loop (a REPL takes the key). curves.png and TensorBoard files: run-pictures.ts.
//
// Everything random in a step comes from Rng.derive(seed, STEP_STREAM, iteration) and the loader's
// own (seed, epoch, batch) streams, so a resumed run replays exactly what the straight run would have.
//
// Under N ranks (a process group of more than one, ranks.ts): gradients are averaged by
// DistributedDataParallel, the loader serves each rank its shard, the logged numbers are sums over
// the ranks, and only rank 0 touches the results folder (lock, logs, args, checkpoints, pictures) and
// shows progress; the others read rank 0's checkpoint when it resumes.
import * as fs from 'fs';
import * as path from 'path';
import { loadCheckpoint, saveCheckpoint } from '../io/checkpoint';
import { inspectSafetensors, writeFileAtomic } from '../io/safetensors';
import { scope } from '../memory';
import { LARC } from '../optim/larc';
import { SGD } from '../optim/sgd';
import { Rng } from '../rng';
import { Loader } from '../data/loader';
import { SslMethod, StepContext } from '../ssl/method';
import { normalizationOf } from '../viz/grid';
import { Progress } from './progress';
import { makeDir } from '../io/files';
import { changedArgs, existingRunFiles, lockRunFolder, removeStaleTemporaries, RESUMABLE_ARGS } from './run-folder';
import { RunPictures } from './run-pictures';
import { TrainerRanks, trainingGroup } from './ranks';
import type { DdpOptions, DistributedDataParallel } from '../distributed/ddp';
import type { ProcessGroup } from '../distributed/group';
import * as is from '../validate';

export type Optimizer = SGD | LARC;

export interface EpochRecord {
  epoch: number;
  /** mean training loss of the epoch; null for epoch 0 (the evaluation before training) */
  train_loss: number | null;
  'test_acc@1': number | null;
  lr: number;
  seconds: number;
  images_per_s: number;
  /** mean of each logged term over the epoch */
  terms: Record<string, number>;
}

export interface TrainerOptions {
  method: SslMethod;
  loader: Loader;
  optimizer: Optimizer;
  /** the learning rate for a step (epoch and iteration are 0-based) */
  lr: (at: { epoch: number; iteration: number; itersPerEpoch: number }) => number;
  epochs: number;
  resultsDir: string;
  seed?: number;
  /** run after every epoch (e.g. the kNN monitor); its number is the log's test_acc@1 (under N ranks: run on every rank, rank 0's logged) */
  evaluate?: (epoch: number) => Promise<number>;
  /** evaluate every N epochs (and after the last; 0: after the last only); default 1 */
  evaluateEvery?: number;
  /** also evaluate before the first step (the random-initialisation baseline; log.jsonl epoch 0) */
  evaluateFirst?: boolean;
  /** written to args.json */
  args?: Record<string, unknown>;
  /** true: continue from resultsDir/checkpoint.safetensors when it exists; a path: from that file */
  resume?: boolean | string;
  /** replace a run already in resultsDir (without it, or resume, such a folder is refused) */
  overwrite?: boolean;
  /** stop each epoch after this many iterations (smoke runs) */
  itersPerEpoch?: number;
  /**
   * the views are cast to this dtype before each step (default float32, as the loader makes them): 'float64'
   * for a method moved to float64, as a PyTorch loop calls x.double()
   */
  inputDtype?: 'float32' | 'float64';
  /** also save a checkpoint every N iterations (besides every epoch) */
  saveEvery?: number;
  /**
   * progress on stderr: 'auto' draws a bar on a terminal (not in CI or a REPL), true also writes one line
   * per epoch where no bar can be drawn (a pipe, a REPL), false nothing; the bar is cleared at each epoch's end
   */
  progress?: boolean | 'auto';
  /**
   * stops the run at the next step boundary (or right after an evaluation in progress): a checkpoint is
   * saved and the promise resolves with `interrupted: true, stoppedBy: 'signal'` (resume continues there).
   * A signal already aborted when the run starts rejects at once, before anything is read or written.
   */
  signal?: AbortSignal;
  /** where summary lines go (default console.log) */
  log?: (line: string) => void;
  /** redraw resultsDir/curves.png (loss, kNN accuracy, lr) after each epoch (default true) */
  curves?: boolean;
  /** write TensorBoard event files: true for resultsDir/tensorboard, or a folder (default off) */
  tensorboard?: boolean | string;
  /** called after each epoch's logs are written (e.g. to redraw a notebook's plot); on every rank */
  onEpoch?: (record: EpochRecord, history: EpochRecord[]) => void | Promise<void>;
  /**
   * train data-parallel over this group (DistributedDataParallel, the loader sharded, only rank 0 writes
   * and logs); default: the default process group when it has more than one rank; false: this process alone
   */
  group?: ProcessGroup | false;
  /** DistributedDataParallel's options under N ranks (bucket sizes, buffer broadcast) */
  ddp?: Omit<DdpOptions, 'group'>;
}

export interface TrainResult {
  history: EpochRecord[];
  /** true when stopped by Ctrl-C (SIGINT), the signal or stop(), after saving */
  interrupted: boolean;
  /** what stopped an interrupted run */
  stoppedBy?: 'sigint' | 'signal' | 'stop';
  checkpoint: string;
}

const STEP_STREAM = 0x57e9;

interface Position {
  /** epochs fully done */
  epoch: number;
  /** batches done in the current epoch */
  batch: number;
  iteration: number;
  lossSum: number;
  lossCount: number;
  termSums: Record<string, number>;
  epochSeconds: number;
}

export class Trainer {
  private stopRequested: TrainResult['stoppedBy'] | null = null;
  private pictures!: RunPictures;
  readonly checkpointPath: string;
  private readonly log: (line: string) => void;
  /** the ranks' coordination, or null for one process */
  private readonly ranks: TrainerRanks | null;
  /** whether this process writes the results folder (rank 0, or the only one) */
  private readonly writes: boolean;
  private ddp: DistributedDataParallel | null = null;
  /** under N ranks, a stop every rank agreed on (a rank's own request waits for the next agreement) */
  private stopAgreed = false;

  constructor(readonly options: TrainerOptions) {
    is.positiveInt('Trainer', 'epochs', options.epochs);
    is.nonEmptyString('Trainer', 'resultsDir', options.resultsDir);
    if (options.seed !== undefined) is.integer('Trainer', 'seed', options.seed);
    if (options.itersPerEpoch !== undefined) is.positiveInt('Trainer', 'itersPerEpoch', options.itersPerEpoch); // 0 would train nothing
    if (options.inputDtype !== undefined) is.oneOf('Trainer', 'inputDtype', options.inputDtype, ['float32', 'float64']);
    if (options.evaluateEvery !== undefined) is.nonNegativeInt('Trainer', 'evaluateEvery', options.evaluateEvery); // 0: after the last epoch only
    if (options.saveEvery !== undefined) is.nonNegativeInt('Trainer', 'saveEvery', options.saveEvery); // 0: off
    const tb = options.tensorboard;
    if (!(tb === undefined || typeof tb === 'boolean' || (typeof tb === 'string' && tb)))
      throw new TypeError(`Trainer: tensorboard must be a boolean or a folder, got ${JSON.stringify(tb)}`);
    const signal = options.signal;
    if (
      signal !== undefined &&
      !(
        typeof signal === 'object' &&
        signal !== null &&
        typeof signal.aborted === 'boolean' &&
        typeof signal.addEventListener === 'function'
      )
    ) {
      throw new TypeError(
        `Trainer: signal must be an AbortSignal (new AbortController().signal), got ${signal === null ? 'null' : typeof signal}`,
      );
    }
    if (options.group !== undefined && options.group !== false && typeof options.group?.allReduce !== 'function')
      throw new TypeError(`Trainer: group must be a ProcessGroup or false, got ${is.shown(options.group)}`);
    const group = trainingGroup(options.group);
    this.ranks = group ? new TrainerRanks(group) : null;
    this.ranks?.checkLoader(options.loader);
    this.writes = !this.ranks || this.ranks.rank === 0;
    this.checkpointPath = path.join(options.resultsDir, 'checkpoint.safetensors');
    // the other ranks' lines would repeat rank 0's
    this.log = this.writes ? (options.log ?? ((line) => console.log(line))) : () => undefined;
  }

  /** The ranks trained over (1 for a single process). */
  get worldSize(): number {
    return this.ranks?.group.worldSize ?? 1;
  }

  /** Asks the loop to save and return after the current step (what Ctrl-C does). */
  stop(): void {
    this.stopRequested ??= 'stop';
  }

  get itersPerEpoch(): number {
    return Math.min(this.options.loader.length, this.options.itersPerEpoch ?? Infinity);
  }

  async run(): Promise<TrainResult> {
    if (this.options.signal?.aborted)
      throw new Error(
        `Trainer: the signal was aborted before the run started (${describeReason(this.options.signal.reason)}); nothing was read or written`,
      );
    if (!this.writes) return this.runLocked();
    makeDir(this.options.resultsDir, 'Trainer: resultsDir');
    const unlock = lockRunFolder(this.options.resultsDir, this.log);
    try {
      return await this.runLocked();
    } finally {
      unlock();
    }
  }

  private async runLocked(): Promise<TrainResult> {
    const o = this.options;
    let started: { position: Position; history: EpochRecord[] } | null = null;
    let failure: unknown = null;
    try {
      if (this.writes) started = this.prepareFolder();
    } catch (e) {
      failure = e;
    }
    if (this.ranks) started = await this.startTogether(started, failure);
    else if (failure) throw failure;
    const history: EpochRecord[] = started?.history ?? [];
    const pos: Position = started?.position ?? {
      epoch: 0,
      batch: 0,
      iteration: 0,
      lossSum: 0,
      lossCount: 0,
      termSums: {},
      epochSeconds: 0,
    };
    if (this.writes)
      writeText(
        path.join(o.resultsDir, 'args.json'),
        JSON.stringify({ ...o.args, seed: o.seed ?? 0, method: o.method.name }, null, 2) + '\n',
      );
    const tensorboardDir = o.tensorboard === true ? path.join(o.resultsDir, 'tensorboard') : o.tensorboard || null;
    this.pictures = new RunPictures({
      resultsDir: o.resultsDir,
      curves: this.writes && (o.curves ?? true),
      tensorboardDir: this.writes ? tensorboardDir : null,
      seed: o.seed ?? 0,
      warn: this.log,
    });
    // after any resume, so every rank starts from rank 0's weights and buffers
    this.ddp = this.ranks ? await this.ranks.ddp(o.method, o.ddp) : null;
    return this.loop(pos, history);
  }

  /**
   * Under N ranks, rank 0 has checked the folder and maybe resumed; the others learn what it did (and
   * resume from the same file), and if any rank failed, every rank throws before a step.
   */
  private async startTogether(
    started: { position: Position; history: EpochRecord[] } | null,
    failure: unknown,
  ): Promise<{ position: Position; history: EpochRecord[] } | null> {
    const ranks = this.ranks!;
    const decision = await ranks.fromRankZero(failure ? 0 : started ? 2 : 1);
    if (ranks.rank > 0 && decision === 0)
      failure = new Error(`Trainer (${ranks.where}): rank 0 could not start the run (its error says why)`);
    else if (ranks.rank > 0 && decision === 2) {
      const file = typeof this.options.resume === 'string' ? this.options.resume : this.checkpointPath;
      try {
        started = this.restore(file);
      } catch (e) {
        failure = new Error(
          `Trainer (${ranks.where}): cannot resume from rank 0's checkpoint: ${(e as Error).message}`,
        );
      }
    }
    const anyFailed = (await ranks.sum([failure ? 1 : 0]))[0] > 0;
    if (failure) throw failure;
    if (anyFailed)
      throw new Error(`Trainer (${ranks.where}): another rank could not start the run (its error says why)`);
    return started;
  }

  /** Checks the results folder and resumes when asked: the run's position and history, or null for a fresh start. */
  private prepareFolder(): { position: Position; history: EpochRecord[] } | null {
    const o = this.options;
    removeStaleTemporaries(o.resultsDir);
    const existing = existingRunFiles(o.resultsDir);
    if (existing.length && !o.resume) {
      if (!o.overwrite) {
        throw new Error(
          `Trainer: ${o.resultsDir} already holds a run (${existing.join(', ')}): continue it with --resume, or replace it with --overwrite`,
        );
      }
      for (const f of existing) fs.rmSync(path.join(o.resultsDir, f), { force: true });
    }
    const resumeFrom =
      typeof o.resume === 'string'
        ? o.resume
        : o.resume && fs.existsSync(this.checkpointPath)
          ? this.checkpointPath
          : null;
    if (resumeFrom) {
      const restored = this.restore(resumeFrom);
      const pos = restored.position;
      this.log(`resumed from ${resumeFrom}: epoch ${pos.epoch + 1}, batch ${pos.batch} of ${this.itersPerEpoch}`);
      // The checkpoint is the record: logs written after it (a kill between the two) are rewritten.
      if (restored.history.length) this.writeLogs(restored.history);
      return restored;
    } else if (o.resume && existing.length) {
      this.log(`no checkpoint in ${o.resultsDir} to resume from: starting from epoch 1 (the logs there are replaced)`);
      for (const f of existing) fs.rmSync(path.join(o.resultsDir, f), { force: true });
    }
    return null;
  }

  private async loop(pos: Position, history: EpochRecord[]): Promise<TrainResult> {
    const o = this.options;
    const onSigint = () => {
      if (this.stopRequested) return;
      this.stopRequested = 'sigint';
      this.log('\ninterrupted: saving a checkpoint at the end of this step (Ctrl-C again to wait)');
    };
    const onAbort = () => {
      if (this.stopRequested) return;
      this.stopRequested = 'signal';
      this.log('stopping (signal aborted): saving a checkpoint at the end of this step');
    };
    process.on('SIGINT', onSigint);
    o.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      if (o.evaluate && o.evaluateFirst && pos.iteration === 0 && history.length === 0) {
        const { acc, error } = await this.evaluate(0);
        if (error) throw error;
        const record: EpochRecord = {
          epoch: 0,
          train_loss: null,
          'test_acc@1': acc,
          lr: 0,
          seconds: 0,
          images_per_s: 0,
          terms: {},
        };
        history.push(record);
        this.log(`epoch 0 (before training): test acc@1 ${acc.toFixed(2)}%`);
        this.pictures.epoch(record, history);
      }
      while (pos.epoch < o.epochs) {
        const done = await this.runEpoch(pos, history);
        if (!done) {
          this.save(pos, history);
          this.log(`saved ${this.checkpointPath} at epoch ${pos.epoch + 1}, batch ${pos.batch}; continue with resume`);
          return {
            history,
            interrupted: true,
            stoppedBy: this.stopRequested ?? 'stop',
            checkpoint: this.checkpointPath,
          };
        }
      }
      return { history, interrupted: false, checkpoint: this.checkpointPath };
    } finally {
      process.off('SIGINT', onSigint);
      o.signal?.removeEventListener('abort', onAbort);
      await this.pictures.close();
    }
  }

  /** One epoch from pos.batch; returns false when stopped early (pos then points at the next batch). */
  private async runEpoch(pos: Position, history: EpochRecord[]): Promise<boolean> {
    const o = this.options;
    const iters = this.itersPerEpoch;
    const seed = o.seed ?? 0;
    o.method.train();
    const progress = new Progress({
      enabled: this.writes ? (o.progress ?? 'auto') : false,
      total: iters,
      epoch: pos.epoch + 1,
      epochs: o.epochs,
    });
    progress.start(pos.batch);
    let lr = 0;
    let start = performance.now();
    let imagesThisRun = 0;
    try {
      for await (const batch of o.loader.epoch(pos.epoch, { startBatch: pos.batch })) {
        if (batch.index >= iters) {
          batch.dispose();
          break;
        }
        if (this.ranks ? this.stopAgreed : this.stopRequested) {
          // asked to stop while the last epoch was being evaluated: stop before this step
          batch.dispose();
          return false;
        }
        const ctx: StepContext = {
          iteration: pos.iteration,
          epoch: pos.epoch,
          itersPerEpoch: iters,
          totalEpochs: o.epochs,
          rng: Rng.derive(seed, STEP_STREAM, pos.iteration),
        };
        lr = o.lr({ epoch: pos.epoch, iteration: pos.iteration, itersPerEpoch: iters });
        for (const group of o.optimizer.paramGroups) group.lr = lr;
        if (pos.iteration === 0)
          await this.pictures.firstBatch(batch.views, o.method, normalizationOf(o.loader.viewSpecs[0].pipeline), 0);
        let result: { loss: number; logs: Record<string, number> };
        try {
          result = await scope(async () => {
            const views = o.inputDtype === 'float64' ? batch.views.map((v) => v.to('float64')) : batch.views;
            const { loss, logs } = o.method.trainingStep(views, ctx);
            (o.optimizer instanceof LARC ? o.optimizer.optimizer : o.optimizer).zeroGrad();
            loss.backward();
            // every rank's gradients averaged before anything reads them
            if (this.ddp) await this.ddp.synchronize();
            o.method.beforeOptimizerStep(ctx);
            o.optimizer.step();
            o.method.afterOptimizerStep(ctx);
            return { loss: loss.item() as number, logs };
          });
        } finally {
          batch.dispose();
        }
        let n = batch.indices.length;
        let agreedStop = false;
        if (this.ranks) {
          // the numbers of all ranks' images (a NaN on any rank stops all), and a stop any rank asked for
          const all = await this.ranks.step(result.loss, n, result.logs, this.stopRequested !== null);
          result = { loss: all.loss, logs: all.logs };
          n = all.images;
          agreedStop = all.stop;
        }
        if (!Number.isFinite(result.loss)) {
          throw new Error(
            `training stopped: the loss is ${result.loss} at epoch ${pos.epoch + 1}, iteration ${pos.iteration} (lr ${lr}). ` +
              `The last good checkpoint is ${fs.existsSync(this.checkpointPath) ? this.checkpointPath : '(none yet)'}; lower the learning rate or check the data.`,
          );
        }
        this.pictures.step(pos.iteration, result.loss, lr, result.logs);
        pos.lossSum += result.loss * n;
        pos.lossCount += n;
        for (const [k, v] of Object.entries(result.logs)) pos.termSums[k] = (pos.termSums[k] ?? 0) + v * n;
        pos.batch++;
        pos.iteration++;
        imagesThisRun += n;
        const seconds = (performance.now() - start) / 1000;
        progress.update(pos.batch, { loss: pos.lossSum / pos.lossCount, lr, imagesPerSecond: imagesThisRun / seconds });
        if (o.saveEvery && pos.iteration % o.saveEvery === 0 && pos.batch < iters) this.save(pos, history);
        // A macrotask turn each step: lets Ctrl-C be noticed and N-API finalizers run.
        await new Promise((resolve) => setImmediate(resolve));
        if (this.ranks ? agreedStop : this.stopRequested) {
          this.stopAgreed = agreedStop;
          this.stopRequested ??= 'stop';
          pos.epochSeconds += (performance.now() - start) / 1000;
          return false;
        }
      }
    } finally {
      progress.stop();
    }
    pos.epochSeconds += (performance.now() - start) / 1000;
    const epochNumber = pos.epoch + 1;
    const every = o.evaluateEvery ?? 1;
    let acc: number | null = null;
    if (o.evaluate && (epochNumber % every === 0 || epochNumber === o.epochs)) {
      const evaluated = await this.evaluate(epochNumber);
      if (evaluated.error) {
        // the epoch's steps are kept: resume restarts at its end and evaluates again
        this.save(pos, history);
        throw new Error(
          `${evaluated.error.message} (evaluating after epoch ${epochNumber}; its training is saved in ${this.checkpointPath}: resume re-runs only the evaluation)`,
        );
      }
      acc = evaluated.acc;
    }
    const record: EpochRecord = {
      epoch: epochNumber,
      train_loss: pos.lossSum / Math.max(1, pos.lossCount),
      'test_acc@1': acc,
      lr,
      seconds: pos.epochSeconds,
      images_per_s: pos.lossCount / Math.max(1e-9, pos.epochSeconds),
      terms: Object.fromEntries(Object.entries(pos.termSums).map(([k, v]) => [k, v / Math.max(1, pos.lossCount)])),
    };
    history.push(record);
    Object.assign(pos, { epoch: epochNumber, batch: 0, lossSum: 0, lossCount: 0, termSums: {}, epochSeconds: 0 });
    // The checkpoint first: logs never list an epoch that no checkpoint holds.
    this.save(pos, history);
    this.writeLogs(history);
    this.pictures.epoch(record, history);
    this.log(
      `epoch ${epochNumber}/${o.epochs}: loss ${(record.train_loss ?? NaN).toFixed(4)}` +
        (acc !== null ? `, test acc@1 ${acc.toFixed(2)}%` : '') +
        `, lr ${lr.toPrecision(4)}, ${record.images_per_s.toFixed(0)} images/s, ${record.seconds.toFixed(1)} s`,
    );
    await o.onEpoch?.(record, history);
    start = performance.now();
    return true;
  }

  /**
   * The evaluate hook (on every rank: it may share its work out itself); under N ranks rank 0's number
   * is everyone's, a failure on any rank fails all, and a stop asked for meanwhile is agreed on.
   */
  private async evaluate(epoch: number): Promise<{ acc: number; error: Error | null }> {
    let acc: number | null = null;
    let error: Error | null = null;
    try {
      acc = await this.options.evaluate!(epoch);
    } catch (e) {
      error = e as Error;
    }
    if (!this.ranks) return { acc: acc!, error };
    const all = await this.ranks.evaluation(acc, error !== null, this.stopRequested !== null);
    if (all.stop) this.stopAgreed = true;
    if (all.failed && !error) error = new Error(`Trainer (${this.ranks.where}): the evaluation failed on another rank`);
    return { acc: all.acc, error };
  }

  /** log.csv exactly as the reference's pandas writes it, and log.jsonl with everything. */
  private writeLogs(history: EpochRecord[]): void {
    if (!this.writes) return;
    const dir = this.options.resultsDir;
    const csv =
      [
        'epoch,train_loss,test_acc@1',
        ...history.filter((r) => r.epoch > 0).map((r) => `${r.epoch},${r.train_loss ?? ''},${r['test_acc@1'] ?? ''}`),
      ].join('\n') + '\n';
    writeText(path.join(dir, 'log.csv'), csv);
    writeText(path.join(dir, 'log.jsonl'), history.map((r) => JSON.stringify(r)).join('\n') + '\n');
  }

  private save(pos: Position, history: EpochRecord[]): void {
    if (!this.writes) return;
    const o = this.options;
    scope(() =>
      saveCheckpoint(this.checkpointPath, {
        modules: { method: o.method },
        optimizers: { optimizer: o.optimizer },
        epoch: pos.epoch,
        step: pos.iteration,
        metadata: {
          position: pos,
          history,
          extraState: o.method.extraState(),
          method: o.method.name,
          batchSize: o.loader.batchSize,
          itersPerEpoch: this.itersPerEpoch,
          seed: o.seed ?? 0,
          args: o.args ?? {},
          ...(this.worldSize > 1 ? { worldSize: this.worldSize } : {}),
        },
        checksum: true,
      }),
    );
  }

  /** args.json of the folder (checkpoints before args were saved in them), without what the trainer adds. */
  private savedArgs(): Record<string, unknown> {
    try {
      const {
        seed: _seed,
        method: _method,
        ...args
      } = JSON.parse(fs.readFileSync(path.join(this.options.resultsDir, 'args.json'), 'utf8'));
      return args;
    } catch {
      return this.options.args ?? {};
    }
  }

  private restore(file: string): { position: Position; history: EpochRecord[] } {
    const o = this.options;
    // Check the run's identity from the header first, so a mismatch changes nothing.
    let info: { metadata?: TrainerMetadata };
    try {
      info = JSON.parse(inspectSafetensors(file).metadata.unmix ?? '{}');
    } catch (e) {
      throw new Error(`${file}: cannot resume: ${(e as Error).message}`);
    }
    const m = info.metadata;
    if (!m?.position) throw new Error(`${file}: not a checkpoint written by the trainer (no training position)`);
    const mismatch = [
      m.method !== o.method.name && `method ${m.method} vs ${o.method.name}`,
      m.batchSize !== o.loader.batchSize && `batch size ${m.batchSize} vs ${o.loader.batchSize}`,
      m.itersPerEpoch !== this.itersPerEpoch && `iterations per epoch ${m.itersPerEpoch} vs ${this.itersPerEpoch}`,
      m.seed !== (o.seed ?? 0) && `seed ${m.seed} vs ${o.seed ?? 0}`,
      (m.worldSize ?? 1) !== this.worldSize && `ranks ${m.worldSize ?? 1} vs ${this.worldSize}`,
    ].filter(Boolean);
    if (mismatch.length) throw new Error(`${file}: cannot resume a different run (${mismatch.join('; ')})`);
    const changed = changedArgs(m.args ?? this.savedArgs(), o.args ?? {});
    if (changed.length) {
      throw new Error(
        `${file}: cannot resume with changed training flags (${changed.join('; ')}); only ${RESUMABLE_ARGS.join(', ')} may change on resume: ` +
          "give the run's flags again, or start a new run in another results folder",
      );
    }
    loadCheckpoint(file, { modules: { method: o.method }, optimizers: { optimizer: o.optimizer } });
    o.method.loadExtraState(m.extraState ?? {});
    // epoch 0's loss was NaN before it was typed null (JSON writes NaN as null): one spelling
    const history = (m.history ?? []).map((r) => (r.epoch === 0 ? { ...r, train_loss: null } : r));
    return { position: m.position, history };
  }
}

interface TrainerMetadata {
  args?: Record<string, unknown>;
  position: Position;
  history: EpochRecord[];
  extraState: Record<string, unknown>;
  method: string;
  batchSize: number;
  itersPerEpoch: number;
  seed: number;
  /** the ranks it was trained over, when more than one */
  worldSize?: number;
}

function describeReason(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason);
}

function writeText(file: string, text: string): void {
  writeFileAtomic(file, [Buffer.from(text, 'utf8')]);
}

/** Trains with `options`; see Trainer. */
export async function train(options: TrainerOptions): Promise<TrainResult> {
  return new Trainer(options).run();
}
