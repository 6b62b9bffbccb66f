// Run a machine under Node: node runtime/node/main.js --kernel K [--initrd I]
//   [--cmdline C] [--memory MiB] [--timeout S] [--agent [--verbose]] [--threads]
//   [--disk rw|ro|snapshot:PATH ...] [--share rw|ro:SERVER:PATH ...]
//   [--net nat|switch:FD:MAC ...]
// Each --disk is a virtio block device, vda first, over the file at PATH
// (src/linuxwasm/disks.py checks and locks it before); each --share a
// virtio-9p device, share0 first, serving the folder at PATH with our
// file server (SERVER "linuxwasm") or Debian's diod ("diod"). Each --net
// a virtio network card, eth0 first, with address MAC, whose cable is the
// stream socket FD that this process inherited (src/linuxwasm/net.py: its
// far end is passt, "nat", whose checksums the guest need not check, or a
// switch).
// Tasks run as coroutines on one host thread if Node has JavaScript Promise
// Integration's standard API (Node 24 with a V8 flag, which
// src/linuxwasm/runner.py adds), else, or with --threads, each on a host
// thread of its own.
// The console is this process's terminal (stdin, stdout), unless --agent:
// then stdin and stdout carry the agent channel (/dev/agent in the guest,
// for the Python API) and the console's output goes to stderr with
// --verbose, nowhere without.
// Exit status: 0 after power-off; 1 kernel panic; 2 trap or bad image;
// 3 host failure; 124 timeout; 130 stopped with Ctrl-A x. The reason goes
// to stderr.
import { readFileSync, readlinkSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Worker } from 'node:worker_threads';
import { VT_AGENT, VT_CONSOLE } from '../abi.js';
import { EscapeFilter } from '../escape.js';
import { Server } from '../9p/server.js';
import { NinePDevice } from '../virtio/9p.js';
import { BlockDevice } from '../virtio/block.js';
import { NetDevice } from '../virtio/net.js';
import { parseMac } from '../network/link.js';
import { DiodServer } from './diod.js';
import { openFileDisk } from './file-disk.js';
import { HostFolder } from './host-folder.js';
import { StreamLink } from './stream-link.js';
import { Machine } from '../machine.js';
import { canSwitchStacks } from '../stack-switching.js';

const { values } = parseArgs({
  options: {
    kernel: { type: 'string' },
    initrd: { type: 'string' },
    cmdline: { type: 'string', default: 'console=hvc0' },
    memory: { type: 'string', default: '128' },
    timeout: { type: 'string', default: '0' },
    agent: { type: 'boolean', default: false },
    verbose: { type: 'boolean', default: false },
    threads: { type: 'boolean', default: false },
    disk: { type: 'string', multiple: true, default: [] },
    share: { type: 'string', multiple: true, default: [] },
    net: { type: 'string', multiple: true, default: [] },
  },
});
const agent = values.agent;

function readInput(path, what) {
  try {
    return readFileSync(path);
  } catch (error) {
    process.stderr.write(`linuxwasm: ${path}: cannot read ${what} (${error.code})\n`);
    process.exit(2);
  }
}

if (!values.kernel) {
  process.stderr.write('linuxwasm: --kernel is required\n');
  process.exit(2);
}

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc');
// Node 24 switches stacks only with a V8 flag given on the command line;
// set later, from here, such flags have crashed a thread's next collection.
const coroutines = canSwitchStacks() && !values.threads;

/**
 * The host's time zone by its tz database name, as the C library finds it:
 * TZ, else the zone file that /etc/localtime links to. (Intl knows it too,
 * but loading its data costs Node 8 MB of resident memory.)
 */
function hostTimeZone() {
  const tz = process.env.TZ?.replace(/^:/, '');
  if (tz) return tz.replace(/^.*\/zoneinfo\//, '');
  try {
    return readlinkSync('/etc/localtime').split('/zoneinfo/')[1];
  } catch {
    return undefined;
  }
}

const platform = {
  coroutines,
  collectGarbage: gc,
  timeZone: hostTimeZone(),
  createThread(onMessage, onError) {
    const outputs = [];
    outputs[VT_CONSOLE] = !agent ? 1 : values.verbose ? 2 : null;
    outputs[VT_AGENT] = agent ? 1 : null;
    const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: { outputs } });
    worker.on('message', onMessage);
    worker.on('error', onError);
    return { post: (start) => worker.postMessage(start), terminate: () => worker.terminate() };
  },
};

