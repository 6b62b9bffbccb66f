// linuxwasm's page: download the kernel and the system image with progress,
// boot them in this tab, and connect the console (hvc0) to an xterm.js
// terminal; the kernel log (hvc2) goes to a panel of its own.
import { FitAddon } from './vendor/addon-fit.js';
import { Terminal } from './vendor/xterm.js';
import { VT_CONSOLE, VT_LOG } from './runtime/abi.js';
import { createMachine, missingFeature } from './runtime/browser/platform.js';
import { becomeIsolated } from './isolate.js';

/** Keep this much of the kernel log in the panel. */
const LOG_LIMIT = 256 * 1024;

/** What a newcomer reads first, above the shell (the guest's `help` says more). */
const GREETING = [
  '\x1b[1mlinuxwasm\x1b[0m: the Linux kernel compiled to WebAssembly, running in this tab.',
  'Type \x1b[1mhelp\x1b[0m for what to try; copy and paste are Ctrl-Shift-C and Ctrl-Shift-V.',
  'Files live in memory: reloading the page starts afresh.',
  '',
].join('\r\n') + '\r\n';

const element = (id) => document.getElementById(id);
const statusLine = element('status');
const progress = element('progress');
const logPanel = element('log');
const restartButton = element('restart');
const showLog = element('show-log');

/**
 * The page's state, also for tests and benchmarks (tests/test_browser.py).
 * @type {{terminal: Terminal|null, machine: object|null, booted: number,
 *         firstOutput: number, exit: {status: number, reason: string}|null,
 *         screenText(): string}}
 */
const page = {
  terminal: null,
  machine: null,
  booted: 0,
  firstOutput: 0,
  exit: null,
  screenText() {
    const buffer = this.terminal.buffer.active;
    const lines = [];
    for (let i = 0; i < buffer.length; i++) lines.push(buffer.getLine(i).translateToString(true));
    return lines.join('\n').trimEnd();
  },
};
globalThis.linuxwasm = page;

function setStatus(text, failed = false) {
  statusLine.textContent = text;
  statusLine.classList.toggle('failed', failed);
}

function fail(message) {
  setStatus(message, true);
  progress.hidden = true;
  const problem = element('problem');
  problem.textContent = `linuxwasm cannot run here: ${message}.`;
  problem.hidden = false;
}

const megabytes = (bytes) => (bytes / 1e6).toFixed(1);

/**
 * Download the files the manifest names, showing the bytes received. The
 * kernel compiles while it downloads.
 * @param {{kernel: {path: string, size: number}, initrd: {path: string, size: number}}} manifest
 * @returns {Promise<{kernel: WebAssembly.Module, initrd: Uint8Array}>}
 */
async function download(manifest) {
  const files = [manifest.kernel, manifest.initrd];
  const total = files.reduce((sum, file) => sum + file.size, 0);
  let received = 0;
  const show = () => {
    progress.value = received / total;
    setStatus(`downloading ${megabytes(received)} of ${megabytes(total)} MB`);
  };
  /** A file's body, counted into the progress bar on its way. */
  const counted = async ({ path, size }) => {
    const response = await fetch(path);
    if (!response.ok) throw new Error(`${path}: ${response.status} ${response.statusText}`);
    let offset = 0;
    return response.body.pipeThrough(new TransformStream({
      transform(chunk, controller) {
        offset += chunk.length;
        received += chunk.length;
        if (offset > size) throw new Error(`${path}: larger than the manifest says`);
        show();
        controller.enqueue(chunk);
      },
      flush() {
        if (offset !== size) throw new Error(`${path}: ${offset} bytes, the manifest says ${size}`);
      },
    }));
  };
  show();
  const [kernelBody, initrdBody] = await Promise.all(files.map(counted));
  const [kernel, initrd] = await Promise.all([
    WebAssembly.compileStreaming(new Response(kernelBody, { headers: { 'Content-Type': 'application/wasm' } }))
      .catch((error) => Promise.reject(error instanceof WebAssembly.CompileError
        ? new Error(`${manifest.kernel.path} is not a valid kernel image: ${error.message}`) : error)),
    new Response(initrdBody).arrayBuffer(),
  ]);
  return { kernel, initrd: new Uint8Array(initrd) };
}

