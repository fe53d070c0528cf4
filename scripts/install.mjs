#!/usr/bin/env node
// Installs a built netauditd (npm run build) into the system, or stages it under --destdir for
// the Debian package (debian/rules). One script does both, so that the package and the manual
// install lay out the same files:
//
//   /usr/lib/netauditd/      package.json, dist/ (no maps, no typings), and the production
//                            dependencies from node_modules, koffi with the target's prebuilt only
//   /usr/sbin/netauditd      /usr/bin/netauditctl      small sh wrappers that exec node
//   /usr/share/dbus-1/system.d/org.netaudit1.conf      /usr/share/polkit-1/actions/org.netaudit1.policy
//   /usr/lib/systemd/catalog/netauditd.catalog         /etc/netauditd/netauditd.conf (kept if present)
//   with --system-files also the unit and the man pages, which the package installs with debhelper.
//
// Every file is written under a temporary name with its final mode and renamed into place, so that
// no reader (dbus-daemon's inotify reload above all) ever sees it half-written or unreadable.
// Without --destdir it then makes the bus take the policy up (ReloadConfig) and systemd the unit,
// before anyone starts the service: docs/packaging.md says why both matter.
//
// Usage: node scripts/install.mjs [--destdir DIR] [--system-files] [--arch ARCH] [--no-reload]
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');

function usage(message) {
  process.stderr.write(`install.mjs: ${message}\nUsage: node scripts/install.mjs [--destdir DIR] [--system-files] [--arch ARCH] [--no-reload]\n`);
  process.exit(2);
}

const opts = { destdir: '', systemFiles: false, arch: null, reload: true };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '--destdir') opts.destdir = argv[++i] ?? usage('--destdir needs a directory');
  else if (a === '--system-files') opts.systemFiles = true;
  else if (a === '--arch') opts.arch = argv[++i] ?? usage('--arch needs a Debian architecture');
  else if (a === '--no-reload') opts.reload = false;
  else usage(`unknown argument ${JSON.stringify(a)}`);
}
const live = opts.destdir === '';
if (live && process.getuid?.() !== 0) usage('installing into the system needs root (or give --destdir)');

// koffi's prebuilt directory for a Debian architecture (or, by default, this machine's).
const KOFFI_ARCH = { amd64: 'linux_x64', arm64: 'linux_arm64', armhf: 'linux_armhf', i386: 'linux_ia32', riscv64: 'linux_riscv64d', loong64: 'linux_loong64' };
const NODE_ARCH = { x64: 'amd64', arm64: 'arm64', arm: 'armhf', ia32: 'i386', riscv64: 'riscv64', loong64: 'loong64' };
const debArch = opts.arch ?? NODE_ARCH[process.arch];
const koffiDir = KOFFI_ARCH[debArch];
if (!koffiDir) usage(`koffi has no prebuilt for architecture ${JSON.stringify(debArch)}`);

const root = (path) => join(opts.destdir || '/', path);

