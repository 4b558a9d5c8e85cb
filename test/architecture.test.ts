// docs/ARCHITECTURE.md stays true: its picture of the layers is the rule for lib/'s imports (a
// layer uses only its own and lower ones), every lib/ file has a row, and the examples use only the
// public surface.
import * as fs from 'fs';
import * as path from 'path';

const root = path.join(__dirname, '..');
const doc = fs.readFileSync(path.join(root, 'docs', 'ARCHITECTURE.md'), 'utf8');

function files(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory() ? files(path.join(dir, e.name)) : /\.(ts|mjs)$/.test(e.name) ? [path.join(dir, e.name)] : [],
    );
}
const libFiles = files(path.join(root, 'lib')).map((f) => path.relative(path.join(root, 'lib'), f));

/** The lib/ groups of each layer, bottom first, as the picture names them. */
function layersOfPicture(): string[][] {
  const picture = /## The layers[\s\S]*?```\n([\s\S]*?)```/.exec(doc)![1];
  const names = ['binding', 'core', 'blocks', 'methods', 'runs', 'surface'];
  const layers = new Map<string, string[]>();
  for (const line of picture.split('\n')) {
    const [layer, groups] = line.trim().split(/\s{3,}/);
    if (names.includes(layer)) layers.set(layer, groups.split(/\s+/));
  }
  expect([...layers.keys()].sort()).toEqual([...names].sort());
  return names.map((n) => layers.get(n)!);
}

/** A lib/ file's group: its folder, or its name for a top-level file. */
const groupOf = (rel: string) => (rel.includes('/') ? rel.split('/')[0] : rel.replace(/\.(ts|mjs)$/, ''));

test('every lib/ group is in exactly one layer of the picture', () => {
  const placed = layersOfPicture().flat();
  expect(placed.length).toBe(new Set(placed).size);
  expect([...new Set(libFiles.map(groupOf))].sort()).toEqual([...placed].sort());
});

test("lib/'s imports go to the same or a lower layer", () => {
  const layers = layersOfPicture();
  const level = new Map(layers.flatMap((groups, i) => groups.map((g) => [g, i] as const)));
  const upward: string[] = [];
  for (const rel of libFiles) {
    const source = fs.readFileSync(path.join(root, 'lib', rel), 'utf8');
    for (const [, spec] of source.matchAll(/(?:from|import\()\s*'(\.[^']*)'/g)) {
      const target = path.relative(
        path.join(root, 'lib'),
        path.resolve(path.join(root, 'lib', path.dirname(rel)), spec),
      );
      const to = groupOf(target === '' ? 'index' : target);
      const [a, b] = [level.get(groupOf(rel)), level.get(to)];
      expect(b).toBeDefined();
      if (b! > a!) upward.push(`lib/${rel} (${layers[a!].join(' ')}) imports ${spec} (${to}, a higher layer)`);
    }
  }
  expect(upward).toEqual([]);
});

test('every lib/ and native/ file has a row in docs/ARCHITECTURE.md', () => {
  const rows = doc.split('\n').filter((l) => l.startsWith('| `'));
  const described = (rel: string) => {
    if (doc.includes(`\`${rel}\``) || rows.some((r) => r.split('|')[1].includes(`\`${rel}\``))) return true;
    // a row for a folder (`dir/` or `dir/*.ts`) that names the file
    const dir = path.dirname(rel);
    const base = path.basename(rel).replace(/\.(ts|mjs)$/, '');
    return rows.some((r) => {
      const [, first, rest] = r.split('|');
      return (
        (first.includes(`\`${dir}/\``) || first.includes(`\`${dir}/*.ts\``)) &&
        new RegExp(`\\b${base}\\b`).test(first + rest)
      );
    });
  };
  const natives = fs.readdirSync(path.join(root, 'native'));
  expect([...libFiles, ...natives].filter((f) => !described(f))).toEqual([]);
});

test('the examples import only the public surface (lib/index.ts) and each other', () => {
  const deep: string[] = [];
  for (const f of fs.readdirSync(path.join(root, 'examples')).filter((n) => n.endsWith('.ts'))) {
    const source = fs.readFileSync(path.join(root, 'examples', f), 'utf8');
    for (const [, spec] of source.matchAll(/from\s*'(\.[^']*)'/g)) {
      if (spec.startsWith('../') && spec !== '../lib') deep.push(`examples/${f}: ${spec}`);
    }
  }
  expect(deep).toEqual([]);
});