function appendLog(text) {
  const atBottom = logPanel.scrollTop + logPanel.clientHeight >= logPanel.scrollHeight - 4;
  const log = (logPanel.textContent + text).slice(-LOG_LIMIT);
  logPanel.textContent = log;
  if (atBottom) logPanel.scrollTop = logPanel.scrollHeight;
  // The log arrives in chunks that end anywhere: show its last whole line.
  const end = log.lastIndexOf('\n');
  const line = end < 0 ? '' : log.slice(log.lastIndexOf('\n', end - 1) + 1, end).trim();
  if (!page.firstOutput && line) setStatus(`booting: ${line}`);
}

function createTerminal() {
  const terminal = new Terminal({ cursorBlink: true, scrollback: 5000, fontSize: 15 });
  const fit = new FitAddon();
  terminal.loadAddon(fit);
  terminal.open(element('terminal'));
  // Ctrl-C and Ctrl-V belong to the guest: copy and paste are Ctrl-Shift-C/V.
  // The browser pastes on Ctrl-Shift-V by itself (xterm.js takes the paste
  // event); it only must not reach the guest as a key.
  terminal.attachCustomKeyEventHandler((event) => {
    if (!event.ctrlKey || !event.shiftKey) return true;
    if (event.code === 'KeyV') return false;
    if (event.code === 'KeyC' && terminal.hasSelection()) {
      if (event.type === 'keydown') navigator.clipboard?.writeText(terminal.getSelection());
      event.preventDefault();
      return false;
    }
    return true;
  });
  const encoder = new TextEncoder();
  terminal.onData((data) => page.machine?.typeInput(encoder.encode(data)));
  terminal.onBinary((data) => page.machine?.typeInput(Uint8Array.from(data, (c) => c.charCodeAt(0))));
  terminal.onResize(({ rows, cols }) => page.machine?.resize(rows, cols));
  new ResizeObserver(() => fit.fit()).observe(element('terminal'));
  fit.fit();
  return terminal;
}

/** Boot a new machine from the downloaded files; returns when it stops. */
async function boot(files, cmdline) {
  const terminal = page.terminal;
  const logText = new TextDecoder();
  terminal.reset();
  terminal.write(GREETING);
  logPanel.textContent = '';
  page.firstOutput = 0;
  page.exit = null;
  setStatus('booting');
  const machine = createMachine({
    kernel: files.kernel,
    initrd: files.initrd,
    cmdline,
    coroutines: !new URLSearchParams(location.search).has('threads'),
    onOutput(vterm, bytes) {
      if (machine !== page.machine) return;
      if (vterm === VT_CONSOLE) {
        if (!page.firstOutput) {
          page.firstOutput = performance.now();
          setStatus('running');
        }
        terminal.write(bytes);
      } else if (vterm === VT_LOG) {
        appendLog(logText.decode(bytes, { stream: true }));
      }
    },
  });
  page.machine = machine;
  page.booted = performance.now();
  machine.resize(terminal.rows, terminal.cols);
  terminal.focus();
  const result = await machine.run();
  if (machine !== page.machine) return;
  page.exit = { status: result.status, reason: result.reason };
  if (result.status === 0) {
    setStatus(`stopped: ${result.reason}`);
    terminal.write(`\r\n\x1b[33m[linuxwasm: ${result.reason}; restart boots it again]\x1b[0m\r\n`);
  } else {
    appendLog(`\n[linuxwasm: ${result.reason}]\n`);
    setStatus(result.reason, true);
    terminal.write(`\r\n\x1b[1;31m[linuxwasm: ${result.reason}]\x1b[0m\r\n`);
  }
}

/** The site's manifest, and the files it names, downloaded and compiled. */
async function loadFiles() {
  const response = await fetch('site.json', { cache: 'no-cache' });
  if (!response.ok) throw new Error(`site.json: ${response.status} ${response.statusText}`);
  const manifest = await response.json();
  return { manifest, files: await download(manifest) };
}

async function main() {
  if (!(await becomeIsolated())) return;
  const missing = missingFeature();
  if (missing) return fail(missing);

  // The downloads go on while the terminal starts.
  const loading = loadFiles();
  page.terminal = createTerminal();
  showLog.addEventListener('change', () => {
    logPanel.hidden = !showLog.checked;
    page.terminal.focus();
  });

  let files;
  let manifest;
  try {
    ({ files, manifest } = await loading);
  } catch (error) {
    return fail(`loading failed: ${error.message}`);
  }
  progress.hidden = true;
  restartButton.disabled = false;
  restartButton.addEventListener('click', () => {
    page.machine?.finish(0, 'restarted');
    page.machine = null;
    boot(files, manifest.cmdline);
  });
  boot(files, manifest.cmdline);
}

main().catch((error) => fail(String(error.message ?? error)));