/** Writes `data` to `path` whole: a temporary file with its mode, then a rename. */
function writeAtomic(path, data, mode) {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${Date.now()}.${process.pid}.tmp`);
  writeFileSync(tmp, data, { mode });
  chmodSync(tmp, mode); // writeFileSync's mode passes through the umask
  renameSync(tmp, path);
}

function installFile(from, to, mode = 0o644) {
  writeAtomic(root(to), readFileSync(join(repo, from)), mode);
}

// --- the program: /usr/lib/netauditd -------------------------------------------------------
const dist = join(repo, 'dist');
if (!existsSync(join(dist, 'netauditd.cjs')) || !existsSync(join(dist, 'cli', 'main.js'))) {
  process.stderr.write('install.mjs: dist/ is not built: run npm ci && npm run build first\n');
  process.exit(1);
}
const lib = root('/usr/lib/netauditd');
// A new tree under a temporary name, swapped in whole: a running daemon keeps the files it has open.
const staging = `${lib}.new`;
rmSync(staging, { recursive: true, force: true });
mkdirSync(staging, { recursive: true });

const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8'));
// What the program reads of package.json: its version, and "type" for Node's module loader.
writeFileSync(join(staging, 'package.json'), `${JSON.stringify({ name: pkg.name, version: pkg.version, description: pkg.description, license: pkg.license, type: pkg.type, private: true }, null, 2)}\n`);
cpSync(dist, join(staging, 'dist'), {
  recursive: true,
  filter: (src) => !src.endsWith('.map') && !src.endsWith('.d.ts'),
});

// The production dependencies, as package-lock.json lists them (entries not marked dev), copied
// from node_modules; npm need not be installed for this.
const lock = JSON.parse(readFileSync(join(repo, 'package-lock.json'), 'utf8'));
// Not needed at run time: documents (their licenses are in the package's copyright file), typings,
// source maps, tests and examples.
const DROP = /(^|\/)(readme|changelog|history|authors|contributing|licen[cs]e)[^/]*$|\.(md|markdown|d\.ts|map)$|(^|\/)(\.npmignore|\.travis\.yml|\.eslintrc[^/]*|\.github|test|tests|example|examples|doc|docs|test\.js|test\.html|appveyor\.yml|bin)$/i;
for (const [path, entry] of Object.entries(lock.packages)) {
  if (path === '' || entry.dev || entry.devOptional) continue;
  const from = join(repo, path);
  if (!existsSync(from)) {
    if (entry.optional) continue; // an optional transport dbus-next does not need
    process.stderr.write(`install.mjs: ${path} is missing: run npm ci\n`);
    process.exit(1);
  }
  cpSync(from, join(staging, path), {
    recursive: true,
    filter: (src) => {
      const rel = relative(from, src);
      if (rel === '') return true;
      if (rel.split('/').includes('node_modules')) return false; // nested packages have their own entries
      return !DROP.test(rel);
    },
  });
}
// koffi: its loader and the one prebuilt this architecture loads; not its sources, docs or the
// other platforms' binaries.
const koffi = join(staging, 'node_modules', 'koffi');
for (const name of readdirSync(koffi)) if (!['package.json', 'index.js', 'indirect.js', 'build'].includes(name)) rmSync(join(koffi, name), { recursive: true, force: true });
for (const name of readdirSync(join(koffi, 'build', 'koffi'))) if (name !== koffiDir) rmSync(join(koffi, 'build', 'koffi', name), { recursive: true, force: true });
if (!existsSync(join(koffi, 'build', 'koffi', koffiDir, 'koffi.node'))) {
  process.stderr.write(`install.mjs: koffi has no ${koffiDir}/koffi.node\n`);
  process.exit(1);
}
// Nothing in the tree is run by itself: the wrappers below run the two entry points with
// /usr/bin/node, so their '#!' lines go and every file is 0644.
for (const f of walk(staging)) chmodSync(f, 0o644);
for (const entry of [join(staging, 'dist', 'main.js'), join(staging, 'dist', 'cli', 'main.js')]) {
  writeFileSync(entry, readFileSync(entry, 'utf8').replace(/^#!.*\n/, ''));
}
removeEmptyDirs(staging);
rmSync(`${lib}.old`, { recursive: true, force: true });
if (existsSync(lib)) renameSync(lib, `${lib}.old`);
renameSync(staging, lib);
rmSync(`${lib}.old`, { recursive: true, force: true });

/** Removes the directories the filters above left empty (a package's typings, say). */
function removeEmptyDirs(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) removeEmptyDirs(join(dir, e.name));
  if (readdirSync(dir).length === 0) rmSync(dir, { recursive: true });
}

function* walk(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* walk(p);
    else if (e.isFile()) yield p;
  }
}

// --- the commands ----------------------------------------------------------------------------
const wrapper = (script) => `#!/bin/sh\nexec /usr/bin/node /usr/lib/netauditd/${script} "$@"\n`;
writeAtomic(root('/usr/sbin/netauditd'), wrapper('dist/main.js'), 0o755);
writeAtomic(root('/usr/bin/netauditctl'), wrapper('dist/cli/main.js'), 0o755);

// --- the system's files ----------------------------------------------------------------------
installFile('data/org.netaudit1.conf', '/usr/share/dbus-1/system.d/org.netaudit1.conf');
installFile('data/org.netaudit1.policy', '/usr/share/polkit-1/actions/org.netaudit1.policy');
installFile('data/netauditd.catalog', '/usr/lib/systemd/catalog/netauditd.catalog');
// The administrator's configuration is never overwritten (the package makes it a conffile).
if (!existsSync(root('/etc/netauditd/netauditd.conf'))) installFile('data/netauditd.conf', '/etc/netauditd/netauditd.conf');
if (opts.systemFiles) {
  installFile('systemd/netauditd.service', '/usr/lib/systemd/system/netauditd.service');
  for (const [page, section] of [['netauditd.8', 8], ['netauditd.conf.5', 5], ['netauditctl.1', 1]]) {
    installFile(`man/${page}`, `/usr/share/man/man${section}/${page}`);
  }
}

// --- make the running system take it up ------------------------------------------------------
if (live && opts.reload) {
  const run = (cmd, args) => {
    try {
      execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      return true;
    } catch {
      return false;
    }
  };
  // The bus must know the policy before the daemon asks for its name; the reload is synchronous.
  if (existsSync('/run/dbus/system_bus_socket')) {
    const reloaded =
      run('dbus-send', ['--system', '--print-reply', '--dest=org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus.ReloadConfig']) ||
      run('busctl', ['call', 'org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'ReloadConfig']);
    if (!reloaded) process.stderr.write('install.mjs: the system bus could not be told to reload its policy; reload dbus before starting netauditd\n');
  }
  if (existsSync('/run/systemd/system')) {
    run('systemctl', ['daemon-reload']);
    run('journalctl', ['--update-catalog']);
  }
}
process.stdout.write(`netauditd ${pkg.version} installed${opts.destdir ? ` under ${opts.destdir}` : ''}\n`);