/** A block device for each --disk, in order. */
function openDisks(specs) {
  return specs.map((spec, index) => {
    const [, mode, path] = /^(rw|ro|snapshot):(.+)$/s.exec(spec) ?? [];
    if (!mode) {
      process.stderr.write(`linuxwasm: --disk ${spec}: not MODE:PATH with MODE rw, ro or snapshot\n`);
      process.exit(2);
    }
    try {
      return new BlockDevice(openFileDisk(path, mode), `linuxwasm-disk-${index}`);
    } catch (error) {
      process.stderr.write(`linuxwasm: ${path}: cannot open the disk (${error.code ?? error.message})\n`);
      process.exit(2);
    }
  });
}

/** A 9p device for each --share, in order. */
function openShares(specs) {
  return specs.map((spec, index) => {
    const [, mode, server, path] = /^(rw|ro):(linuxwasm|diod):(.+)$/s.exec(spec) ?? [];
    if (!mode) {
      process.stderr.write(`linuxwasm: --share ${spec}: not MODE:SERVER:PATH (MODE rw or ro, SERVER linuxwasm or diod)\n`);
      process.exit(2);
    }
    try {
      const files = server === 'diod' ? new DiodServer(path, mode === 'ro') : new Server(new HostFolder(path, mode === 'ro'));
      return new NinePDevice(files, `share${index}`);
    } catch (error) {
      process.stderr.write(`linuxwasm: ${path}: cannot share the folder (${error.code ?? error.message})\n`);
      process.exit(2);
    }
  });
}

/**
 * A network card for each --net, in order. A link that breaks leaves the
 * card without a cable (the machine goes on, its connections fail).
 */
function openNetworks(specs) {
  return specs.map((spec, index) => {
    const [, kind, fd, mac] = /^(nat|switch):(\d+):(.+)$/.exec(spec) ?? [];
    const name = `eth${index}`;
    try {
      if (!fd) throw new Error('not nat|switch:FD:MAC');
      const link = new StreamLink(Number(fd), `network card ${name}`);
      return new NetDevice(link, parseMac(mac), `network card ${name}`, (reason) => {
        process.stderr.write(`linuxwasm: ${reason}: ${name} has no network now\n`);
      }, { checked: kind === 'nat' });
    } catch (error) {
      process.stderr.write(`linuxwasm: --net ${spec}: ${error.code ?? error.message}\n`);
      process.exit(2);
    }
  });
}

const machine = new Machine(platform, {
  kernel: readInput(values.kernel, 'the kernel'),
  initrd: values.initrd ? new Uint8Array(readInput(values.initrd, 'the initramfs')) : null,
  cmdline: values.cmdline,
  memoryMiB: Number(values.memory),
  timeoutMs: Number(values.timeout) * 1000,
  devices: [...openDisks(values.disk), ...openShares(values.share), ...openNetworks(values.net)],
});

// The guest's terminal does the line editing and echo: the host's terminal
// passes keys through raw, Ctrl-C included. Ctrl-A x stops the machine.
const rawTerminal = !agent && process.stdin.isTTY;
const restoreTerminal = () => rawTerminal && process.stdin.setRawMode(false);
if (rawTerminal) {
  process.stdin.setRawMode(true);
  if (process.stdout.isTTY) {
    const resize = () => machine.resize(process.stdout.rows, process.stdout.columns);
    resize();
    process.stdout.on('resize', resize);
  }
  const escape = new EscapeFilter(() => machine.finish(130, 'stopped from the terminal (Ctrl-A x)'));
  process.stdin.on('data', (data) => machine.typeInput(escape.filter(new Uint8Array(data))));
} else {
  const vterm = agent ? VT_AGENT : VT_CONSOLE;
  process.stdin.on('data', (data) => machine.typeInput(new Uint8Array(data), vterm));
}
for (const signal of ['SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    restoreTerminal();
    process.exit(128 + (signal === 'SIGTERM' ? 15 : 1));
  });
}

// A machine does not outlive the process that started it, even one
// killed without a chance to stop it: then this one is an orphan.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) machine.finish(3, 'the process that started the machine is gone');
}, 500).unref();

const result = await machine.run();
restoreTerminal();
process.stdin.destroy();
// With the agent, the host is told why the machine stopped, whatever the reason.
if (result.status !== 0 || agent) process.stderr.write(`linuxwasm: ${result.reason}\n`);
process.exit(result.status);
