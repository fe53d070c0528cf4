// npm run build, after tsc: bundles the daemon's modules (dist/netauditd.js and what it imports,
// dbus-next included) into dist/netauditd.cjs, and makes its V8 code cache,
// dist/netauditd.cjs.cache, which dist/main.js runs it with (src/main.ts says why).
//
// The bundle is built from tsc's output, so that it runs the very code the modules are. Each
// module's import.meta.url becomes the URL its own file has in dist/, so that the paths it
// finds from it (worker threads, package.json, createRequire) are the same bundled or not.
// koffi (a native addon) stays in node_modules, and so do dbus-next's optional transports.
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';
import { build } from 'esbuild';

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const outfile = join(dist, 'netauditd.cjs');

const moduleUrls = {
  name: 'module-urls',
  setup(b) {
    b.onLoad({ filter: /\/dist\/.*\.js$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      if (!text.includes('import.meta.url')) return undefined;
      const own = JSON.stringify(relative(dist, args.path));
      return { contents: text.replaceAll('import.meta.url', `new URL(${own}, __netauditdDist).href`), loader: 'js' };
    });
  },
};

await build({
  entryPoints: [join(dist, 'netauditd.js')],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['koffi', 'x11', 'usocket', 'abstract-socket'],
  plugins: [moduleUrls],
  // CommonJS's module wrapper, written out: dist/main.js compiles the file as it is, and the
  // cache below is made from the same text.
  banner: { js: "(function (exports, require, module, __filename, __dirname) {'use strict';\nconst __netauditdDist = require('node:url').pathToFileURL(__dirname + '/').href;" },
  footer: { js: '\n})' },
  // Whitespace and syntax only: names stay, for stack traces. The source stays in memory for
  // V8's lazy compiles, and half the bytes is half the string.
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
});

// The cache holds what V8 compiles eagerly; a V8 of another version rejects it and compiles the source.
const source = await readFile(outfile, 'utf8');
const script = new Script(source, { filename: outfile });
await writeFile(`${outfile}.cache`, script.createCachedData());
