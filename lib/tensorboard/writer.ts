// SummaryWriter: scalars and images into a TensorBoard event file, as torch.utils.tensorboard names
// them (addScalar, addImage). Records are buffered and appended on flush(), at most every 64 KiB.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { encodeEvent, EventFields, tfRecord } from './events';
import * as is from '../validate';

const FLUSH_BYTES = 64 * 1024;
let fileCounter = 0;

export interface PngImage {
  png: Buffer;
  width: number;
  height: number;
}

export class SummaryWriter {
  /** the event file this writer appends to */
  readonly file: string;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private closed = false;

  constructor(readonly logDir: string) {
    is.nonEmptyString('SummaryWriter', 'logDir', logDir);
    fs.mkdirSync(logDir, { recursive: true });
    // TensorBoard reads every events.out.tfevents.* file of a folder; pid and counter keep names unique.
    const name = `events.out.tfevents.${Math.floor(Date.now() / 1000)}.${os.hostname()}.${process.pid}.${fileCounter++}`;
    this.file = path.join(logDir, name);
    fs.writeFileSync(
      this.file,
      tfRecord(encodeEvent({ wall_time: Date.now() / 1000, step: 0, file_version: 'brain.Event:2' })),
    );
  }

  addScalar(tag: string, value: number, step: number, wallTime = Date.now() / 1000): void {
    checkTag(tag);
    if (typeof value !== 'number')
      throw new TypeError(`SummaryWriter: value of ${tag} must be a number, got ${typeof value}`);
    this.add({ wall_time: wallTime, step: checkStep(step), summary: { value: [{ tag, simple_value: value }] } });
  }

  /** A PNG image (for example from imageGrid). */
  addImage(tag: string, image: PngImage, step: number, wallTime = Date.now() / 1000): void {
    checkTag(tag);
    if (!Buffer.isBuffer(image?.png))
      throw new TypeError(`SummaryWriter: the image of ${tag} must be {png, width, height}, got ${typeof image}`);
    const value = {
      tag,
      image: { height: image.height, width: image.width, colorspace: 3, encoded_image_string: image.png },
    };
    this.add({ wall_time: wallTime, step: checkStep(step), summary: { value: [value] } });
  }

  /** Appends what is buffered to the file. */
  flush(): void {
    if (!this.pending.length) return;
    fs.appendFileSync(this.file, Buffer.concat(this.pending));
    this.pending = [];
    this.pendingBytes = 0;
  }

  close(): void {
    this.flush();
    this.closed = true;
  }

  private add(event: EventFields): void {
    if (this.closed) throw new Error(`SummaryWriter: ${this.file} is closed`);
    const record = tfRecord(encodeEvent(event));
    this.pending.push(record);
    this.pendingBytes += record.length;
    if (this.pendingBytes >= FLUSH_BYTES) this.flush();
  }
}

function checkTag(tag: string): void {
  is.nonEmptyString('SummaryWriter', 'tag', tag);
}

function checkStep(step: number): number {
  if (!Number.isSafeInteger(step) || step < 0)
    throw new RangeError(`SummaryWriter: step must be a non-negative integer, got ${step}`);
  return step;
}
